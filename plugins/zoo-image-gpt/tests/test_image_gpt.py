"""ImageGPT: the contract kit (grey and colour), causality, the exact key/value-cached sampler, classes."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.testing import allowed_context, check_fast_sampler, check_model, receptive_field

TINY = dict(hidden=8, layers=2, heads=2)


@pytest.mark.parametrize(
    "shape",
    [dict(channels=1, height=4, width=4, levels=2), dict(channels=3, height=2, width=2, levels=2)],
    ids=["grey", "colour"],
)
def test_contract(shape):
    model = check_model("image-gpt", **TINY, **shape)
    assert model.config.dims == shape["channels"] * shape["height"] * shape["width"]


def _random_weights(model):
    """Larger random weights everywhere than a fresh model has, so an indexing error cannot hide."""
    g = torch.Generator().manual_seed(7)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model.eval()


@pytest.mark.parametrize(
    "shape", [dict(channels=1, height=5, width=6, levels=4), dict(channels=3, height=3, width=4, levels=3)]
)
def test_fast_sampler_is_exact_with_large_weights(shape):
    check_fast_sampler(_random_weights(zoo.create("image-gpt", **TINY, **shape)))


def test_every_earlier_position_is_seen_and_nothing_else():
    """Attention reaches the whole causal past at once: channel c of (i, j) sees every earlier
    pixel and channels < c of its own, never itself (the start token shifts the sequence by one)."""
    model = _random_weights(zoo.create("image-gpt", channels=3, height=3, width=3, levels=4, **TINY))
    for i, j, c in [(0, 0, 0), (0, 0, 2), (1, 2, 1), (2, 2, 0)]:
        assert torch.equal(receptive_field(model, i, j, c), allowed_context((3, 3, 3), i, j, c)), (i, j, c)


def test_the_sampler_refuses_steps_out_of_order():
    model = zoo.create("image-gpt", height=3, width=3, levels=2, **TINY)
    x = torch.zeros(2, 1, 3, 3, dtype=torch.long)
    sampler = model.incremental_sampler(2)
    sampler.start(x)
    sampler.logits_at(x, 0, 0, 0)
    with pytest.raises(zoo.ArgumentError, match=r"expected step 1, got channel 0 of pixel \(0, 2\)"):
        sampler.logits_at(x, 0, 2, 0)
    sampler.start(x)  # start begins again
    assert sampler.logits_at(x, 0, 0, 0).shape == (2, 2)


def test_class_conditioning():
    model = _random_weights(zoo.create("image-gpt", height=3, width=3, levels=3, num_classes=4, **TINY))
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
    with pytest.raises(zoo.ConfigError, match="hidden=10 must be a multiple of heads=4"):
        zoo.create("image-gpt", hidden=10, heads=4)
    with pytest.raises(zoo.ConfigError, match="16384"):
        zoo.create("image-gpt", channels=3, height=128, width=128)


def test_follows_its_dtype():
    model = _random_weights(zoo.create("image-gpt", height=3, width=3, levels=2, **TINY))
    x = model.sample(2, generator=torch.Generator().manual_seed(0))
    wide = zoo.create("image-gpt", height=3, width=3, levels=2, **TINY)
    wide.load_state_dict(model.state_dict())
    wide = wide.double().eval()
    assert wide.dtype == torch.float64
    assert torch.allclose(wide.log_prob(x), model.log_prob(x).double(), atol=1e-4)
    assert torch.equal(wide.sample(2, generator=torch.Generator().manual_seed(0)), x)
