"""PixelRNN layers: commit 64d3ba2, today's PyTorch path and the fused C++ kernels, side by side, one table.

    python benchmarks/pixelrnn.py               # paper's MNIST size: 7 layers, h=16, out_hidden 32, batch 64
    python benchmarks/pixelrnn.py --rounds 5 --steps 3 --sample

Three codes of the Row LSTM and Diagonal BiLSTM layers, all with the same weights:

- "64d3ba2": that commit's plugin code (``git show 64d3ba2:<path>`` of their model.py and sampler.py into a
  temporary package), run on this checkout's core, which those modules import;
- "pytorch": this checkout with ``ZOO_NATIVE=0``, the PyTorch recurrences (2a7e737's path, the fallback);
- "fused": this checkout with the fused C++ recurrences of ``fused.cpp``.

The kernels are first built into a fresh temporary extensions folder (the cold build time is reported),
then loaded from it by a second process (the warm start a user sees after the first run). Every
measurement runs in a fresh process with one thread, and the three codes alternate round by round, so
a neighbour's load hits all alike; the table gives the median (and best) of the rounds and the ratios
of the medians. Times are the process's CPU time (on a shared machine, wall time swings 2x with other
jobs' load; CPU time much less), so images/s are per core-second.

train: Adam steps on random binary images (one step warms up first), fp32 and with bf16 autocast;
sample (``--sample``): the incremental sampler drawing ``--samples`` images (it does not use the
recurrences, so only 64d3ba2 and today are compared).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, print_table, run_isolated

OLD_COMMIT = "64d3ba2"
ROOT = Path(__file__).resolve().parent.parent
PLUGINS = {
    "row-lstm": ("zoo-row-lstm", "zoo_row_lstm"),
    "diagonal-bilstm": ("zoo-diagonal-bilstm", "zoo_diagonal_bilstm"),
}
CLASSES = {"row-lstm": "RowLSTM", "diagonal-bilstm": "DiagonalBiLSTM"}
CODES = {"old": OLD_COMMIT, "pytorch": "pytorch (ZOO_NATIVE=0)", "fused": "fused"}


def export_old(into: Path) -> None:
    """Write 64d3ba2's model.py and sampler.py of each plugin as packages ``old_<module>`` under ``into``."""
    for folder, module in PLUGINS.values():
        package = into / f"old_{module}"
        package.mkdir()
        (package / "__init__.py").write_text(f'"""{module} at {OLD_COMMIT}: model and sampler only."""\n')
        for name in ("model.py", "sampler.py"):
            text = subprocess.run(
                ["git", "show", f"{OLD_COMMIT}:plugins/{folder}/{module}/{name}"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            (package / name).write_text(text)


def build(arch: str, code: str, old_dir: str, config: dict):
    """The model of ``code`` ("old", or this checkout's for "pytorch" and "fused") with a seeded new model's weights."""
    import importlib

    import torch

    import zoo

    torch.manual_seed(0)
    model = zoo.create(arch, **config)
    if code != "old":
        return model
    sys.path.insert(0, old_dir)
    cls = getattr(importlib.import_module(f"old_{PLUGINS[arch][1]}.model"), CLASSES[arch])
    old = cls(cls.config_class(**model.config.model_dump()))
    old.load_state_dict(model.state_dict())
    return old


def build_kernels() -> dict:
    """Load (building where not cached) both fused kernels; seconds each took, and whether each is there."""
    from zoo import native
    from zoo_diagonal_bilstm import recurrence as diagonal
    from zoo_row_lstm import recurrence as row

    result = {}
    for arch, module in (("row-lstm", row), ("diagonal-bilstm", diagonal)):
        result[arch] = {"ok": module.fused_kernel() is not None, "seconds": native.build_seconds(module.EXTENSION)}
    return {"value": result}


def measure(arch: str, code: str, phase: str, old_dir: str, config: dict, batch: int, steps: int, n: int) -> dict:
    import torch

    torch.set_num_threads(1)
    model = build(arch, code, old_dir, config)
    if phase.startswith("train"):
        x = torch.randint(0, config["levels"], (batch, 1, config["height"], config["width"]))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for k in range(steps + 1):  # the first step warms up (and loads the fused kernel)
            if k == 1:
                t0 = time.process_time()
            opt.zero_grad()
            with torch.autocast("cpu", torch.bfloat16, enabled=phase == "train-bf16"):
                loss = model.loss(x)
            loss.backward()
            opt.step()
        return {"value": steps * batch / (time.process_time() - t0)}
    model.eval()
    model.sample(1, generator=torch.Generator().manual_seed(0))  # warm up
    t0 = time.process_time()
    model.sample(n, generator=torch.Generator().manual_seed(1))
    return {"value": n / (time.process_time() - t0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of the codes per measurement")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps per measurement")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--layers", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--out-hidden", type=int, default=32)
    parser.add_argument("--size", type=int, default=28, help="image height and width")
    parser.add_argument("--sample", action="store_true", help="also time the fast samplers")
    parser.add_argument("--samples", type=int, default=8, help="images drawn per sampling measurement")
    parser.add_argument("--one", nargs=3, metavar=("ARCH", "CODE", "PHASE"), help=argparse.SUPPRESS)
    parser.add_argument("--old-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = dict(
        height=args.size, width=args.size, levels=2, hidden=args.hidden, layers=args.layers, out_hidden=args.out_hidden
    )
    if args.one:
        arch, code, phase = args.one
        if phase == "build":
            print(json.dumps(build_kernels()))
            return
        result = measure(arch, code, phase, args.old_dir, config, args.batch, args.steps, args.samples)
        print(json.dumps(result))
        return

    print(f"PixelRNN layers, {OLD_COMMIT}, today's PyTorch path and the fused kernels: {machine()}")
    print(
        f"{args.layers} layers, h={args.hidden}, out_hidden {args.out_hidden}, {args.size}x{args.size} binary, "
        f"one thread; training batch {args.batch}, {args.steps} timed steps; {args.rounds} alternating rounds, "
        "CPU time; median (best) img/s"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        extensions = str(Path(tmp) / "torch_extensions")
        fused_env = {"ZOO_NATIVE": "1", "TORCH_EXTENSIONS_DIR": extensions}
        envs = {"old": {}, "pytorch": {"ZOO_NATIVE": "0"}, "fused": fused_env}
        old_dir = str(Path(tmp) / "old")
        os.mkdir(old_dir)
        export_old(Path(old_dir))
        t0 = time.perf_counter()
        cold = run_isolated(__file__, ["-", "fused", "build"], "building the kernels", env=fused_env)["value"]
        cold_wall = time.perf_counter() - t0
        warm = run_isolated(__file__, ["-", "fused", "build"], "loading the kernels", env=fused_env)["value"]
        if not all(v["ok"] for v in cold.values()):
            raise SystemExit(f"the fused kernels did not build here: {cold}")
        print(
            "fused kernels: built in "
            + ", ".join(f"{arch} {v['seconds']:.1f} s" for arch, v in cold.items())
            + f" (one cold process, {cold_wall:.0f} s wall); loaded from the cache in "
            + ", ".join(f"{arch} {v['seconds']:.2f} s" for arch, v in warm.items())
        )
        phases = [("train-fp32", "train img/s, fp32"), ("train-bf16", "train img/s, bf16 autocast")]
        if args.sample:
            phases.append(("sample", "sampled img/s"))
        for arch in PLUGINS:
            for phase, unit in phases:
                codes = ["old", "pytorch"] if phase == "sample" else list(CODES)
                values: dict[str, list[float]] = {c: [] for c in codes}
                for _ in range(args.rounds):
                    for code in codes:
                        flags = [arch, code, phase, "--old-dir", old_dir, "--steps", str(args.steps)]
                        flags += ["--batch", str(args.batch), "--layers", str(args.layers)]
                        flags += ["--hidden", str(args.hidden), "--out-hidden", str(args.out_hidden)]
                        flags += ["--size", str(args.size), "--samples", str(args.samples)]
                        what = f"{arch} {code} {phase}"
                        values[code].append(run_isolated(__file__, flags, what, env=envs[code])["value"])
                med = {c: statistics.median(v) for c, v in values.items()}
                cells = [f"{med[c]:.1f} ({max(values[c]):.1f})" if c in med else "-" for c in CODES]
                fused = med.get("fused")
                rows.append(
                    [
                        arch,
                        unit,
                        *cells,
                        f"{med['pytorch'] / med['old']:.2f}x",
                        f"{fused / med['old']:.2f}x" if fused else "-",
                        f"{fused / med['pytorch']:.2f}x" if fused else "-",
                    ]
                )
    head = ["model", "what", *CODES.values(), "pytorch / 64d3ba2", "fused / 64d3ba2", "fused / pytorch"]
    print_table(head, rows)


if __name__ == "__main__":
    main()
