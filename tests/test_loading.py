"""zoo.load and Model.from_pretrained take what from_pretrained users reach for (dtype, cache_dir,
local_files_only, force_download, token), weights saved in half precision load back, and
``zoo download NAME`` fills the cache for later offline loads (against the local fake Hub)."""

from __future__ import annotations

import hashlib

import pytest
import torch

import zoo
from zoo.cli import main
from zoo.testing.hub import TOKEN

pytestmark = pytest.mark.usefixtures("fake_hub")


def hub_gets(hub) -> list[str]:
    return [p for m, p in hub.requests if m == "GET" and "/resolve/" in p]


@pytest.mark.parametrize("stored", [torch.bfloat16, torch.float16])
def test_half_precision_weights_load_back_cast_to_the_requested_dtype(tmp_path, stored, tiny_model):
    model = tiny_model(0)
    model.to(stored).save_pretrained(tmp_path / "half")
    halves = model.to(stored).state_dict()["logit_table"]

    default = zoo.load(tmp_path / "half")  # was: "has dtype torch.bfloat16, expected torch.float32"
    assert default.dtype == torch.float32
    assert torch.equal(default.logit_table, halves.float())  # the stored values, exactly
    assert zoo.load(tmp_path / "half", dtype="auto").dtype == stored
    assert zoo.load(tmp_path / "half", dtype="float16").dtype == torch.float16
    assert zoo.Model.from_pretrained(tmp_path / "half", dtype=torch.float64).dtype == torch.float64


def test_a_bad_dtype_is_one_line_naming_the_choices(tmp_path, tiny_model):
    zoo.save_pretrained(tiny_model(1), tmp_path / "m")
    with pytest.raises(zoo.ArgumentError, match=r"dtype='int8' is not a floating-point dtype; use one of float32"):
        zoo.load(tmp_path / "m", dtype="int8")


def test_from_pretrained_loads_its_own_class_and_refuses_another(tmp_path, tiny_model):
    from zoo_pixelcnn import PixelCNN

    model = PixelCNN.from_pretrained("pixelcnn-digits", dtype=torch.bfloat16)
    assert isinstance(model, PixelCNN) and model.dtype == torch.bfloat16 and not model.training
    zoo.save_pretrained(tiny_model(2), tmp_path / "ind")
    with pytest.raises(zoo.WeightsError, match=r"holds a independent model \(Independent\), not a PixelCNN"):
        PixelCNN.from_pretrained(tmp_path / "ind")
    assert zoo.Model.from_pretrained(tmp_path / "ind").architecture == "independent"


def test_the_model_methods_reach_the_io_that_zoo_loading_supplies(fake_hub, tmp_path, tiny_model, tiny_batch):
    """The contract imports no I/O module: its methods run what zoo.loading handed to zoo.interfaces."""
    from zoo import interfaces, loading

    assert interfaces._model_io().load is loading.load_model
    model = tiny_model(3)
    url = model.push_to_hub("alice/from-the-method")
    assert url.sha256 == hashlib.sha256(fake_hub.files("alice/from-the-method")["model.safetensors"]).hexdigest()
    folder = model.save_pretrained(tmp_path / "m")
    x = tiny_batch
    for loaded in (zoo.Model.from_pretrained("alice/from-the-method"), zoo.Model.from_pretrained(folder)):
        assert torch.equal(loaded.log_prob(x), model.log_prob(x))


def test_hub_options_reach_huggingface_hub(fake_hub, tmp_path, monkeypatch, tiny_model, tiny_batch):
    model = tiny_model(3)
    zoo.push_to_hub(model, "alice/opts", private=True)
    monkeypatch.delenv("HF_TOKEN")
    x = tiny_batch
    cache = tmp_path / "my-cache"
    loaded = zoo.load("alice/opts", token=TOKEN, cache_dir=cache, dtype="bfloat16")  # private: needs the token
    assert loaded.dtype == torch.bfloat16
    assert str(cache) in loaded.pretrained_info["source"]  # the snapshot lives in the cache_dir given
    assert torch.allclose(loaded.float().log_prob(x), model.log_prob(x), atol=0.1)

    before = len(fake_hub.requests)
    zoo.load("alice/opts", cache_dir=cache, local_files_only=True)  # served from that cache alone
    assert len(fake_hub.requests) == before
    gets = len(hub_gets(fake_hub))
    zoo.load("alice/opts", cache_dir=cache, force_download=True, token=TOKEN)
    assert len(hub_gets(fake_hub)) > gets  # the files came again
    with pytest.raises(zoo.ArgumentError, match="local_files_only=True and force_download=True contradict"):
        zoo.load("alice/opts", local_files_only=True, force_download=True)


def test_local_files_only_without_a_cached_copy_is_one_line(fake_hub, tiny_model):
    zoo.push_to_hub(tiny_model(4), "alice/notcached")
    with pytest.raises(zoo.HubError, match="is not in the Hugging Face cache") as info:
        zoo.load("alice/notcached", local_files_only=True)
    assert "\n" not in str(info.value)


def test_zoo_download_fetches_a_hub_model_for_offline_use(fake_hub, capsys, monkeypatch, tiny_model, tiny_batch):
    model = tiny_model(5)
    zoo.push_to_hub(model, "alice/later")
    assert main(["download", "alice/later"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("alice/later: model files ready in ") and "HF_HUB_OFFLINE=1" in out

    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    before = len(fake_hub.requests)
    x = tiny_batch
    assert torch.equal(zoo.load("alice/later").log_prob(x), model.log_prob(x))
    assert len(fake_hub.requests) == before


def test_zoo_download_of_models_and_its_one_line_errors(fake_hub, capsys):
    assert main(["download", "pixelcnn-digits"]) == 0  # bundled: already here, says where
    assert "pixelcnn-digits: model files ready in " in capsys.readouterr().out
    assert main(["download", "alice/none"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("zoo download: error: Hub repo 'alice/none'") and err.count("\n") == 1
    assert main(["download", "alice/none", "--root", "x"]) == 2
    assert "--root applies to datasets" in capsys.readouterr().err
    assert main(["download", "digits", "--revision", "v1"]) == 2
    assert "--revision applies to models" in capsys.readouterr().err
