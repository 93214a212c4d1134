"""The `zoo` command line, run as users run it (a subprocess per command)."""

import json
import os
import subprocess
import sys

import pytest
from PIL import Image

import zoo
from zoo.cli import main, parse_settings


def zoo_cli(*args, check=True):
    """Run the CLI in a subprocess, as a user would."""
    run = subprocess.run(
        [sys.executable, "-m", "zoo.cli", *map(str, args)], capture_output=True, text=True, env=os.environ
    )
    if check:
        assert run.returncode == 0, run.stderr
    return run


def test_help_for_every_verb(capsys):
    verbs = [
        "list",
        "info",
        "plugins",
        "create",
        "train",
        "eval",
        "sample",
        "complete",
        "card",
        "push",
        "download",
        "demo",
    ]
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
        "hidden": 64,
        "sizes": [400, 400],
        "optimizer": "adam",
        "lr": 1e-3,
    }
    with pytest.raises(ValueError, match="--set expects key=value"):
        parse_settings(["hidden"])


@pytest.mark.slow
def test_list_info_plugins():
    assert "independent" in zoo_cli("list", "ind*").stdout
    info = json.loads(zoo_cli("info", "independent", "--json").stdout)
    assert info["plugin"] == "zoo-builtin" and "levels" in info["config_fields"]
    assert "zoo-builtin" in zoo_cli("plugins").stdout


@pytest.mark.slow
def test_unknown_name_is_one_clear_line():
    run = zoo_cli("info", "independant", check=False)
    assert run.returncode == 2
    assert run.stderr.startswith("zoo info: error: unknown model 'independant'; did you mean 'independent'")
    assert len(run.stderr.strip().splitlines()) == 1


@pytest.mark.slow
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
    assert (
        main(
            [
                "train",
                "independent",
                "--dataset",
                "digits",
                "--epochs",
                "2",
                "--out",
                str(out),
                "--set",
                "lr=0.05",
                "--set",
                "progress=false",
            ]
        )
        == 0
    )
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
    assert (
        main(
            [
                "complete",
                str(out),
                "--dataset",
                "digits",
                "--n",
                "4",
                "--samples",
                "2",
                "--out",
                str(tmp_path / "c.png"),
            ]
        )
        == 0
    )
    assert Image.open(tmp_path / "c.png").size[1] > Image.open(tmp_path / "c.png").size[0] // 4  # 4 rows of 4
    assert main(["eval", str(out), "--dataset", "mnist"]) == 1  # no MNIST files here: one clear error
    assert "mnist" in capsys.readouterr().err


def test_complete_needs_a_model_with_a_complete_method(tmp_path, capsys):
    """``zoo complete`` takes any model with ``complete`` (autoregressive ones, a diffusion model) and refuses one
    without it, a VAE, in one line before any work."""
    assert main(["complete", "vae-gaussian-digits", "--out", str(tmp_path / "c.png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "vae-gaussian has no complete method" in err
    assert not (tmp_path / "c.png").exists()


def test_pretrained_listing_and_info_are_honest(capsys):
    import zoo

    assert main(["list", "--pretrained"]) == 0
    rows = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    digits = zoo.load("pixelcnn-digits").pretrained_info["metrics"]["test"]
    assert rows["pixelcnn-digits"].split()[1:] == [
        "bundled",
        "digits",
        f"{digits['nll_nats']:.2f}",
        f"{digits['bits_per_dim']:.4f}",
    ]
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


def test_fine_tune_devices_permissions_and_missing_folders(tmp_path, capsys, monkeypatch):
    import stat

    import torch

    import zoo

    out = tmp_path / "tuned"
    assert (
        main(
            [
                "train",
                "pixelcnn-digits",
                "--dataset",
                "digits",
                "--epochs",
                "1",
                "--set",
                "lr=1e-4",
                "--set",
                "progress=false",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    tuned, base = zoo.load(out), zoo.load("pixelcnn-digits")
    assert tuned.config == base.config  # the pretrained model was trained further, not rebuilt
    changed = [k for k, v in base.state_dict().items() if not torch.equal(v, tuned.state_dict()[k])]
    assert changed
    for name in ("config.json", "model.safetensors", "history.csv"):
        assert stat.S_IMODE((out / name).stat().st_mode) == 0o644, name
    assert main(["train", "independent", "--dataset", "digits", "--out", str(tmp_path / "fresh"), "--resume"]) == 1
    assert "nothing to resume" in capsys.readouterr().err

    assert zoo.load("pixelcnn-digits", device="cpu").device.type == "cpu"
    assert zoo.load("pixelcnn-digits", map_location="cpu").device.type == "cpu"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    with pytest.raises(zoo.WeightsError, match=r"^runs/nothere: no such model folder$"):
        zoo.load("runs/nothere")
    with pytest.warns(UserWarning, match="loading the local folder pixelcnn-digits, not the pretrained model"):
        zoo.save_pretrained(zoo.load("independent-digits"), tmp_path / "pixelcnn-digits")
        assert zoo.load("pixelcnn-digits").architecture == "independent"


def test_models_follow_their_dtype_and_are_callable():
    import torch

    import zoo

    for name in ("pixelcnn-digits", "row-lstm-digits", "diagonal-bilstm-digits", "independent-digits"):
        model = zoo.load(name)
        x = model.sample(3, generator=torch.Generator().manual_seed(0))
        exact = model.log_prob(x)
        assert torch.equal(model(x), exact)  # model(x) is log_prob(x)
        for dtype, tolerance in ((torch.float64, 1e-3), (torch.bfloat16, 2.0)):
            other = zoo.load(name).to(dtype)
            assert other.dtype == dtype and other.scale(x).dtype == dtype
            assert (other.log_prob(x).double() - exact.double()).abs().max() < tolerance, (name, dtype)
            assert other.sample(2, generator=torch.Generator().manual_seed(0)).dtype == torch.int64
            known = torch.zeros_like(x, dtype=torch.bool)
            known[:, :, :4] = True
            assert torch.equal(other.complete(x, known, generator=torch.Generator())[known], x[known])


def test_help_shows_defaults_and_training_fields(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = capsys.readouterr().out
    assert "training fields (--set KEY=VALUE):" in text
    assert "  lr=0.001: learning rate" in text and "  patience=None: stop after" in text
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    text = capsys.readouterr().out
    assert "(default: samples.png)" in text and "(default: 16)" in text and "(default: 0)" in text


def test_sample_batches_and_refuses_unknown_image_extensions(tmp_path, capsys):
    assert main(["sample", "pixelcnn-digits", "--n", "5", "--batch-size", "2", "--out", str(tmp_path / "s.png")]) == 0
    # 5 images: 3 columns, 2 rows of 8x8 enlarged 12x (zoo.figures.default_scale) with 3px gaps, under a 30px title
    assert Image.open(tmp_path / "s.png").size == (3 * (96 + 3) + 3, 30 + 2 * (96 + 3) + 3)
    for out in ("s", "s.xyz"):
        assert main(["sample", "pixelcnn-digits", "--out", str(tmp_path / out)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "unknown image extension" in err
        assert not (tmp_path / out).exists()
    assert main(["sample", "pixelcnn-digits", "--batch-size", "0", "--out", str(tmp_path / "t.png")]) == 2
    assert "--batch-size must be at least 1, got 0" in capsys.readouterr().err


def test_a_local_folder_named_like_a_repo_loads_quietly_unless_it_shadows_an_entry(tmp_path, monkeypatch):
    import warnings

    import zoo

    monkeypatch.chdir(tmp_path)
    zoo.save_pretrained(zoo.load("independent-digits"), tmp_path / "runs" / "mine")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert zoo.load("runs/mine").architecture == "independent"
    zoo.save_pretrained(zoo.load("independent-digits"), tmp_path / "zoo-models" / "pixelcnn-binarized-mnist")
    with pytest.warns(UserWarning, match="not the pretrained model or Hub repo named 'zoo-models/pixelcnn-binarized"):
        zoo.load("zoo-models/pixelcnn-binarized-mnist")


def test_an_image_that_cannot_be_written_is_one_line(tmp_path, capsys):
    out = tmp_path / ("x" * 300 + ".png")  # longer than any file system allows
    assert main(["sample", "pixelcnn-digits", "--n", "2", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err and "File name too long" in err


def test_one_config_error_whichever_door(tmp_path):
    """A bad config is a zoo.ConfigError from create, from training settings, from --set pairs and from
    a config.json (there also a WeightsError); all are ValueErrors too."""
    from zoo.recipes import parse_settings
    from zoo.training import TrainConfig, split_settings, validated

    with pytest.raises(zoo.ConfigError, match="invalid config for independent: levels"):
        zoo.create("independent", levels=1)
    with pytest.raises(zoo.ConfigError, match="unknown setting"):
        split_settings(zoo.get_registry().model("independent").cls.config_class, {"lrr": 0.1})
    with pytest.raises(zoo.ConfigError, match="invalid training settings: lr"):
        validated(TrainConfig, {"lr": -1}, "training settings")
    with pytest.raises(zoo.ConfigError, match="--set expects key=value"):
        parse_settings(["lr"])
    folder = zoo.save_pretrained(zoo.create("independent"), tmp_path / "m")
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["levels"] = 1
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(zoo.ConfigError) as caught:
        zoo.load(folder)
    assert isinstance(caught.value, zoo.WeightsError) and isinstance(caught.value, ValueError)


def test_the_command_line_prints_zoo_errors_in_one_line_and_lets_bugs_show(monkeypatch, capsys):
    from zoo import cli

    assert cli.main(["create", "independent", "--set", "levels=1", "--out", "/nonexistent/x"]) == 2
    assert "zoo create: error: invalid config for independent" in capsys.readouterr().err

    def buggy(args):
        raise KeyError("a bug in zoo")

    monkeypatch.setattr(cli, "cmd_list", buggy)
    with pytest.raises(KeyError, match="a bug in zoo"):
        cli.main(["list"])
