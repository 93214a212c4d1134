"""FVSBN: contract kit on grey and colour images, exact fast sampling, class conditioning."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.testing import allowed_context, check_class_conditioning, check_model, receptive_field


@pytest.mark.parametrize(
    "shape",
    [dict(channels=1, height=3, width=3, levels=2), dict(channels=3, height=2, width=2, levels=3)],
    ids=["grey", "colour"],
)
def test_contract(shape):
    check_model("fvsbn", **shape)


def test_class_conditioning():
    check_class_conditioning(zoo.create("fvsbn", channels=1, height=3, width=3, levels=3, num_classes=3))


def test_sees_every_earlier_dimension():
    model = zoo.create("fvsbn", channels=2, height=4, width=4, levels=2)
    with torch.no_grad():
        model.weight.normal_()
    field = receptive_field(model, 2, 1, 1)
    assert torch.equal(field, allowed_context((2, 4, 4), 2, 1, 1))


def test_the_binary_head_is_a_logistic_regression():
    model = zoo.create("fvsbn", channels=1, height=2, width=2, levels=2)
    with torch.no_grad():
        model.bias.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
    x = torch.zeros(1, 1, 2, 2, dtype=torch.long)
    expected = torch.nn.functional.logsigmoid(-model.bias).sum()
    assert torch.allclose(model.log_prob(x)[0], expected)
