"""MADE: contract kit (one mask and a mixture of masks), the masks from the seed, exact fast sampling."""

from __future__ import annotations

import math

import pytest
import torch

import zoo
from zoo.testing import allowed_context, check_class_conditioning, check_fast_sampler, check_model, receptive_field

SHAPES = [dict(channels=1, height=3, width=3, levels=2), dict(channels=3, height=2, width=2, levels=3)]


@pytest.mark.parametrize("shape", SHAPES, ids=["grey", "colour"])
@pytest.mark.parametrize("masks", [1, 3])
def test_contract(shape, masks):
    check_model("made", hidden=[12, 10], masks=masks, **shape)


def test_class_conditioning():
    model = zoo.create("made", channels=1, height=3, width=3, levels=3, hidden=[8], masks=2, num_classes=3)
    check_class_conditioning(model)


def test_the_mixture_is_the_average_of_the_connectivities():
    model = zoo.create("made", channels=1, height=3, width=3, levels=2, hidden=[16], masks=3).eval()
    x = torch.randint(0, 2, (5, 1, 3, 3))
    s = zoo.layers.raster_dims(model.scale(x))
    each = []
    for k in range(3):
        lp = torch.log_softmax(model.dim_logits(model.outputs(s, k)), -1)
        each.append(lp.gather(-1, zoo.layers.raster_dims(x)[..., None]).sum((1, 2)))
    expected = torch.logsumexp(torch.stack(each), 0) - math.log(3)
    assert torch.allclose(model.log_prob(x), expected, atol=1e-5)


def test_masks_come_from_the_seed_and_are_not_saved(tmp_path):
    a = zoo.create("made", height=4, width=4, levels=2, hidden=[20], mask_seed=1)
    b = zoo.create("made", height=4, width=4, levels=2, hidden=[20], mask_seed=2)
    assert not torch.equal(a.masks_for(0)[0], b.masks_for(0)[0])
    a.save_pretrained(tmp_path / "m")
    loaded = zoo.load(tmp_path / "m")
    assert torch.equal(loaded.masks_for(0)[0], a.masks_for(0)[0])
    assert all("mask" not in name for name in loaded.state_dict())


def test_deep_made_sees_only_earlier_dimensions_and_samples_fast_exactly():
    model = zoo.create("made", channels=2, height=3, width=3, levels=2, hidden=[30, 30, 30], masks=2)
    field = receptive_field(model, 1, 1, 1)
    assert not (field & ~allowed_context((2, 3, 3), 1, 1, 1)).any()
    g = torch.Generator().manual_seed(3)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    check_fast_sampler(model)


def test_training_draws_one_connectivity_per_step():
    model = zoo.create("made", height=3, width=3, levels=2, hidden=[8], masks=4).train()
    x = torch.randint(0, 2, (6, 1, 3, 3))
    torch.manual_seed(0)
    losses = {round(model.loss(x).item(), 5) for _ in range(12)}
    assert len(losses) > 1  # different connectivities, different losses
    model.eval()
    assert model.loss(x).item() == pytest.approx(-model.log_prob(x).mean().item())
