"""The `zoo` command line, run as users run it (a subprocess per command)."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

from zoo.cli import main, parse_settings


def zoo_cli(*args, check=True):
    """Run the CLI in a subprocess, as a user would."""
    run = subprocess.run([sys.executable, "-m", "zoo.cli", *map(str, args)], capture_output=True, text=True, env=os.environ)
    if check:
        assert run.returncode == 0, run.stderr
    return run


def test_help_for_every_verb(capsys):
    verbs = ["list", "info", "plugins", "create", "train", "eval", "sample", "complete", "card", "push", "download", "demo"]
    with pytest.raises(SystemExit):
        main(["--help"])
    top = capsys.readouterr().out
    for verb in verbs:
        assert verb in top
        with pytest.raises(SystemExit) as exit_:
            main([verb, "--help"])
        assert exit_.value.code == 0
        assert "usage: zoo " + verb in capsys.readouterr().out


def test_settings_are_parsed_as_json_where_possible():
    assert parse_settings(["hidden=64", "sizes=[400, 400]", "optimizer=adam", "lr=1e-3"]) == {
        "hidden": 64, "sizes": [400, 400], "optimizer": "adam", "lr": 1e-3}
    with pytest.raises(ValueError, match="--set expects key=value"):
        parse_settings(["hidden"])


def test_list_info_plugins():
    assert "independent" in zoo_cli("list", "ind*").stdout
    info = json.loads(zoo_cli("info", "independent", "--json").stdout)
    assert info["plugin"] == "zoo-builtin" and "levels" in info["config_fields"]
    assert "zoo-builtin" in zoo_cli("plugins").stdout


def test_unknown_name_is_one_clear_line():
    run = zoo_cli("info", "independant", check=False)
    assert run.returncode == 2
    assert run.stderr.startswith("zoo info: error: unknown model 'independant'; did you mean 'independent'")
    assert len(run.stderr.strip().splitlines()) == 1


def test_create_sample_and_bad_settings(tmp_path):
    zoo_cli("create", "independent", "--out", tmp_path / "m", "--set", "levels=2", "--set", "height=4")
    config = json.loads((tmp_path / "m" / "config.json").read_text())
    assert config["config"]["levels"] == 2 and config["config"]["height"] == 4
    out = zoo_cli("sample", tmp_path / "m", "--n", "4", "--out", tmp_path / "s.png").stdout
    assert "wrote 4 samples" in out
    assert Image.open(tmp_path / "s.png").size[0] > 8
    bad = zoo_cli("create", "independent", "--out", tmp_path / "x", "--set", "levels=1", check=False)
    assert bad.returncode == 2 and "invalid config for independent: levels" in bad.stderr
    assert not (tmp_path / "x").exists()


def test_train_eval_card_complete_round_trip(tmp_path, capsys):
    """The path a researcher takes: train, measure into config.json, write the card, complete images."""
    import math

    out = tmp_path / "m"
    assert main(["train", "independent", "--dataset", "digits", "--epochs", "2", "--out", str(out),
                 "--set", "lr=0.05", "--set", "progress=false"]) == 0
    assert f"saved the best model to {out}" in capsys.readouterr().out
    assert main(["eval", str(out), "--dataset", "digits", "--json", "--save"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["split"] == "test" and result["n_images"] == 360
    assert result["bits_per_dim"] < math.log2(17) - 0.5  # well below the uniform model
    recorded = json.loads((out / "config.json").read_text())["metrics"]["test"]
    assert recorded["nll_nats"] == pytest.approx(result["nll_nats"])
    assert main(["card", str(out), "--recipe", "zoo train independent --dataset digits --epochs 2"]) == 0
    card = (out / "README.md").read_text()
    assert "zoo train independent --dataset digits --epochs 2" in card and (out / "samples.png").is_file()
    assert main(["complete", str(out), "--dataset", "digits", "--n", "4", "--samples", "2", "--out", str(tmp_path / "c.png")]) == 0
    assert Image.open(tmp_path / "c.png").size[1] > Image.open(tmp_path / "c.png").size[0] // 4  # 4 rows of 4
    assert main(["eval", str(out), "--dataset", "mnist"]) == 2  # no MNIST files here: one clear error
    assert "mnist" in capsys.readouterr().err


def test_pretrained_listing_and_info_are_honest(capsys):
    import zoo

    assert main(["list", "--pretrained"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    digits = zoo.load("pixelcnn-digits").pretrained_info["metrics"]["test"]
    assert rows["pixelcnn-digits"].split()[1:] == ["bundled", "digits", f"{digits['nll_nats']:.2f}",
                                                   f"{digits['bits_per_dim']:.4f}"]
    assert rows["pixelcnn-cifar10"].split()[1:] == ["not", "published", "cifar10", "-", "-"]
    assert "binarized-mnist (dynamic=True)" in rows["pixelcnn-binarized-mnist"]

    assert main(["info", "pixelcnn-cifar10"]) == 0
    out = capsys.readouterr().out
    assert "channels = 3" in out and "height = 32" in out and "levels = 256" in out and "hidden = 126" in out
    assert "where: not published" in out
    assert main(["info", "pixelcnn-digits"]) == 0
    out = capsys.readouterr().out
    info = zoo.model_info("pixelcnn-digits")
    assert f"card: {info['card']}" in out and f"samples: {info['samples']}" in out
    assert os.path.isfile(info["card"]) and os.path.isfile(info["samples"])
    assert f"test: {digits['nll_nats']:.3f} nats" in out and "levels = 17" in out
