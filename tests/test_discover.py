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
