"""A newcomer finds the datasets, their options and defaults, what a folder or Hub repo holds, and every choice."""

from __future__ import annotations

import json

import pytest

import zoo
from zoo.cli import build_parser, main


def test_list_datasets_shows_levels_shapes_and_options(capsys):
    assert main(["list", "--datasets"]) == 0
    out = capsys.readouterr().out
    line = next(ln for ln in out.splitlines() if ln.startswith("binarized-mnist"))
    assert "2" in line and "1x28x28" in line and "dynamic=False" in line and "seed=0" in line


def test_list_json_for_models_and_datasets(capsys):
    assert main(["list", "--json"]) == 0
    names = {i["name"] for i in json.loads(capsys.readouterr().out)}
    assert {"independent", "pixelcnn"} <= names
    assert main(["list", "--datasets", "--json", "digits*"]) == 0
    assert [i["name"] for i in json.loads(capsys.readouterr().out)] == ["digits", "digits-binarized"]


def test_info_dataset_says_splits_options_and_where_files_are(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    assert main(["info", "mnist"]) == 0
    out = capsys.readouterr().out
    assert "splits: train, val, test" in out and "levels: 256" in out
    assert f"looked for in {tmp_path / 'mnist'}/" in out and "train-images-idx3-ubyte.gz" in out
    assert "download: zoo download mnist" in out
    assert main(["info", "binarized-mnist", "--json"]) == 0
    options = {o["name"]: o for o in json.loads(capsys.readouterr().out)["options"]}
    assert options["dynamic"]["default"] is False and options["dynamic"]["type"] == "bool"


def test_info_on_a_folder_and_on_a_hub_repo(tmp_path, capsys, fake_hub):
    folder = tmp_path / "m"
    assert main(["create", "independent", "--out", str(folder)]) == 0
    capsys.readouterr()
    assert main(["info", str(folder), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "folder" and info["architecture"] == "independent" and "model.safetensors" in info["files"]
    zoo.push_to_hub(folder, "alice/ind")
    assert main(["info", "alice/ind", "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["kind"] == "hub" and info["repo_id"] == "alice/ind" and info["config"]["levels"] == 17
    fetched = [r[1] for r in fake_hub.requests if "/resolve/" in r[1]]
    assert any(p.endswith("/config.json") for p in fetched), fetched
    assert not any(p.endswith("/model.safetensors") for p in fetched), "zoo info downloaded the weights"
    assert "files" not in info and info["cache"]  # issue 32.9: the cache fetched to describe it is no file listing
    assert main(["info", str(tmp_path / "nothere")]) == 2
    assert "no such model folder" in capsys.readouterr().err


def _choices(parser, verb, flag):
    sub = next(a for a in parser._actions if a.dest == "command").choices[verb]
    return next(a for a in sub._actions if flag in a.option_strings).choices


def test_enumerated_settings_show_their_choices_in_help(capsys):
    parser = build_parser()
    for verb in ("eval", "complete"):
        assert list(_choices(parser, verb, "--split")) == ["train", "val", "test"]
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    out = capsys.readouterr().out
    assert "optimizer=adam: (one of adam, adagrad, sgd, rmsprop)" in out and "one of fp32, bf16, fp16" in out
    fields = zoo.model_info("vae-bernoulli")["config_fields"]
    assert fields["network"]["choices"] == ["mlp", "conv"] and "choices" not in fields["latent"]
    assert main(["info", "vae-bernoulli"]) == 0
    assert "(one of relu, tanh)" in capsys.readouterr().out


# -- bounds are bounds ----------------------------------------------------------------------------


def test_a_vae_figure_is_an_upper_bound_everywhere(tmp_path, capsys):
    """Old zoo printed ``NLL (nats/image) 86.276``: no <=, no k, and --json had no bound flag."""
    folder = tmp_path / "vae"
    argv = ["create", "vae-bernoulli", "--out", str(folder), "--set", "height=8", "--set", "width=8"]
    assert main([*argv, "--set", "latent=2", "--set", "hidden=[8]", "--set", "eval_samples=3"]) == 0
    capsys.readouterr()
    assert main(["eval", str(folder), "--dataset", "digits-binarized", "--split", "val", "--save"]) == 0
    out = capsys.readouterr().out
    assert "<= " in out and "(IWAE k=3)" in out
    assert main(["eval", str(folder), "--dataset", "digits-binarized", "--limit", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bound"] is True and result["estimator"] == "IWAE k=3"
    assert main(["info", str(folder)]) == 0
    assert "<= " in capsys.readouterr().out
    from zoo.cards import write_model_card

    card = write_model_card(folder).read_text()
    assert "(IWAE k=3)" in card and "NLL upper bound (IWAE k=3) (nats/image)" in card


def test_an_exact_likelihood_is_not_marked(capsys):
    assert main(["eval", "independent-digits", "--limit", "4", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["bound"] is False and result["estimator"] == "exact"  # issue 32: not null


def test_list_pretrained_marks_bundled_vae_bounds(capsys):
    assert main(["list", "--pretrained", "vae-*"]) == 0
    rows = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("vae-") and "bundled" in ln]
    assert rows and all("<= " in r and "(IWAE k=" in r for r in rows if " - " not in r)
