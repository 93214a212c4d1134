"""Provenance (issue 22.4): the command that made a run, a fine-tune's base model, the licence and the
architecture's papers reach train_config.json, config.json and the model card."""

from __future__ import annotations

import json

import pytest
import torch
from huggingface_hub import ModelCard

import zoo
from zoo.cards import card_data, write_model_card
from zoo.cli import main
from zoo.recipes import Recipe


def tiny_card(folder, **kwargs):
    return ModelCard.load(write_model_card(folder, samples=False, completions=False, **kwargs))


def test_the_cli_command_is_recorded_at_train_time_and_shown_on_the_card(tmp_path):
    out = tmp_path / "run"
    argv = ["train", "independent", "--dataset", "digits", "--epochs", "1", "--set", "lr=0.05", "--out", str(out)]
    assert main(argv) == 0
    command = "zoo " + " ".join(argv)
    assert json.loads((out / "train_config.json").read_text())["command"] == command
    assert json.loads((out / "config.json").read_text())["command"] == command
    card = tiny_card(out)
    assert "The training command was not recorded" not in card.text
    assert f"```bash\n{command}\n```" in card.text


def test_an_api_run_records_the_equivalent_command_and_a_resume_keeps_it(tmp_path):
    out = tmp_path / "run"
    settings = {"lr": 0.05, "batch_size": 64, "optimizer": "adam"}
    zoo.train("independent", "digits", out, settings=settings, epochs=1)
    run = json.loads((out / "train_config.json").read_text())
    assert run["command"].startswith("zoo train independent --dataset digits --set lr=0.05 ")
    assert run["command"].endswith(f"--epochs 1 --out {out}")
    assert Recipe.parse(run["command"]).settings == settings  # the recorded command gives back the settings
    zoo.train("independent", "digits", out, epochs=2, resume=True)
    resumed = json.loads((out / "train_config.json").read_text())
    assert resumed["command"] == run["command"]
    assert resumed["resumed_with"] == [f"zoo train independent --dataset digits --epochs 2 --out {out} --resume"]


def test_a_fine_tune_records_its_base_model_everywhere(fake_hub, tmp_path):
    base = zoo.create("independent", levels=17, height=8, width=8)
    zoo.push_to_hub(base, "alice/base")
    out = tmp_path / "ft"
    zoo.train("alice/base", "digits", out, epochs=1)
    assert json.loads((out / "train_config.json").read_text())["base_model"] == "alice/base"
    assert json.loads((out / "config.json").read_text())["base_model"] == "alice/base"
    card = tiny_card(out)
    assert card.data.base_model == "alice/base"  # the YAML the Hub links fine-tunes with
    assert "Fine-tuned from `alice/base`." in card.text

    local = tmp_path / "ft-of-folder"
    zoo.train(out, "digits", local, epochs=1)  # a local folder is no Hub id: named in the body, not the YAML
    assert json.loads((local / "config.json").read_text())["base_model"] == str(out)
    card = tiny_card(local)
    assert card.data.base_model is None and f"Fine-tuned from `{out}`." in card.text


def test_the_license_defaults_to_the_datasets_and_can_be_given(tmp_path):
    model = zoo.create("independent", levels=2, height=3, width=3)
    mnist = zoo.save_pretrained(model, tmp_path / "mnist", dataset="binarized-mnist")
    assert card_data(mnist).license == "cc-by-sa-3.0"  # MNIST's licence, declared where the dataset registers
    assert zoo.get_registry().dataset("mnist").license == "cc-by-sa-3.0"
    assert card_data(mnist, license="apache-2.0").license == "apache-2.0"

    digits = zoo.save_pretrained(model, tmp_path / "digits", dataset="digits")
    assert main(["card", str(digits), "--license", "mit"]) == 0
    assert ModelCard.load(digits / "README.md").data.license == "mit"
    unknown = zoo.save_pretrained(zoo.create("independent", levels=2, height=3, width=3), tmp_path / "none")
    card = tiny_card(unknown)
    assert card.data.license == "other" and "No licence is declared" in card.text


def test_cards_link_the_papers_the_architecture_declares(tmp_path):
    from zoo_pixelcnn import PixelCNN

    assert PixelCNN.papers == ("1601.06759", "1606.05328")
    model = zoo.create("pixelcnn", levels=2, height=4, width=4, hidden=8, layers=1)
    card = tiny_card(zoo.save_pretrained(model, tmp_path / "p"))
    assert "[arXiv:1601.06759](https://arxiv.org/abs/1601.06759)" in card.text
    assert "arxiv:1606.05328" in card.data.tags


@pytest.mark.parametrize("value", ["64", "true", "[400, 400]", "adam", "0.001"])
def test_recorded_settings_round_trip_with_their_types(value):
    from zoo.recipes import parse_settings

    typed = parse_settings([f"k={value}"])["k"]
    recipe = Recipe(architecture="a", dataset="d", settings={"k": typed}, dataset_options={"o": typed}, out="o")
    assert Recipe.parse(recipe.command()) == recipe


def test_cli_train_under_the_examples_seed_is_unchanged(tmp_path):
    """Recording provenance changes no weight: two identical runs give identical weights."""
    for name in ("a", "b"):
        zoo.train("independent", "digits", tmp_path / name, epochs=1)
    a, b = zoo.load(tmp_path / "a"), zoo.load(tmp_path / "b")
    assert torch.equal(a.logit_table, b.logit_table)


def test_every_bundled_card_declares_the_licence_of_its_training_data():
    from zoo.cards import card_license, read_card
    from zoo.weights import read_config

    reg = zoo.get_registry()
    bundled = [reg.entry(n).folder for n in reg.pretrained if reg.entry(n).bundled]
    assert bundled
    for folder in bundled:
        if (folder / "README.md").is_file():
            assert read_card(folder).data.license == card_license(read_config(folder)), folder.name
