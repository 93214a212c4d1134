"""Figures fit to publish (issue 22.9): labelled, upscaled sample grids with a row per class, completion
figures with row labels and separators, curves with round ticks, a grid and the estimator of each line."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

import zoo
from zoo.cli import main
from zoo.data import load_dataset
from zoo.figures import _ticks, completion_figure, curve_labels, default_scale, draw_curves, sample_figure

GREY = (128, 128, 128)  # the frame behind the tiles


def picture(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB")).astype(int)


def full_lines(pic: np.ndarray, value: int, width: int) -> dict[int, int]:
    """y -> pixels of exactly ``value`` on line y, for lines with at least ``width`` of them (tile lines, not text)."""
    counts = (pic == value).all(-1).sum(1)
    return {y: int(c) for y, c in enumerate(counts) if c >= width}


def test_a_conditional_grid_has_one_row_per_class_in_order_and_is_upscaled(tmp_path):
    labels = torch.tensor([2, 0, 1, 0, 2, 0])  # the order the sampler gave them in
    images = labels.view(-1, 1, 1, 1).expand(-1, 1, 4, 4).clone()  # class k is a flat image of level k
    path = sample_figure(images, 4, tmp_path / "s.png", name="m", seed=0, labels=labels, scale=5)
    pic = picture(path)[30:]  # below the title, whose black strokes are not tiles
    pic = pic[:, np.nonzero((pic == GREY).all(-1).sum(0) > 10)[0].min() :]  # right of the row labels
    tile = 4 * 5
    rows = [full_lines(pic, round(k * 255 / 3), tile) for k in range(3)]
    for k, count in enumerate([3, 1, 2]):  # class k's row holds exactly its images, each 5x enlarged
        assert len(rows[k]) == tile and set(rows[k].values()) == {count * tile}, k
    assert max(rows[0]) < min(rows[1]) and max(rows[1]) < min(rows[2])  # rows in class order, top to bottom


def test_the_title_carries_model_temperature_and_seed(tmp_path):
    images = torch.zeros(4, 1, 3, 3, dtype=torch.long)
    figures = {
        key: picture(sample_figure(images, 2, tmp_path / f"{n}.png", **kwargs))
        for n, (key, kwargs) in enumerate(
            {
                "base": dict(name="model-a", seed=0),
                "name": dict(name="model-b", seed=0),
                "seed": dict(name="model-a", seed=7),
                "temperature": dict(name="model-a", seed=0, temperature=0.5),
            }.items()
        )
    }
    top = 28  # the title band
    for key in ("name", "seed", "temperature"):
        a, b = figures["base"], figures[key]
        if a.shape != b.shape:
            continue  # a longer title widened the figure: it differs
        assert (a[:top] != b[:top]).any(), key
        assert (a[top:] == b[top:]).all(), key  # the grid is the same; only the words changed


def test_default_scale_makes_small_images_readable_and_cli_scale_overrides(tmp_path, capsys):
    assert default_scale(28) == 3 and default_scale(8) == 12 and default_scale(200) == 1
    for scale in (4, 8):
        assert (
            main(["sample", "pixelcnn-digits", "--n", "4", "--scale", str(scale), "--out", str(tmp_path / "s.png")])
            == 0
        )
        frame = (picture(tmp_path / "s.png") == GREY).all(-1)
        ys = np.nonzero(frame.sum(1) > 10)[0]  # frame lines, not a grey pixel of the title's antialiasing
        assert ys.max() - ys.min() + 1 == 2 * (8 * scale + 3) + 3  # two rows of 8x8 images, scale x enlarged
    assert main(["sample", "pixelcnn-digits", "--scale", "0", "--out", str(tmp_path / "x.png")]) == 2
    assert "--scale must be a whole number from 1 to 64, got 0" in capsys.readouterr().err


def test_completion_figure_has_row_labels_and_separators(tmp_path):
    model = zoo.load("pixelcnn-digits-binarized")
    path = completion_figure(model, load_dataset("digits-binarized", "test"), tmp_path / "c.png", n=3, samples=2)
    pic = picture(path)
    frame = (pic == GREY).all(-1)
    xs = np.nonzero(frame.sum(0) > 10)[0]
    x0, x1 = xs.min(), xs.max()
    black = (pic[:, x0 : x1 + 1] == 0).all(-1).all(1)
    bands = [y for y in np.nonzero(black)[0] if y - 1 not in np.nonzero(black)[0]]
    assert len(bands) == 2  # between the occluded row and the completions, and before the original
    inked = (pic[30:, : x0 - 4] < 100).all(-1).any(1)  # lines with writing left of the grid, below the title
    labels = [y for y in np.nonzero(inked)[0] if not inked[y - 1]]
    assert len(labels) == 4  # occluded, completion 1, completion 2, original: one label per row


def test_curves_have_round_ticks_a_grid_and_name_each_estimator():
    values, decimals = _ticks(0.93, 2.17)
    assert values == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8, 2.0]) and decimals == 1
    values, decimals = _ticks(81.13, 83.9)
    assert values == [81.5, 82.0, 82.5, 83.0, 83.5] and decimals == 1
    assert _ticks(0, 40)[0] == [0, 10, 20, 30, 40] and _ticks(0, 40)[1] == 0

    title, labels = curve_labels(zoo.create("pixelcnn", levels=2, height=4, width=4, hidden=8, layers=1))
    assert title == "pixelcnn: bits/dim per epoch" and "exact NLL" in labels["val"]
    title, labels = curve_labels(zoo.create("vae-bernoulli", height=4, width=4, eval_samples=50))
    assert "upper bound: IWAE, k=50" in labels["val"] and "negative ELBO" in labels["train"]

    history = [{"epoch": e, "train_bits_per_dim": 1.0 / e, "val_bits_per_dim": 1.1 / e} for e in (1, 2, 3)]
    pic = np.asarray(Image.open(io.BytesIO(draw_curves(history, title=title, labels=labels))).convert("RGB"))
    assert ((pic == (225, 225, 225)).all(-1).sum(1) > 300).sum() >= 3  # horizontal grid lines
    assert (pic[:28] < 100).all(-1).any()  # a title
    assert (pic[:, :25] < 100).all(-1).any()  # the rotated y-axis label
