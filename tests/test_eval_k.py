"""k of a latent model's importance-weighted bound: in evaluate(), `zoo eval --k`, the result and the card."""

from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.cards import write_model_card
from zoo.cli import main


@pytest.fixture(scope="module")
def vae_folder(tmp_path_factory):
    torch.manual_seed(0)
    model = zoo.create("vae-bernoulli", latent=2, hidden=[8], levels=2, eval_samples=7)
    folder = tmp_path_factory.mktemp("vae") / "m"
    zoo.save_pretrained(model, folder, dataset="digits-binarized")
    return folder


def test_k_is_used_and_recorded(vae_folder):
    model = zoo.load(vae_folder)
    torch.manual_seed(1)
    default = zoo.evaluate(model, "digits-binarized", limit=8)
    torch.manual_seed(1)
    one = zoo.evaluate(model, "digits-binarized", limit=8, k=1)
    torch.manual_seed(1)
    again = zoo.evaluate(model, "digits-binarized", limit=8, k=1)
    assert default.k == 7 and one.k == 1  # the model's eval_samples unless told
    assert one.nll_nats == again.nll_nats and one.nll_nats != default.nll_nats
    exact = zoo.evaluate(zoo.create("independent", levels=2), "digits-binarized", limit=8)
    assert exact.k is None


def test_k_on_an_exact_model_or_below_one_is_one_clear_line():
    with pytest.raises(zoo.ConfigError, match="independent has no importance-sampling k"):
        zoo.evaluate(zoo.create("independent", levels=2), "digits-binarized", limit=8, k=5)
    with pytest.raises(zoo.ConfigError, match="k must be a positive integer"):
        zoo.evaluate(zoo.create("vae-bernoulli", latent=2, hidden=[8], levels=2), "digits-binarized", limit=8, k=0)


def test_zoo_eval_k_save_records_k_in_config_and_card(vae_folder, capsys):
    assert main(["eval", str(vae_folder), "--k", "3", "--limit", "8", "--save"]) == 0
    assert "k=3 samples" in capsys.readouterr().out
    stored = json.loads((vae_folder / "config.json").read_text())["metrics"]["test[:8]"]
    assert stored["k"] == 3 and stored["n_images"] == 8
    card = write_model_card(vae_folder, samples=False, completions=False).read_text()
    assert "(IWAE k=3) |" in card  # the bound names the k this evaluation used
    exact = vae_folder.parent / "exact"
    zoo.save_pretrained(zoo.create("independent", levels=2), exact, dataset="digits-binarized")
    assert main(["eval", str(exact), "--k", "3", "--limit", "8"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "has no importance-sampling k" in err
