"""MADE's sizes are bounded and its meta-device sizing draws no mask (issue 30): a config.json asking for a
million connectivities or a billion hidden units is refused in one line, in well under a second."""

from __future__ import annotations

import json
import time

import pytest

import zoo


@pytest.mark.parametrize(
    "config, field",
    [({"masks": 1_000_000}, "masks"), ({"hidden": [1_000_000_000]}, "hidden"), ({"hidden": [8] * 17}, "hidden")],
)
def test_a_hostile_made_config_json_is_refused_at_once(tmp_path, config, field):
    folder = zoo.save_pretrained(zoo.create("made", height=4, width=4, levels=2, hidden=[8]), tmp_path / "m")
    meta = json.loads((folder / "config.json").read_text())
    meta["config"].update(config)
    (folder / "config.json").write_text(json.dumps(meta))
    start = time.perf_counter()
    with pytest.raises(zoo.WeightsError) as info:
        zoo.load(folder)
    assert time.perf_counter() - start < 5 and field in str(info.value) and "\n" not in str(info.value)


def test_zoo_create_refuses_a_billion_masks_in_one_line(tmp_path, capsys):
    from zoo.cli import main

    assert main(["create", "made", "--out", str(tmp_path / "m"), "--set", "masks=1000000000"]) != 0
    err = capsys.readouterr().err.strip()
    assert "masks" in err and "\n" not in err


def test_the_meta_sizing_draws_no_mask_degrees():
    from zoo.building import meta_model

    spec = zoo.registry.get_registry().model("made")
    config = spec.cls.config_class(height=28, width=28, levels=2, hidden=[65536] * 2, masks=64)
    start = time.perf_counter()
    model = meta_model(spec.cls, config)
    assert time.perf_counter() - start < 2 and model._degrees is None
