"""TrainConfig's fast paths on the CPU: bf16/fp16 autocast, channels_last, compile; resume exact within each."""

from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.data import ImageSet
from zoo.training import DefaultTrainer, TrainConfig
from zoo.weights import load_tensors

FAST = dict(progress=False, device="cpu", batch_size=16, lr=0.01, seed=3, checkpoint_every=3)


@pytest.fixture(scope="module")
def tiny_data():
    g = torch.Generator().manual_seed(0)
    return ImageSet(torch.randint(0, 2, (64, 1, 6, 6), generator=g, dtype=torch.uint8), None, 2, "bits", "train")


@pytest.fixture(scope="module")
def fp32_run(tiny_data):
    return fit(tiny_data)


def pixelcnn():
    torch.manual_seed(1)
    return zoo.create("pixelcnn", channels=1, height=6, width=6, levels=2, hidden=8, layers=2)


def weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def fit(data, out=None, resume=False, model=None, **settings):
    model = model or pixelcnn()
    result = DefaultTrainer().fit(
        model, data, None, TrainConfig(**{**FAST, "epochs": 2, **settings}), out=out, resume=resume
    )
    return model, result


class Crash(Exception):
    pass


def crash_at(model, step):
    calls = {"n": 0}
    loss = model.loss

    def wrapped(x):
        calls["n"] += 1
        if calls["n"] == step:
            raise Crash
        return loss(x)

    model.loss = wrapped
    return model


@pytest.mark.parametrize(
    "settings", [dict(precision="bf16"), dict(channels_last=True), dict(precision="bf16", channels_last=True)]
)
def test_fast_paths_train_close_to_fp32_and_resume_exactly(tmp_path, tiny_data, fp32_run, settings):
    fp32, ref32 = fp32_run
    fast, ref = fit(tiny_data, out=tmp_path / "ref", **settings)
    losses = [h["train_nll"] for h in ref.history]
    assert losses == pytest.approx([h["train_nll"] for h in ref32.history], rel=0.05)
    a, b = (torch.cat([v.flatten() for v in weights(m).values()]) for m in (fast, fp32))
    assert (a - b).norm() < 0.1 * b.norm()  # the same run up to rounding (Adam amplifies it a little)
    with pytest.raises(Crash):
        fit(tiny_data, out=tmp_path / "run", model=crash_at(pixelcnn(), 5), **settings)
    again, result = fit(tiny_data, out=tmp_path / "run", resume=True, **settings)
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(fast).items())  # exact within the setting
    assert result.history == ref.history


def test_channels_last_keeps_saved_weights_plain(tmp_path, tiny_data):
    model, _ = fit(tiny_data, out=tmp_path, channels_last=True)
    assert model.net.blocks[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    latest = json.loads((tmp_path / "checkpoints" / "latest.json").read_text())
    saved = load_tensors(tmp_path / "checkpoints" / latest["tensors"])
    names = {k[len("model.") :] for k in saved if k.startswith("model.")}
    assert names == set(pixelcnn().state_dict())  # the same tensor names as ever
    assert all(v.is_contiguous() for v in saved.values())


def test_fp16_scales_the_loss_and_checkpoints_the_scaler(tmp_path, tiny_data):
    try:
        with torch.autocast("cpu", dtype=torch.float16):
            torch.nn.functional.conv2d(torch.randn(1, 1, 3, 3), torch.randn(1, 1, 1, 1))
    except RuntimeError:
        pytest.skip("this torch has no fp16 autocast on the CPU")
    fast, ref = fit(tiny_data, out=tmp_path / "ref", precision="fp16", grad_clip=1.0)
    meta = json.loads((tmp_path / "ref" / "checkpoints" / "latest.json").read_text())
    assert meta["grad_scaler"]["scale"] > 0 and "_growth_tracker" in meta["grad_scaler"]
    with pytest.raises(Crash):
        fit(tiny_data, out=tmp_path / "run", model=crash_at(pixelcnn(), 5), precision="fp16", grad_clip=1.0)
    again, result = fit(tiny_data, out=tmp_path / "run", resume=True, precision="fp16", grad_clip=1.0)
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(fast).items())
    assert result.history == ref.history


def test_precision_cannot_change_on_resume(tmp_path, tiny_data):
    fit(tiny_data, out=tmp_path)
    with pytest.raises(zoo.ZooError, match="precision: 'fp32' -> 'bf16'"):
        fit(tiny_data, out=tmp_path, resume=True, epochs=3, precision="bf16")
    with pytest.raises(zoo.ZooError, match="invalid|Input should be"):
        zoo.training.validated(TrainConfig, {"precision": "fp8"}, "training settings")


def test_compile_wraps_the_loss_with_its_mode(monkeypatch, tiny_data):
    """Real compilation is checked on a GPU (tests/_gpu_check.py): too slow for the suite on this CPU."""
    seen = []

    def fake_compile(fn, mode):
        seen.append(mode)
        return fn

    monkeypatch.setattr(torch, "compile", fake_compile)
    fit(tiny_data, compile=True, compile_mode="reduce-overhead", epochs=1)
    assert seen == ["reduce-overhead"]
