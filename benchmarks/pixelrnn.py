"""PixelRNN layers against commit 64d3ba2: training and sampling speed, side by side, one table.

    python benchmarks/pixelrnn.py               # paper's MNIST size: 7 layers, h=16, batch 64, 28x28 binary
    python benchmarks/pixelrnn.py --rounds 5 --steps 3

"old" is the Row LSTM and Diagonal BiLSTM plugin code of 64d3ba2 (``git show 64d3ba2:<path>`` of their
model.py and sampler.py into a temporary package), run on this checkout's core, which those modules
import (its layers and model base did not change after 64d3ba2); "new" is this checkout. Both get the
same weights. Every measurement runs in a fresh process with one thread, fp32, and old and new
alternate round by round, so a neighbour's load hits both alike; the table gives the best and the
median of the rounds. Times are the process's CPU time (on a shared machine, wall time swings 2x
with other jobs' load; CPU time much less), so images/s are per core-second.

train: Adam steps on random binary images (one step warms up first); sample: the incremental
sampler drawing ``--samples`` images.
"""

from __future__ import annotations

import argparse
import json
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
    """The model of ``code`` ("old" or "new") with the weights a seeded new model starts with."""
    import importlib

    import torch

    import zoo

    torch.manual_seed(0)
    model = zoo.create(arch, **config)
    if code == "new":
        return model
    sys.path.insert(0, old_dir)
    cls = getattr(importlib.import_module(f"old_{PLUGINS[arch][1]}.model"), CLASSES[arch])
    old = cls(cls.config_class(**model.config.model_dump()))
    old.load_state_dict(model.state_dict())
    return old


def measure(arch: str, code: str, phase: str, old_dir: str, config: dict, batch: int, steps: int, n: int) -> dict:
    import torch

    torch.set_num_threads(1)
    model = build(arch, code, old_dir, config)
    if phase == "train":
        x = torch.randint(0, config["levels"], (batch, 1, config["height"], config["width"]))
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()
        for k in range(steps + 1):  # the first step warms up
            if k == 1:
                t0 = time.process_time()
            opt.zero_grad()
            model.loss(x).backward()
            opt.step()
        return {"value": steps * batch / (time.process_time() - t0)}
    model.eval()
    model.sample(1, generator=torch.Generator().manual_seed(0))  # warm up
    t0 = time.process_time()
    model.sample(n, generator=torch.Generator().manual_seed(1))
    return {"value": n / (time.process_time() - t0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="old/new pairs per measurement")
    parser.add_argument("--steps", type=int, default=2, help="timed training steps per measurement")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--layers", type=int, default=7)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--size", type=int, default=28, help="image height and width")
    parser.add_argument("--samples", type=int, default=8, help="images drawn per sampling measurement")
    parser.add_argument("--one", nargs=3, metavar=("ARCH", "CODE", "PHASE"), help=argparse.SUPPRESS)
    parser.add_argument("--old-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    config = dict(height=args.size, width=args.size, levels=2, hidden=args.hidden, layers=args.layers, out_hidden=32)
    if args.one:
        arch, code, phase = args.one
        result = measure(arch, code, phase, args.old_dir, config, args.batch, args.steps, args.samples)
        print(json.dumps(result))
        return

    print(f"PixelRNN layers, {OLD_COMMIT} against this checkout: {machine()}")
    print(
        f"{args.layers} layers, h={args.hidden}, {args.size}x{args.size} binary, fp32, one thread; "
        f"training batch {args.batch}; {args.rounds} alternating rounds, CPU time"
    )
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        export_old(Path(tmp))
        for arch in PLUGINS:
            for phase, unit in (("train", "train img/s"), ("sample", "sampled img/s")):
                values: dict[str, list[float]] = {"old": [], "new": []}
                for _ in range(args.rounds):
                    for code in ("old", "new"):
                        flags = [arch, code, phase, "--old-dir", tmp, "--steps", str(args.steps)]
                        flags += ["--batch", str(args.batch), "--layers", str(args.layers)]
                        flags += [
                            "--hidden",
                            str(args.hidden),
                            "--size",
                            str(args.size),
                            "--samples",
                            str(args.samples),
                        ]
                        values[code].append(run_isolated(__file__, flags, f"{arch} {code} {phase}")["value"])
                best = {c: max(v) for c, v in values.items()}
                median = {c: statistics.median(v) for c, v in values.items()}
                rows.append(
                    [
                        arch,
                        unit,
                        f"{best['old']:.1f} / {median['old']:.1f}",
                        f"{best['new']:.1f} / {median['new']:.1f}",
                        f"{best['new'] / best['old']:.2f}x / {median['new'] / median['old']:.2f}x",
                    ]
                )
    print_table(["model", "what", f"{OLD_COMMIT} best / median", "now best / median", "speed-up"], rows)


if __name__ == "__main__":
    main()
