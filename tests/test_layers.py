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


def reference_conv(conv, x):
    """What every MaskedConv2d computed before the kernel was cut: the full kernel times the mask."""
    import torch.nn.functional as F

    return F.conv2d(x, conv.weight * conv.mask, conv.bias, padding=conv.padding)


@pytest.mark.parametrize(
    "shape",
    [
        (1, 4, 7, "A", 1),
        (4, 4, 3, "B", 1),
        (6, 6, (1, 3), "B", 3),
        (6, 12, 1, "B", 3),
        (8, 4, 1, "B", 1),
        (3, 6, (1, 7), "A", 3),
        (6, 6, (3, 5), "B", 3),
    ],
)
def test_cut_kernel_gives_the_full_masked_conv_and_its_gradients(shape):
    cin, cout, k, kind, colours = shape
    torch.manual_seed(0)
    conv = MaskedConv2d(cin, cout, k, kind, colours)
    x = torch.randn(2, cin, 5, 6, requires_grad=True)
    for contiguous in (True, False):  # the 1x1 matrix-product path and the convolution path
        xi = x if contiguous else x.transpose(2, 3).contiguous().transpose(2, 3)
        fast, slow = conv(xi), reference_conv(conv, xi)
        assert fast.shape == slow.shape
        assert torch.allclose(fast, slow, atol=1e-5)
        g = torch.randn_like(fast)
        fast_grads = torch.autograd.grad(fast, [x, conv.weight, conv.bias], g)
        slow_grads = torch.autograd.grad(slow, [x, conv.weight, conv.bias], g)
        for a, b in zip(fast_grads, slow_grads):
            assert torch.allclose(a, b, atol=1e-5)
        assert (fast_grads[1][conv.mask == 0] == 0).all()  # masked weights get no gradient


def test_all_ones_masks_cost_nothing():
    assert MaskedConv2d(8, 4, 1, "B").cut_mask is None  # 1x1 of a one-colour model: no multiply
    assert MaskedConv2d(6, 6, 1, "B", colours=3).cut_mask is not None
    conv = MaskedConv2d(1, 4, 7, "A")
    assert conv.cut == (4, 7) and conv.cut_padding == (3, 3, 3, 0)  # rows below the centre are cut
    assert MaskedConv2d(4, 4, (1, 3), "B").cut == (1, 2)  # a one-row kernel also loses the right


def test_masked_weight_is_cached_without_autograd_until_the_weight_changes():
    torch.manual_seed(0)
    conv = MaskedConv2d(4, 4, 3, "B")
    with torch.no_grad():
        first = conv.masked_weight()
        assert conv.masked_weight() is first
    opt = torch.optim.SGD(conv.parameters(), lr=0.1)
    x = torch.randn(1, 4, 4, 4)
    for _ in range(2):  # with autograd: a fresh masked kernel per call, so backward works every step
        opt.zero_grad()
        conv(x).square().sum().backward()
        opt.step()
    with torch.no_grad():
        after_step = conv.masked_weight()
        assert after_step is not first and torch.equal(after_step, (conv.weight * conv.mask)[:, :, :2])
        conv.load_state_dict({"weight": torch.zeros_like(conv.weight), "bias": conv.bias.clone()})
        assert conv.masked_weight().abs().sum() == 0  # load_state_dict invalidates the cache
        assert torch.allclose(conv(x), reference_conv(conv, x))


def test_masked_layers_keep_their_saved_names():
    conv = MaskedConv2d(3, 6, 3, "B", colours=3)
    assert sorted(conv.state_dict()) == ["bias", "weight"]
    assert conv.state_dict()["weight"].shape == (6, 3, 3, 3)


def test_the_mask_is_all_ones_test_matches_the_mask_and_needs_no_values():
    """MaskedConv2d decides whether to multiply by its cut mask from the definition, not by reading the mask,
    so that it builds on the meta device (where load_folder sizes untrusted configs)."""
    import itertools

    from zoo.layers import MaskedConv2d

    for kind, colours, kh, kw in itertools.product("AB", (1, 3), (1, 3, 5), (1, 3, 7)):
        conv = MaskedConv2d(6, 12, (kh, kw), kind, colours=colours)
        cut = conv.mask[:, :, : conv.cut[0], : conv.cut[1]]
        assert (conv.cut_mask is None) == bool(cut.all()), (kind, colours, kh, kw)
        with torch.device("meta"):
            meta = MaskedConv2d(6, 12, (kh, kw), kind, colours=colours)
        assert (meta.cut_mask is None) == (conv.cut_mask is None) and meta.weight.is_meta
    with torch.device("meta"), pytest.raises(ValueError, match="cannot be split into 1 chunk"):
        MaskedConv2d(4, 12, 3, "B", colours=3)
