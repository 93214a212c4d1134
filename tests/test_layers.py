"""MaskedConv2d: mask A/B with colour groups, checked by gradients, not by reading the mask back."""

import pytest
import torch

from zoo.layers import MaskedConv2d, causal_mask, channel_groups, logits_from_features


def dependence(conv, C_in, H=5, W=5, i=2, j=2, out_channel=0):
    x = torch.randn(1, C_in, H, W, requires_grad=True)
    conv(x)[0, out_channel, i, j].backward()
    return x.grad[0].abs() > 0


@pytest.mark.parametrize("kind", ["A", "B"])
def test_grey_mask_sees_only_earlier_pixels(kind):
    torch.manual_seed(0)
    conv = MaskedConv2d(1, 4, 5, kind)
    seen = dependence(conv, 1)[0]
    expected = torch.zeros(5, 5, dtype=torch.bool)
    expected[:2, :] = True
    expected[2, :2] = True
    expected[2, 2] = kind == "B"
    assert torch.equal(seen, expected)


def test_colour_groups_mask_a_and_b():
    torch.manual_seed(0)
    a = MaskedConv2d(3, 6, 3, "A", colours=3)  # out groups: maps 0-1 R, 2-3 G, 4-5 B
    for out, visible in [(0, []), (2, [0]), (4, [0, 1])]:
        seen = dependence(a, 3, out_channel=out)[:, 2, 2]
        assert seen.nonzero().flatten().tolist() == visible
    b = MaskedConv2d(6, 6, 3, "B", colours=3)
    for out, visible in [(1, [0, 1]), (3, [0, 1, 2, 3]), (5, list(range(6)))]:
        seen = dependence(b, 6, out_channel=out)[:, 2, 2]
        assert seen.nonzero().flatten().tolist() == visible


def test_chunks_give_each_gate_its_own_groups():
    groups = channel_groups(12, 3, chunks=4)
    assert groups.tolist() == [0, 1, 2] * 4
    mask = causal_mask("B", 3, 12, (1, 3), colours=3, out_chunks=4)
    # the R map of every gate chunk sees only R at the centre
    for chunk in range(4):
        assert mask[chunk * 3, :, 0, 1].tolist() == [1, 0, 0]


def test_rows_kernel_and_errors():
    mask = causal_mask("B", 1, 1, (1, 3), colours=1)
    assert mask[0, 0, 0].tolist() == [1, 1, 0]
    with pytest.raises(ValueError, match="multiple of 3"):
        MaskedConv2d(4, 6, 3, "B", colours=3)
    with pytest.raises(ValueError, match="odd"):
        MaskedConv2d(1, 1, 2, "A")
    with pytest.raises(ValueError, match="'A' or 'B'"):
        MaskedConv2d(1, 1, 3, "C")


def test_mask_is_applied_functionally():
    conv = MaskedConv2d(1, 1, 3, "A")
    before = conv.weight.detach().clone()
    conv(torch.randn(1, 1, 4, 4))
    assert torch.equal(conv.weight, before)  # weights are never edited in place
    assert "mask" not in conv.state_dict()  # the mask is derived, not saved


def test_logits_layout():
    logits = logits_from_features(torch.randn(2, 3 * 5, 4, 4), colours=3, levels=5)
    assert logits.shape == (2, 5, 3, 4, 4)
    feats = torch.randn(1, 3 * 5, 1, 1)
    logits = logits_from_features(feats, colours=3, levels=5)
    assert torch.equal(logits[0, :, 1, 0, 0], feats[0, 5:10, 0, 0])


def test_conv_at_one_pixel_equals_the_full_conv():
    import zoo
    from zoo.layers import MaskedConvAtPixel

    torch.manual_seed(0)
    model = zoo.create("independent", channels=3, height=6, width=5, levels=4)  # provides scale()
    conv = MaskedConv2d(3, 6, 7, "A", colours=3)
    x = torch.randint(0, 4, (2, 3, 6, 5))
    full = conv(model.scale(x))
    at = MaskedConvAtPixel(model, conv)
    for i, j in [(0, 0), (2, 4), (5, 1), (5, 4)]:
        assert torch.allclose(at(x, i, j), full[:, :, i, j], atol=1e-6)
