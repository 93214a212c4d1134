"""The diagonal LSTM recurrence as one autograd Function: both directions at once, one diagonal per step.

Two paths compute the same layer (:func:`diagonal_layer`): the fused C++ kernel of ``fused.cpp`` (every
diagonal of both directions in one call, one product for the input-to-state and state-to-state convs and
one vectorised gate loop per diagonal, backward through time in one more call), built at first use by
:mod:`zoo.native` and used on the CPU whenever it is available; and the PyTorch path below (a batched
input-to-state product, then :func:`diagonal_recurrence`), used on other devices, where no compiler is
found, or with ``ZOO_NATIVE=0``.
bf16 and fp16 inputs run the fused kernel in float32 and return their own dtype.

Why not the skewed map through autograd: the skew doubles the work (a 28x28 image becomes 28x55,
half of it padding), each of its W + H - 1 column steps records a dozen small nodes whose backward
costs several times their forward, indexing a column of the gates fills a zero tensor the size of
all the gates in backward, and the two directions run one after the other.

Here pixels are laid out diagonal by diagonal (row r, column k - r of diagonal k), so each step
works on the diagonal's real pixels only, as one contiguous slice; the directions are a batch
dimension of every product (``baddbmm``); backward runs the diagonals in reverse, and the
state-to-state weights' gradients are one large product over all pixels at the end.

Layout: gates ``(D, 4h, P * B)`` and states ``(D, h, P * B)`` with P = H * W pixels in each
direction's diagonal order (:func:`diagonal_order`), batch innermost. The state at (r, c) reads
the hidden states at (r - 1, c) ("above") and (r, c - 1) ("side"), and the cell state at (r, c - 1);
outside the image they are zero.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch.autograd.function import once_differentiable

from zoo import native

__all__ = ["diagonal_order", "diagonal_layer", "diagonal_recurrence", "fused_kernel"]

EXTENSION = "zoo_diagonal_bilstm_fused"


def fused_kernel():
    """The built C++ extension, or None (no compiler, a failed build, ``ZOO_NATIVE=0``): built at the first call."""
    return native.load_extension(EXTENSION, Path(__file__).with_name("fused.cpp"))


def _tanh_(x: torch.Tensor) -> torch.Tensor:
    """tanh in place, as ``2 * sigmoid(2x) - 1``: torch's CPU tanh runs about 9x slower than its sigmoid."""
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


@functools.lru_cache(maxsize=32)
def _order(H: int, W: int, flip: bool) -> tuple[torch.Tensor, tuple[int, ...]]:
    r = torch.arange(H).repeat_interleave(W)
    c = torch.arange(W).repeat(H)
    order = torch.argsort((r + c) * H + r)  # by diagonal, rows ascending within one
    pixels = r[order] * W + ((W - 1 - c[order]) if flip else c[order])
    return pixels, tuple(min(k, H - 1) - max(0, k - W + 1) + 1 for k in range(H + W - 1))


def diagonal_order(H: int, W: int, flip: bool, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pixels, inverse)``: raster indices of an ``H x W`` image in diagonal order, and the way back.

    ``flip`` orders the mirrored image (the right-to-left direction): its diagonal order lists the
    raster indices of the original pixels, so no flip is ever materialised.
    """
    pixels, _ = _order(H, W, flip)
    return pixels.to(device), torch.argsort(pixels).to(device)


class _DiagonalRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gates_in, w_above, w_side, height: int, width: int):
        D, G, PB = gates_in.shape
        hid, H, W = G // 4, height, width
        B = PB // (H * W)
        _, lengths = _order(H, W, False)
        with torch.autocast(gates_in.device.type, enabled=False):
            dt = gates_in.dtype
            wa, ws = w_above.to(dt), w_side.to(dt)
            acts = torch.empty_like(gates_in)  # sigmoid(i), sigmoid(f), sigmoid(o), tanh(g) per pixel
            above, side, c_side, tanh_c, out = (gates_in.new_empty(D, hid, PB) for _ in range(5))
            h_rows = gates_in.new_zeros(D, hid, H + 1, B)  # latest h and c of each row; slot 0 is row -1
            c_rows = gates_in.new_zeros(D, hid, H + 1, B)
            start = 0
            for k, n in enumerate(lengths):
                lo = max(0, k - W + 1)
                cols = slice(start * B, (start + n) * B)
                a, ab, sd, cs = acts[:, :, cols], above[:, :, cols], side[:, :, cols], c_side[:, :, cols]
                ab.view(D, hid, n, B).copy_(h_rows[:, :, lo : lo + n])
                sd.view(D, hid, n, B).copy_(h_rows[:, :, lo + 1 : lo + n + 1])
                cs.view(D, hid, n, B).copy_(c_rows[:, :, lo + 1 : lo + n + 1])
                torch.baddbmm(gates_in[:, :, cols], wa, ab, out=a)
                a.baddbmm_(ws, sd)
                a[:, : 3 * hid].sigmoid_()
                i, f, o, g = a.split(hid, dim=1)
                _tanh_(g)
                c = torch.addcmul(i * g, f, cs)
                c_rows[:, :, lo + 1 : lo + n + 1] = c.view(D, hid, n, B)
                tc = tanh_c[:, :, cols]
                _tanh_(tc.copy_(c))
                h = torch.mul(o, tc, out=out[:, :, cols])
                h_rows[:, :, lo + 1 : lo + n + 1] = h.view(D, hid, n, B)
                start += n
        ctx.save_for_backward(w_above, w_side, acts, above, side, c_side, tanh_c)
        ctx.shape = (H, W)
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out):
        w_above, w_side, acts, above, side, c_side, tanh_c = ctx.saved_tensors
        H, W = ctx.shape
        D, G, PB = acts.shape
        hid, B = G // 4, PB // (H * W)
        _, lengths = _order(H, W, False)
        with torch.autocast(acts.device.type, enabled=False):
            dt = acts.dtype
            d_out = d_out.to(dt)
            wa_t, ws_t = w_above.to(dt).transpose(1, 2), w_side.to(dt).transpose(1, 2)
            d_gates = torch.empty_like(acts)
            dh_rows = acts.new_zeros(D, hid, H + 1, B)  # gradients reaching each row's latest h and c
            dc_rows = acts.new_zeros(D, hid, H + 1, B)
            end = PB // B
            for k in reversed(range(len(lengths))):
                n = lengths[k]
                lo, start = max(0, k - W + 1), end - n
                cols, rows = slice(start * B, end * B), slice(lo + 1, lo + n + 1)
                i, f, o, g = acts[:, :, cols].split(hid, dim=1)
                tc = tanh_c[:, :, cols]
                dh = d_out[:, :, cols] + dh_rows[:, :, rows].reshape(D, hid, n * B)
                dc = dc_rows[:, :, rows].reshape(D, hid, n * B) + dh * o * (1 - tc * tc)
                s = acts[:, : 3 * hid, cols]
                sd_i, sd_f, sd_o = (s * (1 - s)).split(hid, dim=1)
                dg_k = d_gates[:, :, cols]
                di, df, do, dg = dg_k.split(hid, dim=1)
                torch.mul(dc * g, sd_i, out=di)
                torch.mul(dc * c_side[:, :, cols], sd_f, out=df)
                torch.mul(dh * tc, sd_o, out=do)
                torch.mul(dc * i, 1 - g * g, out=dg)
                dc_rows[:, :, rows] = (dc * f).view(D, hid, n, B)  # to the cell on the left (same rows)
                dh_rows[:, :, rows] = torch.bmm(ws_t, dg_k).view(D, hid, n, B)  # to the state on the left
                dh_rows[:, :, lo : lo + n] += torch.bmm(wa_t, dg_k).view(D, hid, n, B)  # to the state above
                end = start
            d_wa = torch.bmm(d_gates, above.transpose(1, 2)).to(w_above.dtype)
            d_ws = torch.bmm(d_gates, side.transpose(1, 2)).to(w_side.dtype)
        return d_gates, d_wa, d_ws, None, None


class _FusedDiagonalLayer(torch.autograd.Function):
    """:func:`diagonal_layer` in fused.cpp: float32 or float64 inside, the input's dtype outside."""

    @staticmethod
    def forward(ctx, inputs, w_in, bias, w_above, w_side, height: int, width: int, kernel):
        compute = torch.float64 if inputs.dtype == torch.float64 else torch.float32
        with torch.autocast(inputs.device.type, enabled=False):
            w = torch.cat([w_above, w_side, w_in], 2).to(compute).contiguous()  # (D, 4h, 2h + K)
            out, *saved = kernel.diagonal_forward(
                inputs.to(compute).contiguous(), bias.to(compute).contiguous(), w, height, width
            )
        ctx.save_for_backward(w, *saved)
        ctx.shape, ctx.kernel, ctx.dtype = (height, width), kernel, inputs.dtype
        ctx.w_dtypes = (w_in.dtype, bias.dtype, w_above.dtype, w_side.dtype)
        return out.to(inputs.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out):
        w, *saved = ctx.saved_tensors
        need_w = any(ctx.needs_input_grad[1:5])
        with torch.autocast(w.device.type, enabled=False):
            d_in, d_bias, d_w = ctx.kernel.diagonal_backward(
                d_out.to(w.dtype).contiguous(), w, *saved, *ctx.shape, need_w
            )
        grads = [None] * 4
        if need_w:
            hid = w.shape[1] // 4
            parts = (d_w[..., 2 * hid :], d_bias, d_w[..., :hid], d_w[..., hid : 2 * hid])
            grads = [g.to(dt) for g, dt in zip(parts, ctx.w_dtypes)]
        return (d_in.to(ctx.dtype), *grads, None, None, None)


FUSED_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def diagonal_recurrence(
    gates_in: torch.Tensor, w_above: torch.Tensor, w_side: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Gates ``(D, 4h, H*W*B)`` in diagonal order (i, f, o, g; input terms and bias) -> hidden states ``(D, h, H*W*B)``.

    ``w_above`` and ``w_side`` ``(D, 4h, h)``: each direction's state-to-state weights for the hidden
    state above and to the left. The PyTorch path (:func:`diagonal_layer` runs the fused kernel).
    """
    return _DiagonalRecurrence.apply(gates_in, w_above, w_side, height, width)


def diagonal_layer(
    inputs: torch.Tensor,
    w_in: torch.Tensor,
    bias: torch.Tensor,
    w_above: torch.Tensor,
    w_side: torch.Tensor,
    height: int,
    width: int,
) -> torch.Tensor:
    """Layer inputs ``(D, K, H*W*B)`` in diagonal order -> hidden states ``(D, h, H*W*B)``.

    The input-to-state 1x1 conv (``w_in`` ``(D, 4h, K)``, ``bias`` ``(D, 4h)``) then
    :func:`diagonal_recurrence`. On the CPU the fused kernel runs both when it can be built
    (:func:`fused_kernel`): each diagonal's input-to-state and state-to-state products are one product
    there. Else the PyTorch path.
    """
    if inputs.device.type == "cpu" and inputs.dtype in FUSED_DTYPES:
        kernel = fused_kernel()
        if kernel is not None:
            return _FusedDiagonalLayer.apply(inputs, w_in, bias, w_above, w_side, height, width, kernel)
    gates = torch.baddbmm(bias[:, :, None], w_in, inputs)
    return diagonal_recurrence(gates, w_above, w_side, height, width)
