"""The bundled binarized-MNIST pixel models side by side, beside the PixelRNN paper's numbers.

    python benchmarks/mnist.py            # about a minute on 2 CPU cores
    python benchmarks/mnist.py --steps 5  # shorter

For PixelCNN, Row LSTM and Diagonal BiLSTM as bundled (``<arch>-binarized-mnist``): parameters,
the test NLL recorded in the model's config.json by ``zoo eval`` (every card's figure is checked
by ``tests/test_bundled.py``), training images per CPU-second (Adam steps of batch 64 on 28x28
binary images, one thread, process time, so other jobs on a shared machine do not skew the
comparison), and the CPU-seconds to draw 16 samples with the fast exact sampler. Each model is
measured in its own fresh process. The paper's numbers are for statically binarized MNIST and
much larger models trained far longer: they are the reference, not a like-for-like row.
"""

from __future__ import annotations

import argparse
import time

from _common import machine, print_table, run_isolated

MODELS = ["pixelcnn-binarized-mnist", "row-lstm-binarized-mnist", "diagonal-bilstm-binarized-mnist"]
PAPER = {  # van den Oord et al. 2016, Table 4 (static binarization): NLL in nats
    "pixelcnn-binarized-mnist": "81.30",
    "row-lstm-binarized-mnist": "-",
    "diagonal-bilstm-binarized-mnist": "79.20 (7 layers, h=16)",
}
BATCH = 64


def measure(name: str, steps: int) -> dict:
    import torch

    import zoo

    model = zoo.load(name)
    params = sum(p.numel() for p in model.parameters())
    test = model.pretrained_info["metrics"].get("test", {})
    x = torch.randint(0, 2, (BATCH, *model.config.shape), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), 1e-4)
    model.train()
    for step in range(steps + 1):  # the first step warms up and is not timed
        if step == 1:
            start = time.process_time()
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    train_rate = steps * BATCH / (time.process_time() - start)
    model.eval()
    start = time.process_time()
    with torch.no_grad():
        model.sample(16, generator=torch.Generator().manual_seed(0))
    sample_seconds = time.process_time() - start
    return dict(
        params=params,
        nll=test.get("nll_nats"),
        bpd=test.get("bits_per_dim"),
        train_rate=train_rate,
        sample_seconds=sample_seconds,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=10, help="timed training steps per model")
    parser.add_argument("--one", nargs=2, metavar=("NAME", "STEPS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        import json

        print(json.dumps(measure(args.one[0], int(args.one[1]))))
        return
    rows = []
    for name in MODELS:
        r = run_isolated(__file__, [name, str(args.steps)], name)
        nll = "-" if r["nll"] is None else f"{r['nll']:.2f}"
        bpd = "-" if r["bpd"] is None else f"{r['bpd']:.4f}"
        rows.append(
            [name, f"{r['params']:,}", nll, bpd, f"{r['train_rate']:.0f}", f"{r['sample_seconds']:.2f}", PAPER[name]]
        )
    print(f"\n{machine()}, one thread per model, {time.strftime('%Y-%m-%d')}")
    print_table(
        [
            "model",
            "params",
            "test NLL nats",
            "bits/dim",
            "train img per CPU-s",
            "sample 16 CPU-s",
            "paper NLL (static)",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
