"""PixelSNAIL: the contract kit (grey and colour), causality, the exact cached sampler, classes."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.testing import allowed_context, check_fast_sampler, check_model, receptive_field

TINY = dict(hidden=6, layers=2, residuals=1, key_channels=4, value_channels=3)


@pytest.mark.parametrize(
    "shape",
    [dict(channels=1, height=4, width=4, levels=2), dict(channels=3, height=2, width=2, levels=2)],
    ids=["grey", "colour"],
)
def test_contract(shape):
    model = check_model("pixelsnail", **TINY, **shape)
    assert len(model.blocks) == 2


def _random_weights(model):
    """Larger random weights everywhere than a fresh model has, so an indexing error cannot hide."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval()


@pytest.mark.parametrize(
    "shape",
    [  # keys narrower than values (queries and keys padded for the flash kernel), and wider
        dict(channels=1, height=5, width=6, levels=4, key_channels=2, value_channels=5),
        dict(channels=3, height=3, width=4, levels=3, key_channels=4, value_channels=3),
    ],
)
def test_fast_sampler_is_exact_with_large_weights(shape):
    check_fast_sampler(_random_weights(zoo.create("pixelsnail", **{**TINY, "residuals": 2, **shape})))


def test_attention_sees_the_whole_past_without_a_blind_spot():
    """The 3x3 convolutions alone have PixelCNN's blind spot and a small field; one attention
    block reaches every earlier pixel (channels < c of its own), never the pixel itself."""
    model = _random_weights(zoo.create("pixelsnail", height=6, width=6, levels=2, **TINY))
    for i, j in [(0, 0), (0, 3), (3, 0), (5, 1), (5, 5)]:
        assert torch.equal(receptive_field(model, i, j), allowed_context((1, 6, 6), i, j, 0)), (i, j)
    colour = _random_weights(zoo.create("pixelsnail", channels=3, height=3, width=3, levels=3, **TINY))
    for c in range(3):
        assert torch.equal(receptive_field(colour, 2, 1, c), allowed_context((3, 3, 3), 2, 1, c)), c


def test_the_sampler_refuses_steps_out_of_order():
    model = zoo.create("pixelsnail", height=3, width=3, levels=2, **TINY)
    x = torch.zeros(2, 1, 3, 3, dtype=torch.long)
    sampler = model.incremental_sampler(2)
    sampler.start(x)
    sampler.logits_at(x, 0, 0, 0)
    with pytest.raises(zoo.ArgumentError, match=r"expected channel 0 of pixel \(0, 1\), got channel 0 of pixel \(1, 0"):
        sampler.logits_at(x, 1, 0, 0)
    sampler.start(x)
    assert sampler.logits_at(x, 0, 0, 0).shape == (2, 2)


def test_class_conditioning():
    model = _random_weights(zoo.create("pixelsnail", height=3, width=3, levels=3, num_classes=4, **TINY))
    x = torch.randint(0, 3, (4, 1, 3, 3), generator=torch.Generator().manual_seed(0))
    a = model.log_prob(x, labels=torch.tensor([0, 1, 2, 3]))
    b = model.log_prob(x, labels=torch.tensor([1, 1, 2, 3]))
    assert a[0] != b[0] and torch.equal(a[1:], b[1:])
    with pytest.raises(zoo.ArgumentError, match="class-conditional"):
        model.log_prob(x)
    labels = torch.tensor([0, 3, 3])
    runs = [
        model.sample(3, generator=torch.Generator().manual_seed(2), method=m, labels=labels) for m in ("naive", "fast")
    ]
    assert torch.equal(*runs)
    known = zoo.sampling.occlusion_mask((1, 3, 3), "bottom-half")
    done = [
        model.complete(x[:3], known, generator=torch.Generator().manual_seed(4), method=m, labels=labels)
        for m in ("naive", "fast")
    ]
    assert torch.equal(*done) and torch.equal(done[0][:, :, :1], x[:3, :, :1])


def test_config_errors_name_the_fix():
    with pytest.raises(zoo.ConfigError, match="hidden=8 must be a multiple of channels=3"):
        zoo.create("pixelsnail", channels=3, hidden=8)


def test_follows_its_dtype():
    model = _random_weights(zoo.create("pixelsnail", height=3, width=3, levels=2, **TINY))
    x = model.sample(2, generator=torch.Generator().manual_seed(0))
    wide = zoo.create("pixelsnail", height=3, width=3, levels=2, **TINY)
    wide.load_state_dict(model.state_dict())
    wide = wide.double().eval()
    assert wide.dtype == torch.float64 and wide.background.dtype == torch.float64
    assert torch.allclose(wide.log_prob(x), model.log_prob(x).double(), atol=1e-4)
    assert torch.equal(wide.sample(2, generator=torch.Generator().manual_seed(0)), x)
