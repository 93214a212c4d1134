"""PixelCNN vs Row LSTM vs Diagonal BiLSTM on digits: same parameter budget, same training budget.

    python benchmarks/compare.py                 # 60 CPU-seconds of training each (about 4-6 minutes)
    python benchmarks/compare.py --seconds 20    # shorter
    python benchmarks/compare.py --quick         # 15 CPU-seconds each

The seed talk's claim to check: PixelCNN fastest / worst, Row LSTM in between, Diagonal BiLSTM
slowest / best. Each model (about 200k parameters) trains in its own subprocess with one
thread for the same number of CPU seconds (process time, so other jobs on a shared machine
do not eat into one model's budget more than another's), with Adam (lr 1e-3, batch 64), the
same seeded data order, and keeps the weights of its best validation epoch. Then the table
gives parameters, training images per CPU-second, the time to sample 16 images (fast exact
sampler and naive sampler), and test bits/dim from the core evaluator.
"""

from __future__ import annotations

import argparse
import json
import time

from _common import machine, print_table, run_isolated

MODELS = {
    "pixelcnn": dict(hidden=52, layers=5),
    "row-lstm": dict(hidden=64, layers=2, out_hidden=64),
    "diagonal-bilstm": dict(hidden=64, layers=2, out_hidden=64),
}
DATASET = "digits"
BATCH = 64


def measure(arch: str, seconds: float, lr: float) -> dict:
    import torch

    import zoo
    from zoo.data import load_dataset
    from zoo.evaluation import DefaultEvaluator

    torch.manual_seed(0)
    train, val, test = (load_dataset(DATASET, split) for split in ("train", "val", "test"))
    model = zoo.create(
        arch, **dict(zip(("channels", "height", "width"), train.shape)), levels=train.levels, **MODELS[arch]
    )
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    images = train.images.long()
    order = torch.Generator().manual_seed(0)
    evaluator = DefaultEvaluator()
    best, best_state, seen, epochs = float("inf"), None, 0, 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    while time.process_time() - cpu0 < seconds:
        model.train()
        for idx in torch.randperm(len(images), generator=order).split(BATCH):
            opt.zero_grad()
            model.loss(images[idx]).backward()
            opt.step()
            seen += len(idx)
            if time.process_time() - cpu0 >= seconds:
                break
        epochs += 1
        nll = evaluator.evaluate(model.eval(), val).nll_nats  # validation time counts in the budget
        if nll < best:
            best, best_state = nll, {k: v.clone() for k, v in model.state_dict().items()}
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    model.load_state_dict(best_state)
    model.eval()
    result = evaluator.evaluate(model, test)
    timings = {}
    for method in ("fast", "naive"):
        t0 = time.perf_counter()
        model.sample(16, generator=torch.Generator().manual_seed(0), method=method)
        timings[method] = time.perf_counter() - t0
    return {
        "parameters": sum(p.numel() for p in model.parameters()),
        "images_per_cpu_s": seen / cpu,
        "epochs": epochs,
        "cpu_s": cpu,
        "wall_s": wall,
        "fast_s": timings["fast"],
        "naive_s": timings["naive"],
        "test_nll": result.nll_nats,
        "test_bpd": result.bits_per_dim,
    }


def run_one(arch: str, seconds: float, lr: float) -> dict:
    return run_isolated(__file__, [arch, "--seconds", str(seconds), "--lr", str(lr)], arch)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="CPU seconds of training per model")
    ap.add_argument("--quick", action="store_true", help="15 CPU seconds per model")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args, _ = ap.parse_known_args()
    seconds = 15.0 if args.quick else args.seconds
    if args.one:
        print(json.dumps(measure(args.one, seconds, args.lr)))
        return

    print(
        f"machine: {machine()}, 1 thread per model; {DATASET}, {seconds:.0f} CPU-s of training each, "
        f"Adam lr {args.lr}, batch {BATCH}, best validation epoch kept\n"
    )
    head = [
        "model",
        "config",
        "params",
        "train img/CPU-s",
        "epochs",
        "fast sample s/16",
        "naive sample s/16",
        "test NLL nats",
        "test bits/dim",
    ]
    rows = []
    for arch, cfg in MODELS.items():
        r = run_one(arch, seconds, args.lr)
        rows.append(
            [
                arch,
                " ".join(f"{k}={v}" for k, v in cfg.items()),
                f"{r['parameters']:,}",
                f"{r['images_per_cpu_s']:.0f}",
                str(r["epochs"]),
                f"{r['fast_s']:.2f}",
                f"{r['naive_s']:.2f}",
                f"{r['test_nll']:.2f}",
                f"{r['test_bpd']:.3f}",
            ]
        )
        print(" | ".join(rows[-1]), flush=True)
    print_table(head, rows)


if __name__ == "__main__":
    main()
