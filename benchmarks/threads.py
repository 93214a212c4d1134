"""Threads beside a busy neighbour: sampling and evaluation at zoo's ``--threads auto`` against torch's default.

One process keeps one core busy (another run, another user) for the whole benchmark; each case
runs in a fresh process, alternating the thread settings round by round, and the table reports the
median of the rounds and the ratio measured side by side in this one run. ``auto`` is what
``zoo sample``/``zoo eval`` pick (:mod:`zoo.threads`); ``default`` is torch's one thread per core.

    python benchmarks/threads.py [--rounds 2]

Measured on the 2-core CPU of the project's machine (torch 2.13.0+cpu, two training runs also on
it, so ``auto`` found one free core; one round, 111 s in all, mostly process start-up):

| case                                  | torch default (threads) | zoo auto (threads) | speed-up |
| ------------------------------------- | ----------------------- | ------------------ | -------- |
| sample row-lstm-digits, 16 images     | 1.30 s (2)              | 0.08 s (1)         | 16.3x    |
| sample pixelcnn-digits, 16 images     | 0.15 s (2)              | 0.16 s (1)         | 0.9x     |
| eval pixelcnn-digits, 120 test images | 2.16 s (2)              | 0.25 s (1)         | 8.6x     |
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import machine, print_table, run_isolated  # noqa: E402

CASES = {
    "sample row-lstm-digits, 16 images": ("sample", "row-lstm-digits"),
    "sample pixelcnn-digits, 16 images": ("sample", "pixelcnn-digits"),
    "eval pixelcnn-digits, 120 test images": ("eval", "pixelcnn-digits"),
}


def one(kind: str, name: str, threads: str) -> None:
    import torch

    import zoo
    from zoo.threads import use_threads

    model = zoo.load(name)
    if kind == "sample":
        n = use_threads(threads, 16 * model.config.dims * model.config.hidden)
        model.sample(1, generator=torch.Generator().manual_seed(1))  # warm-up
        start = time.perf_counter()
        model.sample(16, generator=torch.Generator().manual_seed(0))
    else:
        n = use_threads(threads, 1 << 40)
        start = time.perf_counter()
        zoo.evaluate(model, "digits", split="test", limit=120)
    print(json.dumps({"seconds": time.perf_counter() - start, "threads": n}))


def _busy(stop) -> None:
    while not stop.is_set():
        sum(i * i for i in range(10_000))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--one", nargs=3, metavar=("KIND", "NAME", "THREADS"))
    args = p.parse_args()
    if args.one:
        one(*args.one)
        return
    cores = len(os.sched_getaffinity(0))
    stop = multiprocessing.Event()
    neighbour = multiprocessing.Process(target=_busy, args=(stop,), daemon=True)
    neighbour.start()
    try:
        time.sleep(2)
        rows = []
        for label, (kind, name) in CASES.items():
            times: dict[str, list[float]] = {"auto": [], "default": []}
            picked = None
            for _ in range(args.rounds):
                for setting, threads in (("auto", "auto"), ("default", str(cores))):
                    r = run_isolated(__file__, [kind, name, threads], label, threads=None)
                    times[setting].append(r["seconds"])
                    picked = r["threads"] if setting == "auto" else picked
            auto, default = statistics.median(times["auto"]), statistics.median(times["default"])
            rows.append([label, f"{default:.2f} s ({cores})", f"{auto:.2f} s ({picked})", f"{default / auto:.1f}x"])
    finally:
        stop.set()
        neighbour.join(timeout=5)
    print(f"{machine()}; one core kept busy by another process; median of {args.rounds} rounds")
    print_table(["case", "torch default (threads)", "zoo auto (threads)", "speed-up"], rows)


if __name__ == "__main__":
    main()
