"""Device check of the speed work (issue 12) on one CUDA GPU; run by hand, the suite itself runs on the CPU.

    python tests/_gpu_check.py                  # about 2-4 minutes on an H100 / H200
    ZOO_DATA=../shared/data python tests/_gpu_check.py --mnist 5   # and bf16 vs fp32 on MNIST, 5 epochs each

Checks, one printed line each, then 'SPEED GPU CHECK OK':
1. the contract kit's ``check_fast_sampler`` on CUDA for every pixel architecture (fast = naive);
2. CUDA samples equal the CPU's for the same seed (up to a rare flip where the device's
   softmax rounds differently at a CDF boundary), a 28x28 fast run makes no per-value host
   round trip (counted with ``torch.cuda.set_sync_debug_mode``), and the pixel steps of the
   plain PixelCNN, Row LSTM and Diagonal BiLSTM replayed as CUDA graphs give the plain loop's samples
   (timed both ways);
3. every TrainStep path trains (fp32, bf16, fp16 + grad scaler, channels_last, compile
   default and reduce-overhead) and resume is exact within a precision on CUDA;
4. ``zoo sample/eval/complete --device cuda``;
5. with ``--mnist E``: bf16 reaches the fp32 validation NLL within 0.3 nats on dynamically
   binarized MNIST after E epochs each (PixelCNN hidden 64, 7 blocks).
Then run ``python benchmarks/gpu.py`` for the speed tables.

The GPU image lacks pydantic and has an old huggingface_hub: carry wheels downloaded here, as the
field notes describe (``pip download --no-deps --only-binary=:all: --python-version 3.12 --platform
manylinux2014_x86_64 -d .whl pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0
typing-inspection==0.4.5 typing_extensions==4.16.0 huggingface_hub==2.4.0 httpx2==2.16.2 httpcore2==2.16.2
truststore==0.10.5``), then on the GPU machine, in the repository root::

    pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site &&
    pip install -q --no-deps --no-build-isolation --no-index -e . -e plugins/zoo-pixelcnn \
        -e plugins/zoo-row-lstm -e plugins/zoo-diagonal-bilstm -e plugins/zoo-vae &&
    python tests/_gpu_check.py && python benchmarks/gpu.py --quick

(``--quick``: the first training size only, 3 rounds; drop it when device time allows the full tables.)
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import torch

import zoo
from zoo import train
from zoo.data import ImageSet
from zoo.testing import check_fast_sampler
from zoo.training import DefaultTrainer, TrainConfig

MODELS = {  # tiny models of every pixel architecture, as in the CPU suite
    "pixelcnn": dict(hidden=6, layers=2),
    "pixelcnn gated": dict(hidden=6, layers=2, gated=True),
    "row-lstm": dict(hidden=6, layers=2, out_hidden=6),
    "diagonal-bilstm": dict(hidden=6, layers=1, out_hidden=6),
}


def tiny(name: str, channels: int = 1, side: int = 5, levels: int = 4):
    torch.manual_seed(0)
    return zoo.create(name.split()[0], channels=channels, height=side, width=side, levels=levels, **MODELS[name])


def check_samplers(device: torch.device) -> None:
    for name in MODELS:
        for channels in (1, 3):
            model = tiny(name, channels).to(device)
            check_fast_sampler(model)
            cpu = tiny(name, channels).eval()
            a = cpu.sample(8, generator=torch.Generator().manual_seed(3))
            b = model.sample(8, generator=torch.Generator().manual_seed(3)).cpu()
            differ = (a != b).float().mean().item()
            assert differ < 0.01, f"{name}: CUDA samples differ from the CPU's in {differ:.1%} of values"
            print(
                f"{name} C={channels}: check_fast_sampler on {device.type} ok; "
                f"CPU vs {device.type} samples differ in {differ:.2%}"
            )


def check_no_round_trips(device: torch.device) -> None:
    for name in MODELS:
        torch.manual_seed(0)
        model = zoo.create(name.split()[0], channels=1, height=28, width=28, levels=2, **MODELS[name]).to(device)
        model.sample(2, generator=torch.Generator().manual_seed(0))  # warm up
        if device.type == "cpu":
            print(f"{name}: (dry run: no synchronisation count on the CPU)")
            continue
        torch.cuda.synchronize()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
            try:
                t0 = time.perf_counter()
                model.sample(16, generator=torch.Generator().manual_seed(0), method="fast")
                torch.cuda.synchronize()
                seconds = time.perf_counter() - t0
            finally:
                torch.cuda.set_sync_debug_mode("default")
        syncs = sum("synchroniz" in str(w.message).lower() for w in caught)
        assert syncs < 28, f"{name}: {syncs} host synchronisations in one 28x28 run (one per value is 784)"
        print(f"{name}: 16 fast samples at 28x28 in {seconds:.2f} s with {syncs} host synchronisation(s)")


def check_graph_replay(device: torch.device) -> None:
    """Pixel steps as CUDA graphs (PixelCNN, Row LSTM, Diagonal BiLSTM): the loop's samples, and how much faster."""
    from zoo.sampling import sample_autoregressive

    graph, side = ("cuda", 28) if device.type == "cuda" else ("always", 6)  # dry run: the same steps, eagerly
    cases = [
        ("pixelcnn", 1, 2, dict(hidden=12, layers=7)),
        ("pixelcnn", 3, 256, dict(hidden=12, layers=7)),
        ("pixelcnn", 1, 2, dict(hidden=12, layers=7, gated=True)),  # no graph: the plain loop both times
        ("row-lstm", 1, 2, dict(hidden=12, layers=7, out_hidden=24)),
        ("row-lstm", 3, 256, dict(hidden=12, layers=7, out_hidden=24)),
        ("diagonal-bilstm", 1, 2, dict(hidden=12, layers=7, out_hidden=24)),
    ]
    for arch, channels, levels, size in cases:
        torch.manual_seed(0)
        model = zoo.create(arch, channels=channels, height=side, width=side, levels=levels, **size).to(device)
        runs, seconds = {}, {}
        for mode in (graph, "never", graph):  # graph, plain loop, graph again (warm)
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            g = torch.Generator().manual_seed(5)
            runs[mode] = sample_autoregressive(model, 16, g, method="fast", position_steps=mode).cpu()
            seconds[mode] = time.perf_counter() - t0
        assert torch.equal(runs[graph], runs["never"]), f"{arch}: the CUDA graph changed the samples"
        print(
            f"{arch} C={channels} {size} {side}x{side} x16: position steps ({graph}) {seconds[graph]:.2f} s, "
            f"plain loop {seconds['never']:.2f} s, same samples"
        )


def data(n: int = 256, side: int = 8) -> ImageSet:
    """Random top rows repeated down the image: learnable, so the loss falls clearly in a few steps."""
    g = torch.Generator().manual_seed(0)
    rows = torch.randint(0, 2, (n, 1, 1, side), generator=g, dtype=torch.uint8)
    return ImageSet(rows.expand(n, 1, side, side).contiguous(), None, 2, "stripes", "train")


def pixelcnn(side: int = 8):
    torch.manual_seed(1)
    return zoo.create("pixelcnn", channels=1, height=side, width=side, levels=2, hidden=16, layers=3)


class Crash(Exception):
    pass


def crash_at(model, step: int):
    calls = {"n": 0}
    loss = model.loss

    def wrapped(x, **kw):
        calls["n"] += 1
        if calls["n"] == step:
            raise Crash
        return loss(x, **kw)

    model.loss = wrapped
    return model


def check_training(tmp: Path, device: torch.device) -> None:
    base = dict(epochs=2, batch_size=32, lr=3e-3, seed=2, checkpoint_every=5, progress=False, device=device.type)
    paths = [
        dict(precision="fp32"),
        dict(precision="bf16"),
        dict(precision="fp16"),
        dict(channels_last=True),
        dict(precision="bf16", channels_last=True),
        dict(compile=True),
        dict(compile=True, compile_mode="reduce-overhead"),
    ]
    if device.type == "cpu":  # dry run: compiling on the CPU takes minutes
        paths = [p for p in paths if not p.get("compile")]
    train_set = data()
    for k, settings in enumerate(paths):
        cfg = TrainConfig(**base, **settings)
        ref = pixelcnn()
        t0 = time.perf_counter()
        result = DefaultTrainer().fit(ref, train_set, None, cfg, out=tmp / f"ref{k}")
        first, last = result.history[0]["train_nll"], result.history[-1]["train_nll"]
        assert last < first, f"{settings}: loss did not fall ({first:.3f} -> {last:.3f})"
        if settings.get("compile") and settings.get("compile_mode") != "reduce-overhead":
            print(f"train {settings}: nll {first:.3f} -> {last:.3f} in {time.perf_counter() - t0:.1f} s")
            continue  # each fit compiles again: resume is checked with reduce-overhead only, to save time
        with_crash = crash_at(pixelcnn(), 11)
        try:
            DefaultTrainer().fit(with_crash, train_set, None, cfg, out=tmp / f"run{k}")
        except Crash:
            pass
        again = pixelcnn()
        DefaultTrainer().fit(again, train_set, None, cfg, out=tmp / f"run{k}", resume=True)
        exact = all(torch.equal(a, b) for a, b in zip(ref.state_dict().values(), again.state_dict().values()))
        assert exact, f"{settings}: resume after step 11 is not exact"
        print(f"train {settings}: nll {first:.3f} -> {last:.3f} in {time.perf_counter() - t0:.1f} s; resume exact")


def check_cli(tmp: Path, device: torch.device) -> None:
    folder = tmp / "cli-model"
    model = zoo.create("pixelcnn", channels=1, height=8, width=8, levels=17, hidden=8, layers=2)
    zoo.save_pretrained(model, folder)
    for args in (
        ["sample", folder, "--n", "4", "--out", tmp / "s.png"],
        ["eval", folder, "--dataset", "digits"],
        ["complete", folder, "--dataset", "digits", "--n", "2", "--samples", "1", "--out", tmp / "c.png"],
    ):
        run = subprocess.run(
            [sys.executable, "-m", "zoo.cli", *map(str, args), "--device", device.type], capture_output=True, text=True
        )
        assert run.returncode == 0, run.stderr
    print(f"zoo sample / eval / complete --device {device.type}: ok")


def check_mnist(tmp: Path, epochs: int) -> None:
    nll = {}
    for precision in ("fp32", "bf16"):
        t0 = time.perf_counter()
        out = train(
            "pixelcnn",
            "binarized-mnist",
            tmp / precision,
            epochs=epochs,
            settings=dict(hidden=64, layers=7, batch_size=128, precision=precision, progress=False),
            dataset_options=dict(dynamic=True),
        )
        nll[precision] = json.loads((out / "config.json").read_text())["metrics"]["val"]["nll_nats"]
        print(
            f"binarized MNIST, {precision}, {epochs} epochs: val {nll[precision]:.2f} nats "
            f"({time.perf_counter() - t0:.0f} s)"
        )
    gap = nll["bf16"] - nll["fp32"]
    assert gap <= 0.3, f"bf16 is {gap:.2f} nats behind fp32"
    print(f"bf16 within 0.3 nats of fp32: {gap:+.2f}")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--mnist", type=int, default=0, help="epochs of the bf16 vs fp32 MNIST check (0: skip)")
    ap.add_argument("--dry-run", action="store_true", help="run on the CPU (no compile, no sync count)")
    args = ap.parse_args()
    device = torch.device("cpu" if args.dry_run else "cuda")  # a dry run tries the script's own code on a CPU
    if not args.dry_run:
        assert torch.cuda.is_available(), "no CUDA device"
    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU (dry run)"
    print(f"device: {name}, torch {torch.__version__}")
    tmp = Path(tempfile.mkdtemp())
    check_samplers(device)
    check_no_round_trips(device)
    check_graph_replay(device)
    check_training(tmp, device)
    check_cli(tmp, device)
    if args.mnist:
        check_mnist(tmp, args.mnist)
    print("SPEED GPU CHECK OK")
