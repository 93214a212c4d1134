"""Naive vs fast exact sampling for every pixel architecture (issue 8's table).

    python benchmarks/sampling.py             # bundled model sizes (about 2-4 minutes on 2 CPU cores)
    python benchmarks/sampling.py --paper     # also the paper-sized models (longer)
    python benchmarks/sampling.py --quick     # 28x28x1 binary only

For each architecture (pixelcnn, row-lstm, diagonal-bilstm) at 28x28x1 binary and 32x32x3
with 256 levels, it times 16 samples with the naive sampler (one full forward pass per pixel
and channel) and with the architecture's fast exact sampler, and prints the ratio.

Every measurement runs in its own subprocess with one thread, so the peak-memory column (growth
of the process's peak resident set, ``ru_maxrss``, over the built model, warm-up included)
belongs to it alone.
A naive step costs one full forward pass whatever the step, so the naive sampler is timed over
its first ``--naive-steps`` steps and extrapolated to all C*H*W steps; the paper-sized fast
samplers are timed over their first ``--fast-rows`` rows and extrapolated to all H rows. The
table marks every extrapolated number with ``*``.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

from _common import machine, print_table, run_isolated

N_SAMPLES = 16
SETTINGS = {
    "28x28x1 binary": dict(channels=1, height=28, width=28, levels=2),
    "32x32x3 256-level": dict(channels=3, height=32, width=32, levels=256),
}
# (size name, architecture) -> config; hidden sizes are rounded down to a multiple of C.
SIZES = {
    "bundled": {
        "pixelcnn": dict(hidden=64, layers=5),
        "row-lstm": dict(hidden=64, layers=2, out_hidden=64),
        "diagonal-bilstm": dict(hidden=64, layers=1, out_hidden=64),
    },
    "paper": {  # PixelRNN paper: 7 layers h=16 on MNIST, 12 layers h=128 on CIFAR-10
        "pixelcnn": dict(hidden=128, layers=15),
        "row-lstm": dict(hidden=128, layers=12, out_hidden=1024),
        "diagonal-bilstm": dict(hidden=128, layers=12, out_hidden=1024),
    },
}
PAPER_MNIST = {
    "row-lstm": dict(hidden=16, layers=7, out_hidden=32),
    "diagonal-bilstm": dict(hidden=16, layers=7, out_hidden=32),
}
ARCHS = ("pixelcnn", "row-lstm", "diagonal-bilstm")


def config_for(arch: str, setting: str, size: str) -> dict:
    cfg = dict(SETTINGS[setting])
    sizes = PAPER_MNIST if size == "paper" and cfg["channels"] == 1 and arch in PAPER_MNIST else SIZES[size]
    cfg.update(sizes[arch])
    for key in ("hidden", "out_hidden"):
        if key in cfg:
            cfg[key] -= cfg[key] % cfg["channels"]
    return cfg


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(arch: str, setting: str, size: str, method: str, max_steps: int) -> dict:
    """Time ``method`` sampling of N_SAMPLES images for at most ``max_steps`` steps (0: all)."""
    import torch

    import zoo
    from zoo.sampling import NaiveSampler, draw

    torch.manual_seed(0)
    cfg = config_for(arch, setting, size)
    model = zoo.create(arch, **cfg).eval()
    C, H, W = cfg["channels"], cfg["height"], cfg["width"]
    order = [(i, j, c) for i in range(H) for j in range(W) for c in range(C)]
    steps = order[:max_steps] if max_steps else order
    g = torch.Generator().manual_seed(0)
    canvas = torch.zeros(N_SAMPLES, C, H, W, dtype=torch.long)
    base = _peak_mib()
    make = (lambda: NaiveSampler(model)) if method == "naive" else (lambda: model.incremental_sampler(N_SAMPLES))
    with torch.no_grad():  # warm up (first-call allocations) on a scratch canvas, untimed
        warm = make()
        warm.start(canvas.clone())
        warm.logits_at(canvas, 0, 0, 0)
    with torch.no_grad():
        t0 = time.perf_counter()
        sampler = make()
        sampler.start(canvas)
        for i, j, c in steps:
            canvas[:, c, i, j] = draw(sampler.logits_at(canvas, i, j, c), 1.0, g)
        seconds = time.perf_counter() - t0
    return {
        "seconds": seconds * len(order) / len(steps),
        "extrapolated": len(steps) < len(order),
        "steps": len(steps),
        "peak_mib": _peak_mib() - base,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def run_one(arch: str, setting: str, size: str, method: str, max_steps: int) -> dict:
    return run_isolated(
        __file__, [arch, setting, size, method, str(max_steps)], f"{arch} / {setting} / {size} / {method}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paper", action="store_true", help="also the paper-sized models")
    ap.add_argument("--quick", action="store_true", help="28x28x1 binary, bundled sizes only")
    ap.add_argument("--naive-steps", type=int, default=24, help="naive steps timed before extrapolating")
    ap.add_argument("--fast-rows", type=int, default=3, help="rows of the paper-sized fast samplers timed")
    ap.add_argument("--archs", default=",".join(ARCHS), help="comma-separated architectures")
    ap.add_argument("--one", nargs=5, help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args()
    if args.one:
        arch, setting, size, method, steps = args.one
        print(json.dumps(measure(arch, setting, size, method, int(steps))))
        return

    print(f"machine: {machine()}, 1 thread per measurement; {N_SAMPLES} samples; * = extrapolated\n")
    head = [
        "architecture",
        "input",
        "size",
        "params",
        f"naive s/{N_SAMPLES}",
        f"fast s/{N_SAMPLES}",
        "ratio",
        "peak MiB naive/fast",
    ]
    rows = []
    settings = list(SETTINGS)[:1] if args.quick else list(SETTINGS)
    sizes = ["bundled", "paper"] if args.paper and not args.quick else ["bundled"]
    for size in sizes:
        for setting in settings:
            for arch in args.archs.split(","):
                C, H, W = (SETTINGS[setting][k] for k in ("channels", "height", "width"))
                fast_steps = args.fast_rows * W * C if size == "paper" else 0
                naive = run_one(arch, setting, size, "naive", args.naive_steps)
                fast = run_one(arch, setting, size, "fast", fast_steps)
                mark = lambda r: "*" if r["extrapolated"] else ""  # noqa: E731
                rows.append(
                    [
                        arch,
                        setting,
                        size,
                        f"{naive['parameters']:,}",
                        f"{naive['seconds']:.1f}{mark(naive)}",
                        f"{fast['seconds']:.2f}{mark(fast)}",
                        f"{naive['seconds'] / fast['seconds']:.0f}x",
                        f"{naive['peak_mib']:.0f}/{fast['peak_mib']:.0f}",
                    ]
                )
                print(" | ".join(rows[-1]), flush=True)
    print_table(head, rows)


if __name__ == "__main__":
    main()
