"""The bundled flows load offline, say their NLL is a bound, and their stored numbers hold within Monte Carlo noise."""

from __future__ import annotations

import pytest
import torch
from zoo_flow import NICE, Glow

import zoo
from zoo.bounds import stored_estimator
from zoo.data import load_dataset
from zoo.evaluation import bits_per_dim


@pytest.mark.parametrize("name, cls", [("nice-digits", NICE), ("glow-digits", Glow)])
def test_bundled_flow_loads_offline_and_matches_its_card(name, cls, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = zoo.get_registry().entry(name)
    assert entry.bundled == name and entry.dataset == "digits"
    assert entry.recipe.startswith(f"zoo train {cls.architecture} --dataset digits ")
    model = zoo.load(name)
    assert type(model) is cls and model.config.levels == 17
    test = model.pretrained_info["metrics"]["test"]
    assert test["n_images"] == 360 and test["bound"] and test["k"] == model.config.eval_samples
    assert stored_estimator(test) == f"{model.config.dequantization} dequantization k={model.config.eval_samples}"
    assert test["bits_per_dim"] == pytest.approx(bits_per_dim(test["nll_nats"], 64))
    assert all(m.ready.item() == 1 for m in model.modules() if hasattr(m, "ready"))  # actnorm initialised once

    x = load_dataset("digits", "test").images.long()
    torch.manual_seed(1)  # another draw than the stored one: they agree within Monte Carlo noise
    assert abs(-model.log_prob(x).mean().item() - test["nll_nats"]) < 0.5
    samples = model.sample(4, generator=torch.Generator().manual_seed(0), temperature=0.7)
    assert samples.shape == (4, 1, 8, 8) and int(samples.max()) < 17
    card = (entry.folder / "README.md").read_text()
    assert "dequantization" in card and "<=" in card
