"""The bundled model loads offline, carries the recipe that made it, and its card says what its bound is.

tests/test_bundled.py re-measures its whole test split (``zoo.testing.check_pretrained``); here only what
is special to a diffusion bound: the estimator recorded, seeded draws, the comparison the card makes."""

from __future__ import annotations

import torch
from zoo_vdm import VDM

import zoo
from zoo.data import load_dataset
from zoo.evaluation import bits_per_dim


def test_vdm_digits_loads_offline_and_reproduces_its_card(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = zoo.get_registry().entry("vdm-digits")
    assert entry.bundled == "vdm-digits" and entry.dataset == "digits"
    assert entry.recipe.startswith("zoo train vdm --dataset digits ") and "max_minutes=4" in entry.recipe
    model = zoo.load("vdm-digits")
    assert type(model) is VDM and model.config.levels == 17 and model.config.eval_timesteps == 50
    test = model.pretrained_info["metrics"]["test"]
    assert test["n_images"] == 360 and test["bound"] and test["estimator"] == "VDM bound, 50 timesteps"
    assert test["bits_per_dim"] == bits_per_dim(test["nll_nats"], 64)
    card = (entry.folder / "README.md").read_text()
    assert "<= 78.869 (VDM bound, 50 timesteps)" in card and "replacement method" in card

    x = load_dataset("digits", "test").images[:16].long()
    first = model.log_prob(x)
    assert torch.equal(first, model.log_prob(x)) and (first < 0).all()  # seeded draws: the same figure each call
    assert 60 < -first.mean() < 100
    assert test["nll_nats"] < zoo.model_info("pixelcnn-digits")["metrics"]["test"]["nll_nats"]  # see the card
    samples = model.sample(2, generator=torch.Generator().manual_seed(0), steps=32)
    assert samples.shape == (2, 1, 8, 8) and int(samples.max()) <= 16
