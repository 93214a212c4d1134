"""The weights format: config.json + model.safetensors, exact round trip, one clear error per fault."""

import json

import pytest
import torch
from safetensors.torch import load_file, save_file

import zoo
from zoo.errors import WeightsError


@pytest.fixture
def saved(tmp_path):
    model = zoo.create("independent", channels=1, height=4, width=4, levels=5)
    with torch.no_grad():
        model.logit_table.normal_()
    folder = zoo.save_pretrained(model, tmp_path / "m", dataset="digits", metrics={"test": {"bits_per_dim": 1.5}})
    return model, folder


def test_round_trip_is_exact(saved):
    model, folder = saved
    meta = json.loads((folder / "config.json").read_text())
    assert meta["format_version"] == 1 and meta["architecture"] == "independent"
    assert meta["plugin"] == "zoo-builtin" and meta["dataset"] == "digits"
    assert meta["config"] == {"channels": 1, "height": 4, "width": 4, "levels": 5}
    loaded = zoo.load(folder)
    assert torch.equal(loaded.logit_table, model.logit_table)
    assert loaded.pretrained_info["metrics"]["test"]["bits_per_dim"] == 1.5
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "model.safetensors"]


def test_missing_weights_file(saved):
    _, folder = saved
    (folder / "model.safetensors").unlink()
    with pytest.raises(WeightsError, match=r"model\.safetensors: file not found"):
        zoo.load(folder)


def test_missing_config_file(saved):
    _, folder = saved
    (folder / "config.json").unlink()
    with pytest.raises(WeightsError, match=r"config\.json: file not found"):
        zoo.load(folder)


def test_corrupted_weights_file(saved):
    _, folder = saved
    data = (folder / "model.safetensors").read_bytes()
    (folder / "model.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightsError, match=r"model\.safetensors: not a valid safetensors file"):
        zoo.load(folder)


def test_invalid_json(saved):
    _, folder = saved
    (folder / "config.json").write_text("{not json")
    with pytest.raises(WeightsError, match=r"config\.json: not valid JSON"):
        zoo.load(folder)


def edit_tensors(folder, fn):
    tensors = load_file(str(folder / "model.safetensors"))
    fn(tensors)
    save_file(tensors, str(folder / "model.safetensors"))


def test_missing_tensor(saved):
    _, folder = saved
    edit_tensors(folder, lambda t: t.pop("logit_table"))
    with pytest.raises(WeightsError, match="missing tensor.*logit_table"):
        zoo.load(folder)


def test_extra_tensor(saved):
    _, folder = saved
    edit_tensors(folder, lambda t: t.update(stray=torch.zeros(2)))
    with pytest.raises(WeightsError, match="unexpected tensor.*stray"):
        zoo.load(folder)


def test_wrong_shape(saved):
    _, folder = saved
    edit_tensors(folder, lambda t: t.update(logit_table=torch.zeros(5, 1, 4, 3)))
    with pytest.raises(WeightsError, match=r"'logit_table' has shape \(5, 1, 4, 3\), the config needs \(5, 1, 4, 4\)"):
        zoo.load(folder)


def rewrite_config(folder, fn):
    meta = json.loads((folder / "config.json").read_text())
    fn(meta)
    (folder / "config.json").write_text(json.dumps(meta))


def test_config_fails_validation(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m["config"].update(levels=1))
    with pytest.raises(WeightsError, match=r"config\.json: invalid config for independent: levels: "):
        zoo.load(folder)
    rewrite_config(folder, lambda m: m["config"].update(levels=5, colour=3))
    with pytest.raises(WeightsError, match="colour: Extra inputs are not permitted"):
        zoo.load(folder)


def test_unknown_architecture(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m.update(architecture="independant", plugin="zoo-other"))
    with pytest.raises(WeightsError, match=r"config\.json: unknown architecture 'independant'; did you mean 'independent'.*install zoo-other"):
        zoo.load(folder)


def test_newer_format_and_missing_key(saved):
    _, folder = saved
    rewrite_config(folder, lambda m: m.update(format_version=99))
    with pytest.raises(WeightsError, match="format_version 99 is newer"):
        zoo.load(folder)
    rewrite_config(folder, lambda m: m.pop("architecture"))
    with pytest.raises(WeightsError, match="missing key 'architecture'"):
        zoo.load(folder)


def test_failed_load_loses_nothing(saved):
    _, folder = saved
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    rewrite_config(folder, lambda m: m["config"].update(height=5))
    changed = (folder / "config.json").read_bytes()
    with pytest.raises(WeightsError):
        zoo.load(folder)
    assert (folder / "config.json").read_bytes() == changed
    assert (folder / "model.safetensors").read_bytes() == before["model.safetensors"]


def test_no_pickle_anywhere():
    import pathlib

    root = pathlib.Path(zoo.__file__).parent
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert "torch.load(" not in text and "import pickle" not in text, path
