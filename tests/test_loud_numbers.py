"""Loud numbers (issue 30): config integers are strict, and a training loss that blows up stops the run."""

from __future__ import annotations

import json

import pytest

import zoo
from zoo.registry import get_registry
from zoo.sources import bundled_folder
from zoo.weights import read_config


@pytest.mark.parametrize("value", ["4", True, 4.0, "true"])
def test_a_config_integer_must_be_an_integer(tmp_path, tiny_model, value):
    folder = zoo.save_pretrained(tiny_model(1), tmp_path / "m")
    meta = json.loads((folder / "config.json").read_text())
    meta["config"]["height"] = value
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(zoo.WeightsError, match="height") as info:
        zoo.load(folder)
    assert "\n" not in str(info.value)


def test_set_refuses_a_quoted_integer(tmp_path, one_line_error):
    from zoo.cli import main

    assert main(["create", "independent", "--out", str(tmp_path / "m"), "--set", 'height="4"']) != 0
    assert "height" in one_line_error()


def test_every_bundled_config_still_validates_strictly():
    reg = get_registry()
    bundled = [spec.entry for spec in reg.pretrained.values() if spec.entry.bundled and spec.entry.published]
    assert len(bundled) >= 10
    for entry in bundled:
        meta = read_config(bundled_folder(entry))
        reg.model(meta["architecture"]).cls.config_class.model_validate(meta["config"])


def test_a_loss_that_grows_a_thousandfold_stops_the_run_and_keeps_the_last_checkpoint(tmp_path, monkeypatch):
    """``lr=1e30`` trained to 1e32 nats without a word; now the run stops in one line at the step where the
    loss passed a thousand times its first value, and the checkpoint before it stays for ``--resume``."""
    from zoo import train
    from zoo.train_step import TrainStep

    settings = {"batch_size": 64, "progress": False, "device": "cpu", "checkpoint_every": 1}
    real = TrainStep.__call__
    losses = iter([30.0, 29.0, 31.0, 40_000.0])

    def blowing_up(self, x, step, **labels):
        real(self, x, step, **labels)
        return next(losses)

    monkeypatch.setattr(TrainStep, "__call__", blowing_up)
    out = tmp_path / "run"
    with pytest.raises(zoo.ZooError, match=r"grew from 30 to 4e\+04 nats at step 4 .*diverged") as info:
        train("independent", "digits", out, epochs=1, settings=settings, dataset_options={"limit": 256})
    assert "\n" not in str(info.value)
    latest = json.loads((out / "checkpoints" / "latest.json").read_text())
    assert latest["state"]["step"] == 3  # the last good step's checkpoint is kept


def test_a_non_finite_loss_stops_the_run_in_one_line(tmp_path):
    from zoo import train

    settings = {"batch_size": 64, "progress": False, "device": "cpu", "lr": 1e30}
    with pytest.raises(zoo.ZooError) as info:
        train("independent", "digits", tmp_path / "run", epochs=3, settings=settings, dataset_options={"limit": 256})
    assert "\n" not in str(info.value) and ("diverged" in str(info.value) or "became" in str(info.value))
