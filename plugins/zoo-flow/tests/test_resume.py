"""Actnorm's data-dependent initialisation and exact resume: a glow run stopped after its first epoch and resumed
ends on the parameters, bit for bit, of a run that never stopped (the initialisation is not redone on resume)."""

from __future__ import annotations

import json

import torch

import zoo
from zoo.weights import load_tensors

SETTINGS = {"hidden": 4, "layers": 1, "scales": 2, "eval_samples": 2, "batch_size": 64, "schedule": "constant"}
SETTINGS |= {"ema": 0.9, "checkpoint_every": 2, "progress": False}


def _final(out):
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    return load_tensors(out / "checkpoints" / latest["tensors"]), latest["state"]


def test_stopped_and_resumed_glow_equals_the_uninterrupted_run(tmp_path):
    plain, stopped = tmp_path / "plain", tmp_path / "stopped"
    zoo.train("glow", "digits", plain, settings=SETTINGS, epochs=2)
    zoo.train("glow", "digits", stopped, settings=SETTINGS, epochs=1)
    first, _ = _final(stopped)
    assert all(v.item() == 1 for k, v in first.items() if k.endswith(".ready"))  # initialised in the first part
    zoo.train("glow", "digits", stopped, settings=SETTINGS, epochs=2, resume=True)
    (a, state_a), (b, state_b) = _final(plain), _final(stopped)
    assert state_a["step"] == state_b["step"] == 40 and a.keys() == b.keys()  # 1257 images, batch 64: 20 a epoch
    for key in a:  # model, averaged model, optimizer moments, RNG states
        assert torch.equal(a[key], b[key]), key
    model = zoo.load(stopped)
    assert all(m.ready.item() == 1 for m in model.modules() if hasattr(m, "ready"))  # the saved (averaged) weights
