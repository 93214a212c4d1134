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
