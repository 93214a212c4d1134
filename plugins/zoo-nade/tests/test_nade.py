"""NADE: contract kit on grey and colour images, exact fast sampling, the recurrence, class conditioning."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.layers import raster_dims
from zoo.testing import allowed_context, check_class_conditioning, check_model, receptive_field


@pytest.mark.parametrize(
    "shape",
    [dict(channels=1, height=3, width=3, levels=2), dict(channels=3, height=2, width=2, levels=3)],
    ids=["grey", "colour"],
)
def test_contract(shape):
    check_model("nade", hidden=7, **shape)


def test_class_conditioning():
    check_class_conditioning(zoo.create("nade", channels=1, height=3, width=3, levels=3, hidden=5, num_classes=3))


def test_sees_every_earlier_dimension():
    model = zoo.create("nade", channels=2, height=4, width=4, levels=2, hidden=8)
    assert torch.equal(receptive_field(model, 2, 1, 1), allowed_context((2, 4, 4), 2, 1, 1))


def test_log_prob_is_the_papers_loop():
    """The vectorised cumulative sum equals the textbook loop over dimensions."""
    model = zoo.create("nade", channels=1, height=3, width=3, levels=2, hidden=6).double()
    x = torch.randint(0, 2, (4, 1, 3, 3))
    s, v = raster_dims(model.scale(x)), raster_dims(x).double()
    a, total = model.c.expand(4, -1).clone(), torch.zeros(4, dtype=torch.double)
    for d in range(9):
        p = torch.sigmoid(torch.sigmoid(a) @ model.V[d, 0] + model.b[d, 0])
        total += v[:, d] * p.log() + (1 - v[:, d]) * (1 - p).log()
        a = a + s[:, d : d + 1] * model.W[:, d]
    assert torch.allclose(model.log_prob(x), total)
