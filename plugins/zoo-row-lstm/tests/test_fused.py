"""The fused C++ recurrence and the PyTorch path: the same likelihood and gradients, and the contract on each.

The suite runs on the PyTorch path (the root conftest sets ``ZOO_NATIVE=0``, so no test builds the kernel
by accident); these tests switch the fused kernel on. The first of them builds it (about a minute on a busy
core, once: it is cached in torch's extensions folder), hence ``slow``.
"""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo import native
from zoo.testing import check_fused_path, check_model, check_normalised
from zoo_row_lstm import recurrence

pytestmark = pytest.mark.slow


@pytest.fixture
def fused(monkeypatch):
    """Switch the fused kernel on for the test (built on first use); skip only where there is no compiler."""
    monkeypatch.setenv("ZOO_NATIVE", "1")
    problem = native._missing_tools()
    if problem:
        pytest.skip(f"the fused kernel cannot be built here: {problem}")
    kernel = recurrence.fused_kernel()
    assert kernel is not None, "a compiler and ninja are here, yet the fused kernel did not build (see the log)"
    return kernel


def switch(monkeypatch):
    """``use_fused`` of :func:`zoo.testing.check_fused_path`: ZOO_NATIVE set for the rest of the test."""
    return lambda on: monkeypatch.setenv("ZOO_NATIVE", "1" if on else "0")


@pytest.mark.parametrize("channels,levels,height,width", [(1, 2, 6, 5), (3, 4, 4, 3), (1, 3, 1, 4)])
def test_fused_equals_the_pytorch_path_in_float64(fused, monkeypatch, channels, levels, height, width):
    torch.manual_seed(0)
    model = zoo.create(
        "row-lstm", channels=channels, levels=levels, height=height, width=width, hidden=6, layers=2, out_hidden=6
    )
    model = model.double()
    with torch.no_grad():  # random everything, so no gate sits at a convenient value
        for p in model.parameters():
            p.normal_(0, 0.5)
    x = torch.randint(0, levels, (3, channels, height, width))
    check_fused_path(model, x, switch(monkeypatch))


@pytest.mark.parametrize("use_fused", [True, False], ids=["fused", "pytorch"])
def test_contract_on_each_path(fused, monkeypatch, use_fused):
    monkeypatch.setenv("ZOO_NATIVE", "1" if use_fused else "0")
    check_model("row-lstm", channels=3, levels=3, height=4, width=4, hidden=6, layers=2, out_hidden=6)
    torch.manual_seed(0)
    check_normalised(zoo.create("row-lstm", height=3, width=3, levels=2, hidden=4, layers=2, out_hidden=4))


@pytest.mark.parametrize("name", ["row-lstm-digits-binarized", "row-lstm-digits"])
def test_bundled_models_give_the_same_nll_on_both_paths(fused, monkeypatch, name):
    model = zoo.load(name).eval()
    x = zoo.load_dataset(model.pretrained_info["dataset"], "test", limit=32).images.long()
    check_fused_path(model, x, switch(monkeypatch), grads=False)


def test_bundled_mnist_model_gives_the_same_nll_on_both_paths(fused, monkeypatch, real_data):
    model = zoo.load("row-lstm-binarized-mnist").eval()
    x = zoo.load_dataset("binarized-mnist", "test", limit=16, dynamic=True).images.long()
    check_fused_path(model, x, switch(monkeypatch), grads=False)


def test_bf16_autocast_runs_the_kernel_in_float32_and_trains(fused):
    torch.manual_seed(0)
    model = zoo.create("row-lstm", height=6, width=6, levels=2, hidden=8, layers=2, out_hidden=8)
    x = torch.randint(0, 2, (4, 1, 6, 6))
    with torch.autocast("cpu", torch.bfloat16):
        loss = model.loss(x)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())
    with torch.no_grad():
        exact = model.loss(x)
    assert abs(loss.item() - exact.item()) < 0.05 * exact.item()  # bf16 inputs, float32 recurrence
