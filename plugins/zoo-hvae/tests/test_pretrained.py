"""The bundled model loads offline, carries the recipe that made it, and its card's numbers hold."""

from __future__ import annotations

import pytest
import torch
from zoo_hvae import HVAE

import zoo
from zoo.data import load_dataset
from zoo.evaluation import bits_per_dim

NAME = "hvae-digits-binarized"


def test_bundled_model_loads_offline_and_matches_its_card(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = zoo.get_registry().entry(NAME)
    assert entry.bundled == NAME and entry.dataset == "digits-binarized" and entry.architecture == "hvae"
    assert entry.recipe.startswith("zoo train hvae --dataset digits-binarized ")
    model = zoo.load(NAME)  # checks the sha256 pin on the way
    assert type(model) is HVAE and model.config.levels == 2 and model.config.eval_samples == 50
    test = model.pretrained_info["metrics"]["test"]
    assert test["dataset"] == "digits-binarized" and test["n_images"] == 360
    assert test["bits_per_dim"] == pytest.approx(bits_per_dim(test["nll_nats"], 64))

    x = load_dataset("digits-binarized", "test").images.long()
    torch.manual_seed(0)
    nll = -model.log_prob(x).mean().item()
    assert abs(nll - test["nll_nats"]) < 0.15, (nll, test["nll_nats"])  # both random estimates of one bound
    assert nll < test["extra"]["neg_elbo"]  # the k=50 bound is tighter than the ELBO
    assert test["nll_nats"] < 25.06 - 5  # FIELD-NOTES: the per-pixel independent model's 25.06 nats
    kl = model.kl_per_layer(x[:100], generator=torch.Generator().manual_seed(0))
    assert (kl > 0.5).sum() >= 2, kl  # the hierarchy is used: more than one layer carries information
    samples = model.sample(4, generator=torch.Generator().manual_seed(0))
    assert samples.shape == (4, 1, 8, 8) and int(samples.max()) <= 1
    folder = entry.folder
    assert (folder / "model.safetensors").stat().st_size < 2_000_000 and (folder / "README.md").is_file()
