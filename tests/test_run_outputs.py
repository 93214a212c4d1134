"""What a training run leaves to look at and to publish: data options, history, curves, completions, cards."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
import zoo.data as zd
from zoo import evaluate, train
from zoo.builtin import datasets as bd
from zoo.cli import main
from zoo.figures import UNKNOWN_TINT, completion_figure, default_scale, draw_curves

from .test_data import write_mnist


@pytest.fixture
def tiny_mnist(tmp_path, monkeypatch):
    """MNIST files in the released format, 24 training images of which 4 are the validation split."""
    monkeypatch.setattr(bd, "MNIST_VAL", 4)
    write_mnist(tmp_path / "data", n_train=24, n_test=6)
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "data"))
    return tmp_path


def test_data_options_travel_from_train_to_eval_and_complete(tiny_mnist, capsys):
    out = tiny_mnist / "run"
    args = [
        "train",
        "independent",
        "--dataset",
        "binarized-mnist",
        "--data-option",
        "dynamic=true",
        "--data-option",
        "seed=3",
        "--epochs",
        "2",
        "--set",
        "progress=false",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    capsys.readouterr()
    stored = json.loads((out / "train_config.json").read_text())
    assert stored["dataset_options"] == {"dynamic": True, "seed": 3}
    meta = json.loads((out / "config.json").read_text())
    assert meta["dataset_options"] == {"dynamic": True, "seed": 3}
    assert meta["metrics"]["val"]["options"] == {"dynamic": True, "seed": 3}

    # eval without --dataset measures the data the model records, options included
    assert main(["eval", str(out), "--json", "--save", "--limit", "4"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["dataset"] == "binarized-mnist" and result["n_images"] == 4
    assert result["options"] == {"dynamic": True, "seed": 3, "limit": 4}
    expected = evaluate(out, "binarized-mnist", limit=4, dynamic=True, seed=3).nll_nats
    assert result["nll_nats"] == pytest.approx(expected)
    other_draw = evaluate(out, "binarized-mnist", limit=4, dynamic=True, seed=4).nll_nats
    assert other_draw != pytest.approx(expected)  # the seed really picks the test draw
    assert "test[:4]" in json.loads((out / "config.json").read_text())["metrics"]

    # the static set is not on this machine: naming the dataset without the option fails clearly
    assert main(["eval", str(out), "--dataset", "binarized-mnist"]) == 1
    assert "binarized-mnist" in capsys.readouterr().err
    assert main(["eval", str(out), "--data-option", "dynamic"]) == 2
    assert "--data-option expects key=value" in capsys.readouterr().err


def test_train_writes_history_csv_and_curves_each_epoch(tmp_path):
    out = tmp_path / "run"
    train("independent", "digits", out, settings={"epochs": 3, "progress": False, "lr": 0.05})
    rows = list(csv.DictReader((out / "history.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [1, 2, 3]
    assert float(rows[-1]["val_bits_per_dim"]) < float(rows[0]["train_bits_per_dim"])
    assert Image.open(out / "curves.png").size == (720, 460)
    result = json.loads((out / "train_result.json").read_text())
    assert "CPU" in result["hardware"] and torch.__version__ in result["hardware"]


def test_curves_draw_both_series_and_survive_odd_histories():
    history = [{"epoch": e, "train_bits_per_dim": 1.0 / e, "val_bits_per_dim": 1.1 / e} for e in (1, 2, 3)]
    picture = np.asarray(Image.open(__import__("io").BytesIO(draw_curves(history))).convert("RGB"))
    colours = {tuple(p) for p in picture.reshape(-1, 3)}
    assert (31, 119, 180) in colours and (214, 39, 40) in colours  # train and val lines
    for odd in ([], [{"epoch": 1, "train_bits_per_dim": float("nan")}], [{"epoch": 1, "train_bits_per_dim": 0.5}]):
        assert draw_curves(odd).startswith(b"\x89PNG")


def test_completion_figure_tints_the_hidden_part_and_refuses_other_levels(tmp_path):
    model = zoo.load("pixelcnn-digits")
    data = zd.load_dataset("digits", "test")
    path = completion_figure(model, data, tmp_path / "c.png", n=3, samples=1)
    picture = np.asarray(Image.open(path).convert("RGB"))
    tinted = (picture == UNKNOWN_TINT).all(-1)
    scale = default_scale(8)
    assert tinted.sum() == 3 * (4 * scale) * (8 * scale)  # exactly the bottom halves of the three occluded images
    ys = np.nonzero(tinted.any(1))[0]
    assert ys.max() - ys.min() + 1 == 4 * scale  # all in one row (the first): completions are not tinted
    assert not tinted[: ys.min()].any()
    with pytest.raises(zoo.DatasetError, match="with 2 levels, but the pixelcnn model was built for .* 17 levels"):
        completion_figure(model, zd.load_dataset("digits-binarized", "test"), tmp_path / "x.png")


def test_card_shows_training_run_curve_completions_and_notes(tmp_path):
    out = tmp_path / "run"
    train(
        "pixelcnn",
        "digits-binarized",
        out,
        settings={"epochs": 2, "progress": False, "hidden": 8, "layers": 1, "batch_size": 128},
    )
    (out / "curves.png").unlink()  # the card draws it again from train_result.json
    main(
        [
            "card",
            str(out),
            "--recipe",
            "zoo train pixelcnn --dataset digits-binarized",
            "--notes",
            "Target missed: more epochs would close it.",
        ]
    )
    card = (out / "README.md").read_text()
    assert "Trained for 2 epochs" in card and "CPU, torch" in card
    assert "![training curve](curves.png)" in card and (out / "curves.png").is_file()
    assert "![completions](completions.png)" in card and (out / "completions.png").is_file()
    assert "Target missed: more epochs would close it." in card
