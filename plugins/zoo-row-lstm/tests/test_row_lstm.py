"""Row LSTM: the zoo contract, its triangular receptive field, and the exact fast sampler."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.testing import check_model, check_normalised, receptive_field
from zoo_row_lstm import RowLSTM, RowLSTMSampler

SMALL = dict(height=6, width=6, hidden=12, layers=2, out_hidden=12)


@pytest.mark.parametrize("channels,levels", [(1, 4), (3, 5)])
def test_contract_and_causality(channels, levels):
    model = check_model("row-lstm", channels=channels, levels=levels, **SMALL)  # includes fast == naive
    assert isinstance(model, RowLSTM) and isinstance(model.incremental_sampler(1), RowLSTMSampler)


def test_probabilities_sum_to_one():
    torch.manual_seed(0)
    check_normalised(zoo.create("row-lstm", height=3, width=3, levels=2, hidden=4, layers=2, out_hidden=4))
    torch.manual_seed(0)
    check_normalised(zoo.create("row-lstm", channels=3, height=2, width=2, levels=2, hidden=6, out_hidden=6))


def expected_field(H, W, i, j, layers):
    """Input pixels a Row LSTM reaches from (i, j), derived from the paper's description.

    One layer at (r, s) reads its input at (r, s-1), (r, s) (the (1, 3) mask-B conv) and,
    through h and c, the previous row at columns s-1..s+1: so the input rows r-k at columns
    s-1-k .. s+k. Layers compose; the 7x7 mask-A conv then adds its half-kernel.
    """
    feats = {(i, j)}
    for _ in range(layers):
        feats = {(r - k, t) for r, s in feats for k in range(r + 1) for t in range(s - 1 - k, s + k + 1)}
    field = torch.zeros(1, H, W, dtype=torch.bool)
    for r, s in feats:
        for dr in range(-3, 1):
            for ds in range(-3, 4):
                if (dr < 0 or ds < 0) and 0 <= r + dr < H and 0 <= s + ds < W:
                    field[0, r + dr, s + ds] = True
    return field


@pytest.mark.parametrize("layers", [1, 2])
def test_receptive_field_is_the_triangle_above(layers):
    H, W = 9, 16
    torch.manual_seed(0)
    model = zoo.create("row-lstm", height=H, width=W, levels=2, hidden=4, layers=layers, out_hidden=4)
    for i, j in [(8, 8), (8, 0), (5, 15), (0, 3)]:
        field = receptive_field(model, i, j, 0)
        assert torch.equal(field, expected_field(H, W, i, j, layers)), (i, j)
    # not the full context: far right of rows well above is out of reach
    assert not receptive_field(model, 8, 0, 0)[0, 0, 15]


def test_config_rejects_feature_counts_that_do_not_split_into_colours():
    with pytest.raises(ValueError, match="hidden=10 must be a multiple of channels=3"):
        zoo.create("row-lstm", channels=3, hidden=10)


def test_fast_sampler_refuses_steps_out_of_order():
    model = zoo.create("row-lstm", **SMALL).eval()
    sampler = model.incremental_sampler(1)
    x = torch.zeros(1, 1, 6, 6, dtype=torch.long)
    sampler.start(x)
    with pytest.raises(RuntimeError, match="raster order"):
        sampler.logits_at(x, 0, 1, 0)


def test_pretrained_entries():
    hub = {n: zoo.model_info(n) for n in ("row-lstm-binarized-mnist", "row-lstm-cifar10")}
    for name, info in hub.items():
        assert info["repo_id"] == f"zoo-models/{name}" and not info["published"]
        assert info["recipe"].startswith("zoo train row-lstm")
    assert "nothing is published yet" in hub["row-lstm-cifar10"]["description"]
    cifar, mnist = hub["row-lstm-cifar10"], hub["row-lstm-binarized-mnist"]
    assert cifar["sha256"] is None and cifar["where"] == "not published"
    assert mnist["where"] == "bundled" and len(mnist["sha256"]) == 64
