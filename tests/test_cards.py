"""Model cards: metadata the Hub indexes, a body a person reads, a seeded sample grid."""

from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

import zoo
from zoo.cards import card_data, read_card, write_model_card

METRICS = {
    "test": {
        "split": "test",
        "dataset": "digits",
        "n_images": 360,
        "nll_nats": 80.123456,
        "bits_per_dim": 1.8034,
        "extra": {"iw_bound": 79.5},
    },
    "val": {
        "split": "val",
        "dataset": "digits",
        "n_images": 100,
        "nll_nats": 81.5,
        "bits_per_dim": 1.8345,
        "extra": {},
    },
}
RECIPE = "zoo train independent --dataset digits --epochs 3 --out cards/ind"


@pytest.fixture
def folder(tmp_path):
    torch.manual_seed(0)
    model = zoo.create("independent", levels=17, height=6, width=5)
    with torch.no_grad():
        model.logit_table.normal_()
    return zoo.save_pretrained(model, tmp_path / "ind-digits", dataset="digits", metrics=METRICS)


def test_card_metadata_has_library_tags_license_and_model_index(folder):
    write_model_card(folder, recipe=RECIPE)
    data = read_card(folder).data.to_dict()
    assert data["library_name"] == "zoo"
    assert data["license"] == "cc-by-4.0"  # the licence the digits dataset declares (tests/test_provenance.py)
    assert {"independent", "generative"} <= set(data["tags"])
    assert data["datasets"] == ["digits"]
    (index,) = data["model-index"]
    assert index["name"] == "ind-digits"
    got = {(r["dataset"]["split"], m["type"]): m["value"] for r in index["results"] for m in r["metrics"]}
    assert got == {
        ("test", "bits_per_dim"): 1.8034,
        ("test", "nll"): 80.1235,
        ("validation", "bits_per_dim"): 1.8345,  # the split as the Hub names it
        ("validation", "nll"): 81.5,
    }


def test_card_body_has_recipe_config_metrics_samples_usage_limitations(folder):
    path = write_model_card(folder, recipe=RECIPE, name="ind-digits")
    text = read_card(folder).text
    assert path == folder / "README.md"
    assert f"```bash\n{RECIPE}\n```" in text
    assert "| `levels` | 17 |" in text and "| `height` | 6 |" in text
    assert f"{17 * 6 * 5:,} parameters" in text
    assert "| test | 360 | 80.123 | 1.8034 | iw_bound=79.5000 |" in text
    assert "| val | 100 | 81.500 | 1.8345 |  |" in text
    assert "![samples](samples.png)" in text
    assert 'import zoo\n\nm = zoo.load("ind-digits")\nx = m.sample(16)' in text
    assert "## Limitations" in text and "`digits`" in text
    assert "0..16" in text


def test_sample_grid_is_seeded_and_written_beside_the_card(folder):
    write_model_card(folder, seed=3)
    first = (folder / "samples.png").read_bytes()
    with Image.open(folder / "samples.png") as im:
        width, height = im.size
    assert width > 5 * 4 and height > 6 * 4  # a 4x4 grid of upscaled 6x5 images
    write_model_card(folder, seed=3)
    assert (folder / "samples.png").read_bytes() == first
    write_model_card(folder, seed=4)
    assert (folder / "samples.png").read_bytes() != first


def test_card_without_samples_metrics_or_recipe_says_so(tmp_path):
    folder = zoo.save_pretrained(zoo.create("independent", levels=2, height=3, width=3), tmp_path / "bare")
    write_model_card(folder, samples=False)
    text = read_card(folder).text
    assert not (folder / "samples.png").exists()
    assert "samples.png" not in text
    assert "The training command was not recorded." in text
    assert "No metrics were recorded" in text
    assert "model-index" not in card_data(folder).to_dict()


def test_recipe_defaults_to_the_one_in_config_json(folder):
    meta = json.loads((folder / "config.json").read_text())
    meta["recipe"] = "zoo train independent --dataset digits --out somewhere"
    (folder / "config.json").write_text(json.dumps(meta))
    write_model_card(folder, samples=False)
    assert "zoo train independent --dataset digits --out somewhere" in read_card(folder).text


def test_folder_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(zoo.WeightsError, match="config.json: file not found"):
        write_model_card(tmp_path)
    with pytest.raises(zoo.WeightsError, match="no model card"):
        read_card(tmp_path)
