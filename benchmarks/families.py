"""Every family's bundled binarized-MNIST model side by side: the table a researcher chooses from.

    python benchmarks/families.py                       # every bundled binarized-mnist model
    python benchmarks/families.py --names made-binarized-mnist nade-binarized-mnist

For each bundled model trained on binarized MNIST (28x28, dynamic binarization): parameters, the test NLL
its config.json records (what `zoo eval NAME` reproduces; a latent-variable model's figure is an upper bound,
marked <=), bits/dim, training images/s on this machine (Adam steps on batch 64 in fp32 and, where the
recipe used it, bf16 autocast, one thread), and seconds to draw 16 samples with the fast sampler (measured in
full) and with the naive one. A naive step is one full forward pass of the 16-image canvas whatever the step,
so the naive time is the median forward pass times C*H*W (marked *), which keeps the table minutes, not hours.
Each model runs in its own process with one thread.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from _common import machine, print_table, run_isolated

N_SAMPLES = 16


def bundled_names() -> list[str]:
    import zoo

    reg = zoo.registry.get_registry()
    return sorted(
        name
        for name, spec in reg.pretrained.items()
        if spec.entry.bundled and spec.entry.dataset == "binarized-mnist" and spec.entry.dataset_options.get("dynamic")
    )


def _rate(model, step, seconds: float) -> float:
    """Images per second of ``step`` (one optimizer step on 64 images), after one warm-up step."""
    step()
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds or n < 2:
        step()
        n += 1
    return 64 * n / (time.perf_counter() - start)


def one(name: str, seconds: float) -> dict:
    import torch

    import zoo
    from zoo.bounds import stored_estimator

    torch.set_num_threads(1)
    model = zoo.load(name)
    info = model.pretrained_info
    test = info.get("metrics", {}).get("test", {})
    x = torch.randint(0, 2, (64, *model.config.shape), generator=torch.Generator().manual_seed(0))
    train_copy = zoo.create(model.architecture, **model.config.model_dump()).train()
    optimizer = torch.optim.Adam(train_copy.parameters(), 1e-4)

    def step(bf16: bool):
        def run():
            with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
                loss = train_copy.loss(x)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        return run

    labels = torch.zeros(N_SAMPLES, dtype=torch.long) if model.conditional else None
    model.eval()
    start = time.perf_counter()
    with torch.no_grad():
        model.sample(N_SAMPLES, generator=torch.Generator().manual_seed(0), labels=labels)
    fast = time.perf_counter() - start
    naive = None
    if model.autoregressive:
        canvas = torch.zeros(N_SAMPLES, *model.config.shape, dtype=torch.long)
        passes = []
        with torch.no_grad():
            for _ in range(5):
                start = time.perf_counter()
                model.logits(canvas) if labels is None else model.logits(canvas, labels)
                passes.append(time.perf_counter() - start)
        naive = statistics.median(passes) * model.config.dims
    has_fast = model.autoregressive and model.incremental_sampler(N_SAMPLES, labels) is not None
    return {
        "name": name,
        "architecture": model.architecture,
        "params": sum(p.numel() for p in model.parameters()),
        "nll": test.get("nll_nats"),
        "bits": test.get("bits_per_dim"),
        "estimator": stored_estimator(test, type(model), model.config) if test else None,
        "fp32": _rate(train_copy, step(False), seconds),
        "bf16": _rate(train_copy, step(True), seconds),
        "fast": fast if has_fast or not model.autoregressive else None,
        "naive": naive,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", nargs="*", help="bundled models (default: every binarized-mnist one)")
    parser.add_argument("--seconds", type=float, default=5.0, help="timing window for training throughput")
    parser.add_argument("--one", nargs=2, metavar=("NAME", "SECONDS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one[0], float(args.one[1]))))
        return
    rows = []
    for name in args.names or bundled_names():
        r = run_isolated(__file__, [name, str(args.seconds)], name)
        upper = "<= " if r["estimator"] else ""
        nll = "-" if r["nll"] is None else f"{upper}{r['nll']:.2f}" + (f" ({r['estimator']})" if upper else "")
        bits = "-" if r["bits"] is None else f"{upper}{r['bits']:.4f}"
        fast = "-" if r["fast"] is None else f"{r['fast']:.2f}"
        naive = "-" if r["naive"] is None else f"{r['naive']:.1f}*"
        ratio = "-" if r["fast"] is None or r["naive"] is None else f"{r['naive'] / r['fast']:.0f}x"
        rows.append(
            [
                r["name"],
                f"{r['params'] / 1e6:.2f}M",
                nll,
                bits,
                f"{r['fp32']:.0f}",
                f"{r['bf16']:.0f}",
                fast,
                naive,
                ratio,
            ]
        )
    print(f"Machine: {machine()}; one thread per model; * = median forward pass x C*H*W")
    print_table(
        [
            "model",
            "params",
            "test NLL (nats)",
            "bits/dim",
            "train img/s fp32",
            "train img/s bf16",
            "sample 16 fast (s)",
            "sample 16 naive (s)",
            "fast/naive",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
