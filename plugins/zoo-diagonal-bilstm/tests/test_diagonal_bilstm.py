"""Diagonal BiLSTM: the zoo contract, its full receptive field, the skew, and the exact fast sampler."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.testing import allowed_context, check_fast_sampler, check_model, check_normalised, receptive_field
from zoo_diagonal_bilstm import DiagonalBiLSTM, DiagonalBiLSTMSampler
from zoo_diagonal_bilstm.model import skew, unskew

SMALL = dict(height=6, width=6, hidden=12, layers=2, out_hidden=12)


@pytest.mark.parametrize("channels,levels", [(1, 4), (3, 5)])
def test_contract_and_causality(channels, levels):
    model = check_model("diagonal-bilstm", channels=channels, levels=levels, **SMALL)
    assert isinstance(model, DiagonalBiLSTM)


def test_probabilities_sum_to_one():
    torch.manual_seed(0)
    check_normalised(zoo.create("diagonal-bilstm", height=3, width=3, levels=2, hidden=4, layers=2, out_hidden=4))
    torch.manual_seed(0)
    check_normalised(zoo.create("diagonal-bilstm", channels=3, height=2, width=2, levels=2, hidden=6, out_hidden=6))


def test_skew_shifts_row_r_right_by_r_and_unskews_back():
    x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).view(2, 3, 4, 5) + 1
    s = skew(x)
    assert s.shape == (2, 3, 4, 5 + 4 - 1)
    for r in range(4):
        assert torch.equal(s[:, :, r, r : r + 5], x[:, :, r])
        assert (s[:, :, r, :r] == 0).all() and (s[:, :, r, r + 5 :] == 0).all()
    assert torch.equal(unskew(s, 5), x)


@pytest.mark.parametrize("channels", [1, 3])
def test_receptive_field_is_every_earlier_pixel_with_one_layer(channels):
    # 9 wide: the 7x7 input conv alone cannot reach the far corners, the LSTM must
    H, W = 7, 9
    torch.manual_seed(0)
    model = zoo.create(
        "diagonal-bilstm", channels=channels, height=H, width=W, levels=2, hidden=12, layers=1, out_hidden=12
    )
    for i, j in [(6, 8), (6, 0), (3, 4), (1, 8), (0, 5)]:
        for c in range(channels):
            field = receptive_field(model, i, j, c)
            assert torch.equal(field, allowed_context((channels, H, W), i, j, c)), (i, j, c)


@pytest.mark.parametrize("layers", [1, 2])
def test_paper_layout_misses_the_last_pixel_of_the_previous_row(layers):
    """full_context=False: (i-1, W-1) is out of reach of (i, j) for j < W-4, at any depth."""
    H, W = 7, 9
    torch.manual_seed(0)
    model = zoo.create(
        "diagonal-bilstm", height=H, width=W, levels=2, hidden=8, layers=layers, out_hidden=8, full_context=False
    )
    for i, j in [(6, 0), (3, 4), (6, 5), (6, 8)]:
        expected = allowed_context((1, H, W), i, j, 0)
        if j < W - 4:
            expected[0, i - 1, W - 1] = False
        assert torch.equal(receptive_field(model, i, j, 0), expected), (i, j)


def test_config_rejects_feature_counts_that_do_not_split_into_colours():
    with pytest.raises(ValueError, match="out_hidden=8 must be a multiple of channels=3"):
        zoo.create("diagonal-bilstm", channels=3, hidden=9, out_hidden=8)


@pytest.mark.parametrize("channels,levels", [(1, 3), (3, 4)])
def test_fast_sampler_is_exact_for_the_paper_layout_too(channels, levels):
    """check_model covers the default (full_context=True); the paper's layout has its own sweep."""
    torch.manual_seed(0)
    model = zoo.create(
        "diagonal-bilstm",
        channels=channels,
        levels=levels,
        height=5,
        width=6,
        hidden=12,
        layers=2,
        out_hidden=12,
        full_context=False,
    )
    assert isinstance(model.incremental_sampler(2), DiagonalBiLSTMSampler)
    check_fast_sampler(model)


def test_fast_sampler_refuses_steps_out_of_order():
    model = zoo.create("diagonal-bilstm", **SMALL).eval()
    sampler = model.incremental_sampler(1)
    x = torch.zeros(1, 1, 6, 6, dtype=torch.long)
    sampler.start(x)
    sampler.logits_at(x, 0, 0, 0)
    with pytest.raises(RuntimeError, match="raster order"):
        sampler.logits_at(x, 1, 0, 0)


def test_pretrained_entries():
    hub = {n: zoo.model_info(n) for n in ("diagonal-bilstm-binarized-mnist", "diagonal-bilstm-cifar10")}
    for name, info in hub.items():
        assert info["repo_id"] == f"zoo-models/{name}" and not info["published"]
        assert info["recipe"].startswith("zoo train diagonal-bilstm")
    assert "nothing is published yet" in hub["diagonal-bilstm-cifar10"]["description"]
    cifar, mnist = hub["diagonal-bilstm-cifar10"], hub["diagonal-bilstm-binarized-mnist"]
    assert cifar["sha256"] is None and cifar["where"] == "not published"
    assert mnist["where"] == "bundled" and len(mnist["sha256"]) == 64
