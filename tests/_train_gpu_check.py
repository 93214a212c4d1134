"""Device check of the trainer on one CUDA GPU (run by hand on a GPU machine; the suite runs on CPU).

python tests/_train_gpu_check.py : train() picks CUDA, resume is exact with CUDA RNG states,
pinned-memory workers give the same run. Prints one line per check and 'GPU CHECK OK'.
"""

import json
import math
import sys
import tempfile
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).parent))

from _train_models import Noisy, NoisyConfig  # noqa: E402

from zoo import (
    evaluate,  # noqa: E402
    train,
)
from zoo.data import load_dataset  # noqa: E402
from zoo.training import DefaultTrainer, TrainConfig  # noqa: E402
from zoo.weights import load_tensors  # noqa: E402


def fresh():
    torch.manual_seed(9)
    return Noisy(NoisyConfig())


def crash_at(model, step):
    calls = {"n": 0}
    loss = model.loss

    def wrapped(x):
        calls["n"] += 1
        if calls["n"] == step:
            raise KeyboardInterrupt
        return loss(x)

    model.loss = wrapped


if __name__ == "__main__":
    assert torch.cuda.is_available(), "no CUDA device"
    tmp = Path(tempfile.mkdtemp())
    out = train("independent", "digits", tmp / "m", epochs=2, settings={"progress": False})
    result = evaluate(out, "digits")
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    tensors = load_tensors(out / "checkpoints" / latest["tensors"])
    assert "rng.cuda.0" in tensors and tensors["model.logit_table"].device.type == "cpu"
    assert result.bits_per_dim < math.log2(17)
    print(f"train() on cuda: test {result.bits_per_dim:.4f} bits/dim < {math.log2(17):.4f}")

    train_set, val_set = load_dataset("digits", "train", limit=256), load_dataset("digits", "val", limit=64)
    cfg = TrainConfig(epochs=3, batch_size=32, lr=0.05, seed=4, checkpoint_every=3, progress=False, device="cuda")
    reference = fresh()
    DefaultTrainer().fit(reference, train_set, val_set, cfg, out=tmp / "ref")
    assert reference.logit_table.device.type == "cuda"
    for kill in (7, 13, 17):
        victim = fresh()
        crash_at(victim, kill)
        try:
            DefaultTrainer().fit(victim, train_set, val_set, cfg, out=tmp / f"run{kill}")
        except KeyboardInterrupt:
            pass
        again = fresh()
        DefaultTrainer().fit(again, train_set, val_set, cfg, out=tmp / f"run{kill}", resume=True)
        assert torch.equal(again.logit_table, reference.logit_table), f"resume after step {kill} differs"
    print("resume on cuda (CUDA RNG restored): exact after kills at steps 7, 13, 17")

    a, b = fresh(), fresh()
    DefaultTrainer().fit(a, train_set, None, cfg.model_copy(update={"checkpoint_every": None}))
    DefaultTrainer().fit(b, train_set, None, cfg.model_copy(update={"checkpoint_every": None, "num_workers": 2}))
    assert torch.equal(a.logit_table, b.logit_table)
    print("num_workers=2 with pinned memory: same parameters as num_workers=0")
    print("GPU CHECK OK")
