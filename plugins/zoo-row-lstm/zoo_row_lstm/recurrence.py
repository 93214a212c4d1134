"""The Row LSTM recurrence as one autograd Function: row steps of one matrix product and in-place cell arithmetic.

Two paths compute the same thing: the fused C++ kernel of ``fused.cpp`` (every row of a layer in one call,
the gate arithmetic in one vectorised loop per row, backward through time in one more call), built at
first use by :mod:`zoo.native` and used on the CPU whenever it is available; and the PyTorch path below,
used on other devices, where no compiler is found, or with ``ZOO_NATIVE=0``. bf16 and fp16 inputs run the
fused kernel in float32 and return their own dtype.

Why a hand-written backward: run through autograd, each of the H row steps of each layer records a
dozen small nodes whose backward costs several times their forward (about 0.4 ms a step at the
paper's MNIST size, more than the step's matrix product), and the state-to-state weight's gradient
comes as H small products. Here backward runs the rows in reverse with one product per step
(the gradient of the previous row's hidden state) and computes the weight's gradient in one large
product over all rows at the end.

Layout: gates ``(4h, H, N)`` and states ``(H, h, N)`` with ``N = B * W`` (batch-major columns), so
every gate block of a row is one contiguous ``(h, N)`` matrix: elementwise kernels on strided
chunks run several times slower.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch.autograd.function import once_differentiable

from zoo import native

__all__ = ["row_recurrence", "fused_kernel", "tanh_"]

EXTENSION = "zoo_row_lstm_fused"


def fused_kernel():
    """The built C++ extension, or None (no compiler, a failed build, ``ZOO_NATIVE=0``): built at the first call."""
    return native.load_extension(EXTENSION, Path(__file__).with_name("fused.cpp"))


def tanh_(x: torch.Tensor) -> torch.Tensor:
    """tanh in place, as ``2 * sigmoid(2x) - 1``: torch's CPU tanh runs about 9x slower than its sigmoid."""
    return x.mul_(2).sigmoid_().mul_(2).sub_(1)


def _windows(h: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Previous-row states ``(h, ..., W)`` -> ``out`` ``(h, 3, ..., W)``: taps w-1, w, w+1 (out's edges stay 0)."""
    out[:, 0, ..., 1:] = h[..., :-1]
    out[:, 1] = h
    out[:, 2, ..., :-1] = h[..., 1:]
    return out


class _RowRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, gates_in: torch.Tensor, w_state: torch.Tensor, width: int) -> torch.Tensor:
        G, H, N = gates_in.shape
        hid, W, B = G // 4, width, N // width
        with torch.autocast(gates_in.device.type, enabled=False):
            w = w_state.to(gates_in.dtype)
            acts = gates_in.new_empty(H, G, N)  # sigmoid(i), sigmoid(f), sigmoid(o), tanh(g)
            cells, tanh_c, out = (gates_in.new_empty(H, hid, N) for _ in range(3))
            win = gates_in.new_zeros(hid, 3, B, W)
            for r in range(H):
                a = acts[r]
                if r == 0:  # the row above row 0 is zeros
                    a.copy_(gates_in[:, 0])
                else:
                    _windows(out[r - 1].view(hid, B, W), win)
                    torch.addmm(gates_in[:, r], w, win.view(3 * hid, N), out=a)
                a[: 3 * hid].sigmoid_()
                i, f, o, g = a.split(hid)
                tanh_(g)
                torch.mul(i, g, out=cells[r])
                if r:
                    cells[r].addcmul_(f, cells[r - 1])
                tanh_(tanh_c[r].copy_(cells[r]))
                torch.mul(o, tanh_c[r], out=out[r])
        ctx.save_for_backward(w_state, acts, cells, tanh_c, out)
        ctx.width = W
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out: torch.Tensor):
        w_state, acts, cells, tanh_c, out = ctx.saved_tensors
        H, hid, N = out.shape
        G, W, B = 4 * hid, ctx.width, N // ctx.width
        with torch.autocast(acts.device.type, enabled=False):
            d_out = d_out.to(acts.dtype)
            w_t = w_state.to(acts.dtype).t()
            d_gates = acts.new_empty(G, H, N)
            dh_rec, dc = acts.new_zeros(hid, N), acts.new_zeros(hid, N)
            for r in reversed(range(H)):
                i, f, o, g = acts[r].split(hid)
                tc = tanh_c[r]
                dh = d_out[r] + dh_rec
                dc += dh * o * (1 - tc * tc)
                s = acts[r, : 3 * hid]
                di, df, do, dg = d_gates[:, r].split(hid)
                sd_i, sd_f, sd_o = (s * (1 - s)).split(hid)
                torch.mul(dc * g, sd_i, out=di)
                if r:
                    torch.mul(dc * cells[r - 1], sd_f, out=df)
                else:
                    df.zero_()
                torch.mul(dh * tc, sd_o, out=do)
                torch.mul(dc * i, 1 - g * g, out=dg)
                dc *= f
                if r:  # fold the windows' gradient back onto the previous row's columns
                    d_win = (w_t @ d_gates[:, r]).view(hid, 3, B, W)
                    dh_rec = d_win[:, 1].clone()
                    dh_rec[..., :-1] += d_win[:, 0, :, 1:]
                    dh_rec[..., 1:] += d_win[:, 2, :, :-1]
                    dh_rec = dh_rec.view(hid, N)
            d_w = None
            if ctx.needs_input_grad[1]:
                d_w = torch.zeros_like(w_state)
                if H > 1:
                    prev = out[:-1].view(H - 1, hid, B, W).transpose(0, 1)
                    win = _windows(prev, acts.new_zeros(hid, 3, H - 1, B, W))
                    d_w = (d_gates[:, 1:].reshape(G, -1) @ win.view(3 * hid, -1).t()).to(w_state.dtype)
        return d_gates, d_w, None


class _FusedRowRecurrence(torch.autograd.Function):
    """The same recurrence in fused.cpp: float32 or float64 inside, the input's dtype outside."""

    @staticmethod
    def forward(ctx, gates_in: torch.Tensor, w_state: torch.Tensor, width: int, kernel) -> torch.Tensor:
        compute = torch.float64 if gates_in.dtype == torch.float64 else torch.float32
        with torch.autocast(gates_in.device.type, enabled=False):
            out, *saved = kernel.row_forward(gates_in.to(compute).contiguous(), w_state.to(compute).contiguous(), width)
        ctx.save_for_backward(w_state, *saved)
        ctx.width, ctx.kernel, ctx.dtype = width, kernel, gates_in.dtype
        return out.to(gates_in.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out: torch.Tensor):
        w_state, acts, *saved = ctx.saved_tensors
        with torch.autocast(acts.device.type, enabled=False):
            d_gates, d_w = ctx.kernel.row_backward(
                d_out.to(acts.dtype).contiguous(),
                w_state.to(acts.dtype).contiguous(),
                acts,
                *saved,
                ctx.width,
                ctx.needs_input_grad[1],
            )
        d_w = d_w.to(w_state.dtype) if ctx.needs_input_grad[1] else None
        return d_gates.to(ctx.dtype), d_w, None, None


FUSED_DTYPES = (torch.float32, torch.float64, torch.bfloat16, torch.float16)


def row_recurrence(gates_in: torch.Tensor, w_state: torch.Tensor, width: int) -> torch.Tensor:
    """Gates ``(4h, H, B*W)`` (i, f, o, g; input-to-state terms and bias) -> hidden states ``(H, h, B*W)``.

    ``w_state`` ``(4h, 3h)`` is the state-to-state Conv1d weight ``(4h, h, 3)`` flattened: row r's
    gates add ``w_state @ windows`` of row r - 1's states (columns w-1, w, w+1, zero outside).
    On the CPU the fused kernel runs it when it can be built (:func:`fused_kernel`), else the PyTorch path.
    """
    if gates_in.device.type == "cpu" and gates_in.dtype in FUSED_DTYPES:
        kernel = fused_kernel()
        if kernel is not None:
            return _FusedRowRecurrence.apply(gates_in, w_state, width, kernel)
    return _RowRecurrence.apply(gates_in, w_state, width)
