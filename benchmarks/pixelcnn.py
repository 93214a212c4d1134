"""PixelCNN speed and memory: training, evaluation, naive vs cached sampling.

    python benchmarks/pixelcnn.py            # the full table (a few minutes on 2 CPU cores)
    python benchmarks/pixelcnn.py --quick    # bundled sizes only

Every measurement runs in its own subprocess, so the peak-memory column (growth of the
process's peak resident set, ``ru_maxrss``, over the model already built) belongs to that
measurement alone. Naive sampling would take many minutes to hours: it runs the core
sampler's loop for the first ``--naive-rows`` rows (``--naive-steps`` steps for the paper-sized
models), each step one full forward pass of the same cost (the best of 1 thread and all threads),
and extrapolates to all C*H*W
steps; the table says how many steps were timed. ``--full-naive`` times the whole run instead.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

from _common import machine, print_table, run_isolated

SETTINGS = {
    "28x28x1 binary": dict(channels=1, height=28, width=28, levels=2),
    "32x32x3 256-level": dict(channels=3, height=32, width=32, levels=256),
}
SIZES = {  # hidden is rounded down to a multiple of 3 for RGB (one group of maps per colour)
    "bundled": dict(hidden=64, layers=5),
    "paper-ish": dict(hidden=128, layers=15),
}
PHASES = ("train", "eval", "fast", "naive")
N_SAMPLES = 16


def config(setting: str, size: str) -> dict:
    cfg = {**SETTINGS[setting], **SIZES[size]}
    cfg["hidden"] -= cfg["hidden"] % cfg["channels"]  # colour groups need hidden divisible by C
    return cfg


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def measure(setting: str, size: str, phase: str, naive_steps: int, full_naive: bool) -> dict:
    """One measurement in this process; returns the numbers as a dict."""
    import torch

    import zoo
    from zoo.sampling import NaiveSampler, draw

    torch.manual_seed(0)
    cfg = config(setting, size)
    model = zoo.create("pixelcnn", **cfg)
    C, H, W, L = cfg["channels"], cfg["height"], cfg["width"], cfg["levels"]
    big = cfg["layers"] > 5
    x = torch.randint(0, L, ((8 if big else 32), C, H, W))
    base = _peak_mib()
    out: dict = {}
    if phase == "train":
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        steps = 2 if big else 4
        for k in range(steps + 1):  # the first step warms up
            if k == 1:
                t0 = time.perf_counter()
            opt.zero_grad()
            model.loss(x).backward()
            opt.step()
        out["value"] = steps * len(x) / (time.perf_counter() - t0)
    elif phase == "eval":
        model.eval()
        with torch.no_grad():
            model.log_prob(x[:4])
            reps = 2 if big else 5
            t0 = time.perf_counter()
            for _ in range(reps):
                model.log_prob(x)
        out["value"] = reps * len(x) / (time.perf_counter() - t0)
    elif phase == "fast":
        model.eval()
        t0 = time.perf_counter()
        model.sample(N_SAMPLES, generator=torch.Generator().manual_seed(0), method="fast")
        out["value"] = time.perf_counter() - t0
    else:
        model.eval()
        total = C * H * W
        if full_naive:
            t0 = time.perf_counter()
            model.sample(N_SAMPLES, generator=torch.Generator().manual_seed(0), method="naive")
            out["value"], out["steps"] = time.perf_counter() - t0, total
        else:  # the core sampler's loop, stopped after naive_steps steps; best of 1 and all threads
            order = [(i, j, c) for i in range(H) for j in range(W) for c in range(C)][:naive_steps]
            best = float("inf")
            for threads in sorted({torch.get_num_threads(), 1}, reverse=True):
                torch.set_num_threads(threads)
                g = torch.Generator().manual_seed(0)
                canvas = torch.zeros(N_SAMPLES, C, H, W, dtype=torch.long)
                sampler = NaiveSampler(model)
                with torch.no_grad():
                    t0 = time.perf_counter()
                    for i, j, c in order:
                        canvas[:, c, i, j] = draw(sampler.logits_at(canvas, i, j, c), 1.0, g)
                    best = min(best, time.perf_counter() - t0)
            out["value"], out["steps"] = best * total / len(order), len(order)
    out["peak_mib"] = _peak_mib() - base
    return out


def run_one(setting: str, size: str, phase: str, naive_steps: int, full_naive: bool) -> dict:
    args = [setting, size, phase, "--naive-steps", str(naive_steps)] + (["--full-naive"] if full_naive else [])
    return run_isolated(__file__, args, f"{setting} / {size} / {phase}", threads=None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="bundled sizes only")
    ap.add_argument("--naive-rows", type=int, default=1, help="rows of naive sampling timed (bundled sizes)")
    ap.add_argument("--naive-steps", type=int, default=6, help="naive steps timed for the paper-sized models")
    ap.add_argument("--full-naive", action="store_true", help="time complete naive runs (bundled sizes)")
    ap.add_argument("--one", nargs=3, metavar=("SETTING", "SIZE", "PHASE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(measure(*args.one, args.naive_steps, args.full_naive)))
        return

    import torch

    print(
        f"machine: {machine()}, {torch.get_num_threads()} threads, load average "
        f"{os.getloadavg()[0]:.1f} at start; batch 32 (8 for paper-ish); fast sampler on 1 thread\n"
    )
    head = [
        "input",
        "model",
        "train img/s",
        "eval img/s",
        f"naive s/{N_SAMPLES}",
        f"fast s/{N_SAMPLES}",
        "speed-up",
        "peak MiB train/eval/fast/naive",
    ]
    rows = []
    sizes = list(SIZES)[:1] if args.quick else list(SIZES)
    for setting in SETTINGS:
        for size in sizes:
            bundled = size == "bundled"
            cfg = config(setting, size)
            C, _, W = (SETTINGS[setting][k] for k in ("channels", "height", "width"))
            steps = args.naive_rows * W * C if bundled else args.naive_steps
            full = args.full_naive and bundled
            r = {p: run_one(setting, size, p, steps, full) for p in PHASES}
            naive = r["naive"]
            note = "" if full else f" (extrap. from {naive['steps']} steps)"
            rows.append(
                [
                    setting,
                    f"{size} h={cfg['hidden']}, {cfg['layers']} blocks",
                    f"{r['train']['value']:.1f}",
                    f"{r['eval']['value']:.1f}",
                    f"{naive['value']:.1f}{note}",
                    f"{r['fast']['value']:.2f}",
                    f"{naive['value'] / r['fast']['value']:.0f}x",
                    "/".join(f"{r[p]['peak_mib']:.0f}" for p in PHASES),
                ]
            )
            print(" | ".join(rows[-1]), flush=True)
    print_table(head, rows)


if __name__ == "__main__":
    main()
