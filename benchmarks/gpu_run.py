"""One command for one GPU and ten minutes: the speed tables, the device check, and every seed model trained
at its paper size at once, then evaluated, with every run folder and a summary.md / summary.json under --out.

    ZOO_DATA=.data python benchmarks/gpu_run.py --out gpu-run             # on the GPU machine, 9 minutes
    python benchmarks/gpu_run.py --dry-run --out /tmp/gpu-run              # the same on this CPU, tiny sizes

The phases, in order: (1) ``benchmarks/gpu.py --quick`` alone, so its timings see an idle GPU;
(2) one process per recipe below (``zoo train`` then ``zoo eval --save``, as the CLI runs them),
all at once on the one GPU, with ``tests/_gpu_check.py`` beside them (its checks hold under load, its
timing lines then say little); each training gets ``--set max_minutes=M``, M being what is left of
``--minutes`` after the speed tables, less a reserve for start-up and evaluation, so the cosine
schedule spans the time the run really has. Anything still running at the deadline is stopped, and
says so in the summary. The run folders are ordinary ``zoo train`` folders: resumable (``--resume``,
with a larger ``max_minutes``), and evaluated here again with ``zoo eval DIR`` before bundling.

Precision: bf16 autocast for the PixelCNN and the Gated PixelCNN on binarized MNIST, where it trains
2.4x faster on the CPU and reached fp32's validation NLL (``tests/_gpu_check.py --mnist``, FIELD-NOTES);
fp32 for the rest: the PixelRNNs at h=16 and the VAE's MLP are bound by kernel launches on a GPU, not
by arithmetic, bf16 was not measured to hold the NLL of the 256-level PixelCNN, and the flows' log-dets
(sums of many small logs over 784 dimensions) are kept out of reduced precision.

Set-up on a bare GPU machine (its image has Python 3.12 and torch, no pydantic and a huggingface_hub 1.x).
Here, in the repository root, put the wheels and the data in two folders::

    pip download --no-deps --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 \\
        -d .whl pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \\
        typing_extensions==4.16.0 huggingface_hub==2.4.0 httpx2==2.16.2 httpcore2==2.16.2 truststore==0.10.5
    mkdir -p .data && cp -r ../shared/data/mnist .data/          # 11 MB of gzip'd IDX files

Both travel with the working tree as untracked files (if git ignores them, name them in the device
tool's ``carry``). There, in the repository root (install and first import take about a minute)::

    pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site &&
    pip install -q --no-deps --no-build-isolation --no-index -e . $(printf -- '-e %s ' plugins/*/) &&
    ZOO_DATA=.data python benchmarks/gpu_run.py --out "$OUT/gpu-run" --minutes 8.5

Bring ``gpu-run`` back, evaluate each run folder here (``zoo eval gpu-run/runs/NAME``) and bundle those
that beat the bundled model. ``--only NAME`` (repeatable) runs some recipes; ``--skip check`` or
``--skip speed`` leaves out a phase (the suite's dry run skips the one-minute CPU device check).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

COMMON = {"schedule": "cosine", "ema": 0.999, "eval_batch_size": 1000, "checkpoint_every": 500}
BINARY = {"dynamic": True}


@dataclass(frozen=True)
class Recipe:
    """A seed model at its paper size: what it trains, the issue's target, and its --dry-run size."""

    name: str  # the run folder, and the pretrained entry it competes with
    arch: str
    dataset: str
    settings: dict
    tiny: dict  # model fields of the dry run (tiny and fast on the CPU)
    target: float
    unit: str = "nats"  # or bits/dim
    data_options: dict = field(default_factory=lambda: dict(BINARY))
    k: int | None = None  # the importance-weighted bound's samples of a latent-variable model
    source: str = ""


RECIPES = [
    Recipe(
        "pixelcnn-binarized-mnist",
        "pixelcnn",
        "binarized-mnist",
        {"hidden": 64, "layers": 15, "batch_size": 128, "precision": "bf16"},
        {"hidden": 4, "layers": 1},
        81.4,
        source="PixelRNN paper's PixelCNN, 15 blocks h=64 (the bundled recipe)",
    ),
    Recipe(
        "gated-pixelcnn-binarized-mnist",
        "pixelcnn",
        "binarized-mnist",
        {"gated": True, "hidden": 64, "layers": 10, "batch_size": 128, "precision": "bf16"},
        {"gated": True, "hidden": 4, "layers": 1},
        81.0,
        source="pytorch-generative's 10 gated layers of 128 maps a stack (hidden is half of that)",
    ),
    Recipe(
        "row-lstm-binarized-mnist",
        "row-lstm",
        "binarized-mnist",
        {"hidden": 16, "layers": 7, "out_hidden": 32, "batch_size": 128},
        {"hidden": 4, "layers": 1, "out_hidden": 8},
        82.0,
        source="PixelRNN paper's MNIST size, 7 layers h=16",
    ),
    Recipe(
        "diagonal-bilstm-binarized-mnist",
        "diagonal-bilstm",
        "binarized-mnist",
        {"hidden": 16, "layers": 7, "out_hidden": 32, "batch_size": 128},
        {"hidden": 4, "layers": 1, "out_hidden": 8},
        80.5,
        source="PixelRNN paper's MNIST size, 7 layers h=16 (paper: 79.20)",
    ),
    Recipe(
        "vae-bernoulli-binarized-mnist",
        "vae-bernoulli",
        "binarized-mnist",
        {"latent": 50, "hidden": [500, 500], "batch_size": 100, "eval_batch_size": 500},
        {"latent": 2, "hidden": [8]},
        86.7,
        k=5000,
        source="the IWAE paper's one-layer VAE, latent 50, MLP 500-500 (target: the k=5000 bound)",
    ),
    Recipe(
        "iwae-binarized-mnist",
        "vae-bernoulli",
        "binarized-mnist",
        {
            "latent": 50,
            "hidden": [200, 200],
            "activation": "tanh",
            "objective": "iwae",
            "samples": 5,
            "batch_size": 100,
            "eval_batch_size": 500,
        },
        {"latent": 2, "hidden": [8], "samples": 2},
        85.6,
        k=5000,
        source="the IWAE paper's one stochastic layer (latent 50, 2x200 tanh) on the k=5 bound (paper: 85.54)",
    ),
    Recipe(
        "hvae-binarized-mnist",
        "hvae",
        "binarized-mnist",
        {
            "hidden": 64,
            "layers": 12,
            "latent": 8,
            "downsample": 2,
            "blocks": 2,
            "batch_size": 128,
            "grad_clip": 200.0,
            "warmup": 200,
            "eval_batch_size": 500,
        },
        {"hidden": 4, "layers": 1, "latent": 2, "blocks": 0},
        82.9,
        k=50,
        source="a top-down hierarchical VAE, 12 stochastic layers of 8x7x7 (IWAE paper, two layers: 82.90 at k=50; "
        "VD-VAE <= 80.72)",
    ),
    Recipe(
        "pixelcnn-mnist",
        "pixelcnn",
        "mnist",
        {"hidden": 64, "layers": 15, "batch_size": 128},
        {"hidden": 4, "layers": 1},
        1.0,
        unit="bits/dim",
        data_options={},
        source="the binarized PixelCNN's size on 256 levels (target: Glow's 1.05 beaten)",
    ),
    Recipe(
        "vdm-mnist",
        "vdm",
        "mnist",
        {"hidden": 64, "layers": 4, "eval_timesteps": 20, "batch_size": 128, "validate_every": 5},
        {"hidden": 4, "layers": 1, "eval_timesteps": 2, "steps": 2},
        1.10,
        unit="bits/dim",
        data_options={},
        source="VDM on 256 levels, a single-resolution U-Net of 64 maps, 4 blocks a side (target: a bound below "
        "the bundled 256-level PixelCNN's 1.10; 20 timesteps an image: the mean over 10,000 images)",
    ),
    # the flows (plugins/zoo-flow): 256-level MNIST, log_prob a dequantization bound (k=eval_samples, 16)
    Recipe(
        "nice-mnist",
        "nice",
        "mnist",
        {"hidden": 1000, "layers": 5, "couplings": 4, "prior": "logistic", "batch_size": 200},
        {"hidden": 8, "layers": 1},
        4.34,
        unit="bits/dim",
        data_options={},
        source="NICE paper's MNIST size: 4 couplings of 5 hidden layers of 1000 units, logistic prior (peer: 4.34)",
    ),
    Recipe(
        "glow-mnist",
        "glow",
        "mnist",
        {
            "hidden": 512,
            "layers": 16,
            "scales": 2,
            "dequantization": "variational",
            "batch_size": 64,
            "warmup": 500,
            "grad_clip": 50.0,
        },
        {"hidden": 4, "layers": 1, "scales": 1, "dequantizer_hidden": 4},
        1.05,
        unit="bits/dim",
        data_options={},
        source="Glow-style multiscale flow, 2 scales (all 28x28 allows) of 16 steps, 512-channel couplings (Glow 1.05)",
    ),
    # the peer's other models (pytorch-generative's sizes); run when a plugin registers them
    Recipe("nade-binarized-mnist", "nade", "binarized-mnist", {"hidden": 500, "batch_size": 512}, {"hidden": 8}, 85.6),
    Recipe(
        "made-binarized-mnist", "made", "binarized-mnist", {"hidden": [8000], "batch_size": 64}, {"hidden": [8]}, 84.8
    ),
    Recipe("fvsbn-binarized-mnist", "fvsbn", "binarized-mnist", {"batch_size": 128}, {}, 96.6),
    Recipe(
        "image-gpt-binarized-mnist",
        "image-gpt",
        "binarized-mnist",
        {"hidden": 64, "layers": 8, "heads": 2, "batch_size": 64, "precision": "bf16"},
        {"hidden": 4, "layers": 1, "heads": 1},
        79.2,
    ),
    Recipe(
        "pixelsnail-binarized-mnist",
        "pixelsnail",
        "binarized-mnist",
        {"hidden": 64, "layers": 8, "batch_size": 64, "precision": "bf16"},
        {"hidden": 4, "layers": 1, "residuals": 1, "key_channels": 4, "value_channels": 4},
        78.7,
    ),
]

SPEED_S = 150  # at most this for the speed tables (--quick took about a minute on an H200)
RESERVE_S = 120  # per run: process start, data, CUDA context, the last validation, the test evaluation
DRY = {"device": "cpu", "max_steps": 2, "batch_size": 8, "eval_batch_size": 16, "checkpoint_every": None}
DRY_LIMIT = 16  # images per split in the dry run
DRY_K = 5


def commands(recipe: Recipe, run: Path, minutes: float | None, dry: bool) -> list[list[str]]:
    """The ``zoo train`` and ``zoo eval`` argument lists of a recipe (without the leading ``zoo``)."""
    settings = {**COMMON, **recipe.settings, "device": "cuda"}
    options = dict(recipe.data_options)
    if dry:
        settings = {**settings, **recipe.tiny, **DRY}
        options["limit"] = DRY_LIMIT
    else:
        settings["max_minutes"] = round(minutes, 2)
    from zoo.recipes import Recipe as TrainCommand  # zoo's one writer of a `zoo train` command line

    command = TrainCommand(
        architecture=recipe.arch, dataset=recipe.dataset, dataset_options=options, settings=settings, out=str(run)
    )
    train = command.words()[1:]  # without the leading "zoo"
    evaluate = ["eval", str(run), "--save", "--json", "--device", settings["device"]]
    if "limit" in options:  # a limit is the run's, not the model's: zoo eval measures the whole split unless told
        evaluate += ["--limit", str(options["limit"])]
    if recipe.k is not None:
        evaluate += ["--k", str(DRY_K if dry else recipe.k)]
    return [train, evaluate]


def shown(argv: list[str]) -> str:
    """A command line as a shell takes it."""
    import shlex

    return "zoo " + " ".join(shlex.quote(a) for a in argv)


def unusable(recipe: Recipe) -> str | None:
    """Why a recipe cannot run in this checkout (its architecture or one of its settings is unknown), or None."""
    import zoo
    from zoo.training import TrainConfig

    if recipe.arch not in zoo.list_models():
        return f"architecture {recipe.arch!r} is not registered here (no plugin for it): skipped"
    fields = set(zoo.model_info(recipe.arch)["config_fields"]) | set(TrainConfig.model_fields)
    unknown = sorted(set(recipe.settings) - fields) + sorted(set(recipe.tiny) - fields)
    if unknown:
        return f"{recipe.arch} has no setting(s) {', '.join(unknown)}: update its recipe in {Path(__file__).name}"
    return None


# -- one recipe, in its own process ---------------------------------------------------------------


def one(name: str, out: Path, minutes: float | None, dry: bool) -> int:
    """Train, then evaluate the test split, through the CLI's own entry point; the record goes to logs/NAME.json."""
    from zoo.cli import main as zoo_main

    recipe = next(r for r in RECIPES if r.name == name)
    train, evaluate = commands(recipe, out / "runs" / name, minutes, dry)
    record: dict = {"name": name, "commands": [shown(train), shown(evaluate)]}
    started = time.perf_counter()
    record["train_rc"] = zoo_main(train)
    record["train_seconds"] = time.perf_counter() - started
    if record["train_rc"] == 0:
        started = time.perf_counter()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            record["eval_rc"] = zoo_main(evaluate)
        record["eval_seconds"] = time.perf_counter() - started
        if record["eval_rc"] == 0:
            record["test"] = json.loads(printed.getvalue())
    (out / "logs" / f"{name}.json").write_text(json.dumps(record, indent=2))
    return 0 if record.get("eval_rc") == 0 else 1


# -- the whole run -----------------------------------------------------------------------------------


class Job:
    """A child process with its log file, stopped (its whole process group) when it outlives its deadline."""

    def __init__(self, what: str, argv: list[str], log: Path, deadline: float, env: dict):
        self.what, self.log, self.deadline, self.started = what, log, deadline, time.monotonic()
        self.file = open(log, "w")
        self.proc = subprocess.Popen(
            argv, stdout=self.file, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
        )
        self.status: str | None = None

    def poll(self) -> bool:
        """True once it is over (finished, failed or stopped at its deadline)."""
        if self.status is not None:
            return True
        rc = self.proc.poll()
        if rc is None and time.monotonic() > self.deadline:
            os.killpg(self.proc.pid, signal.SIGTERM)  # zoo train checkpoints on SIGTERM where it can
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.status = "stopped at the deadline"
        elif rc is not None:
            self.status = "ok" if rc == 0 else f"failed (exit {rc})"
        if self.status is not None:
            self.seconds = time.monotonic() - self.started
            self.file.close()
        return self.status is not None

    def tail(self, n: int = 3) -> str:
        lines = [line.strip() for line in self.log.read_text(errors="replace").replace("\r", "\n").splitlines()]
        return " / ".join(line for line in lines if line)[-400:] if n else ""


def wait_all(jobs: list[Job], limit: int | None = None, queue: list | None = None) -> None:
    """Wait for every job; with ``queue`` (start callables), keep at most ``limit`` running."""
    queue = list(queue or [])
    while True:
        running = [j for j in jobs if not j.poll()]
        while queue and (limit is None or len(running) < limit):
            job = queue.pop(0)()
            jobs.append(job)
            running.append(job)
        if not running and not queue:
            return
        time.sleep(0.2)


def run(args) -> dict:
    out = Path(args.out).resolve()
    try:
        if out.exists() and (not out.is_dir() or any(out.iterdir())):
            what = "is not empty" if out.is_dir() else "is a file"
            raise SystemExit(f"gpu_run: {out} {what}; give a new --out (run folders are never overwritten)")
        (out / "logs").mkdir(parents=True)
    except OSError as exc:  # a read-only parent, a name too long, a file on the way
        raise SystemExit(f"gpu_run: --out {out}: cannot make the folder ({exc.strerror or exc})") from None
    t0 = time.monotonic()
    deadline = t0 + 60 * args.minutes
    env = dict(os.environ)
    if args.dry_run:
        env.update(OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    else:
        env.setdefault("OMP_NUM_THREADS", "2")  # several processes share the machine's cores
    recipes = [r for r in RECIPES if not args.only or r.name in args.only]
    skipped = {r.name: why for r in recipes if (why := unusable(r))}
    summary: dict = {
        "dry_run": args.dry_run,
        "minutes": args.minutes,
        "machine": machine(),
        "phases": {},
        "models": [],
        "skipped": skipped,
    }

    if "speed" not in args.skip:
        speed = [sys.executable, str(HERE / "gpu.py"), "--quick"]
        if args.dry_run:
            speed += ["--device", "cpu", "--size", "1,4,4", "--image", "6", "--rounds", "1", "--steps", "1"]
            speed += ["--warmup", "0", "--threads", "1", "--sample-image", "4", "--naive-rows", "1", "--no-compile"]
        job = Job("speed tables", speed, out / "logs" / "speed.log", min(deadline, time.monotonic() + SPEED_S), env)
        wait_all([job])
        summary["phases"]["speed"] = {"status": job.status, "seconds": round(job.seconds, 1), "log": "logs/speed.log"}

    left = deadline - time.monotonic()
    minutes = max(0.5, (left - RESERVE_S) / 60)
    summary["train_minutes"] = None if args.dry_run else round(minutes, 2)
    jobs: list[Job] = []
    if "check" not in args.skip:
        check = [sys.executable, str(ROOT / "tests" / "_gpu_check.py")] + (["--dry-run"] if args.dry_run else [])
        jobs.append(Job("device check", check, out / "logs" / "gpu_check.log", deadline - 10, env))
    runnable = [r for r in recipes if r.name not in skipped]

    def starter(recipe: Recipe):
        argv = [sys.executable, str(Path(__file__).resolve()), "--one", recipe.name, "--out", str(out)]
        argv += ["--minutes", str(minutes)] + (["--dry-run"] if args.dry_run else [])
        return lambda: Job(recipe.name, argv, out / "logs" / f"{recipe.name}.log", deadline - 10, env)

    model_jobs_start = len(jobs)
    wait_all(jobs, args.jobs and args.jobs + len(jobs), [starter(r) for r in runnable])
    for job in jobs[:model_jobs_start]:
        passed = "SPEED GPU CHECK OK" in job.log.read_text(errors="replace")
        summary["phases"]["check"] = {
            "status": job.status if passed or job.status != "ok" else "failed (no OK line)",
            "seconds": round(job.seconds, 1),
            "log": "logs/gpu_check.log",
            "note": "ran beside the trainings: its checks hold under load, its timing lines do not",
        }
    for recipe, job in zip(runnable, jobs[model_jobs_start:]):
        summary["models"].append(model_summary(recipe, job, out))
    summary["seconds"] = round(time.monotonic() - t0, 1)
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    (out / "summary.md").write_text(markdown(summary))
    return summary


def model_summary(recipe: Recipe, job: Job, out: Path) -> dict:
    """What one recipe reached, from its record, its train_result.json and its test evaluation."""
    import zoo

    record_file = out / "logs" / f"{recipe.name}.json"
    record = json.loads(record_file.read_text()) if record_file.is_file() else {}
    result_file = out / "runs" / recipe.name / "train_result.json"
    result = json.loads(result_file.read_text()) if result_file.is_file() else {}
    test = record.get("test") or {}
    key = "bits_per_dim" if recipe.unit == "bits/dim" else "nll_nats"
    value = test.get(key)
    bundled = None
    with contextlib.suppress(Exception):  # no bundled entry, or its metrics cannot be read: nothing to compare
        bundled = zoo.model_info(recipe.name)["metrics"]["test"][key]
    return {
        "name": recipe.name,
        "arch": recipe.arch,
        "status": job.status,
        "settings": {**recipe.settings},
        "source": recipe.source,
        "commands": record.get("commands", []),
        "steps": result.get("steps"),
        "epochs": result.get("epochs"),
        "train_seconds": round(record["train_seconds"], 1) if "train_seconds" in record else None,
        "budget_spent": result.get("budget_spent"),
        "hardware": result.get("hardware"),
        "best_val_nll": result.get("best_val_nll"),
        "test": value,
        "k": test.get("k"),
        "unit": recipe.unit,
        "target": recipe.target,
        "met": None if value is None else value <= recipe.target,
        "bundled": bundled,
        "beats_bundled": None if value is None or bundled is None else value < bundled,
        "log": f"logs/{recipe.name}.log",
        "tail": None if job.status == "ok" else job.tail(),
        "run": f"runs/{recipe.name}",
    }


def markdown(summary: dict) -> str:
    kind = "dry run on the CPU, tiny sizes, 2 steps each" if summary["dry_run"] else f"{summary['minutes']} minutes"
    lines = [f"# GPU run ({kind})", "", f"Machine: {summary['machine']}.", ""]
    for phase, info in summary["phases"].items():
        note = f"; {info['note']}" if "note" in info else ""
        lines.append(f"- {phase}: {info['status']} in {info['seconds']} s (`{info['log']}`){note}")
    if summary.get("train_minutes"):
        lines.append(f"- every training ran with `--set max_minutes={summary['train_minutes']}`, all at once")
    lines += [
        "",
        "| model | status | steps | epochs | test | unit | target | met | bundled | beats bundled |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]

    def fmt(v, digits=3):
        return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    for m in summary["models"]:
        digits = 4 if m["unit"] == "bits/dim" else 2
        unit = m["unit"] + (f" (k={m['k']})" if m["k"] else "")
        lines.append(
            f"| {m['name']} | {m['status']} | {fmt(m['steps'])} | {fmt(m['epochs'])} | {fmt(m['test'], digits)} "
            f"| {unit} | {m['target']} | {fmt(m['met'])} | {fmt(m['bundled'], digits)} | {fmt(m['beats_bundled'])} |"
        )
    lines += [""] + [f"- {name}: {why}" for name, why in summary["skipped"].items()]
    lines += ["", "Commands (each run folder resumes with `--resume` and a larger `max_minutes`):", ""]
    for m in summary["models"]:
        lines += [f"- {m['name']}: `{' && '.join(m['commands'])}`" if m["commands"] else f"- {m['name']}: no record"]
    return "\n".join(lines) + "\n"


def machine() -> str:
    import torch

    what = torch.cuda.get_device_name() if torch.cuda.is_available() else f"{os.cpu_count()}-core CPU"
    return f"{what}, torch {torch.__version__}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", required=True, help="new folder for runs/, logs/, summary.md and summary.json")
    ap.add_argument("--minutes", type=float, default=9.0, help="wall time of the whole run (default 9)")
    ap.add_argument("--dry-run", action="store_true", help="on the CPU, tiny sizes, 2 steps per model")
    ap.add_argument("--only", action="append", help="run only this recipe (repeatable)")
    ap.add_argument("--skip", action="append", default=[], choices=["check", "speed"], help="leave out a phase")
    ap.add_argument("--jobs", type=int, default=None, help="at most this many trainings at once (default: all)")
    ap.add_argument("--one", help=argparse.SUPPRESS)  # the per-recipe worker process
    args = ap.parse_args(argv)
    if args.one:
        return one(args.one, Path(args.out), args.minutes, args.dry_run)
    unknown = set(args.only or []) - {r.name for r in RECIPES}
    if unknown:
        raise SystemExit(
            f"gpu_run: no recipe {', '.join(sorted(unknown))}; recipes: {', '.join(r.name for r in RECIPES)}"
        )
    if args.jobs is not None and args.jobs < 1:
        raise SystemExit(f"gpu_run: --jobs must be at least 1, got {args.jobs} (nothing would ever start)")
    if not 0 < args.minutes <= 24 * 60:
        raise SystemExit(f"gpu_run: --minutes must be more than 0 and at most a day, got {args.minutes}")
    if args.dry_run and args.jobs is None:
        args.jobs = 2  # the CPU's cores
    summary = run(args)
    print((Path(args.out) / "summary.md").read_text())
    return 0 if all(m["status"] == "ok" for m in summary["models"]) else 1


if __name__ == "__main__":
    sys.exit(main())
