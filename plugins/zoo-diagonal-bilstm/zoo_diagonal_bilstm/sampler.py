"""Fast exact sampling for the Diagonal BiLSTM: both directions carried incrementally.

The scheme (exact, O(layers) small products per pixel and channel):

* Left to right, the diagonal LSTM's state at (i, j) needs only the layer input at (i, j)
  and the states at (i, j-1) (hidden and cell) and (i-1, j) (hidden). Those are known
  when pixel (i, j) is sampled, so each (pixel, channel) step computes this direction for
  one pixel per layer; the skew is never materialised.
* Right to left, the state at (i, j) needs the rest of row i, but the layer adds it only
  one row further down. So nothing of it is needed until row i is finished: at the first
  step of row i + 1, one right-to-left sweep of W small steps per layer computes row i's
  states from the row's (now final) layer inputs (and, with ``full_context``, the image
  row), and they serve the whole of row i + 1.

So a full image costs about one forward pass in total, instead of one per pixel and channel
(C*H*W) for the naive sampler, and the samples are the naive ones (the sums are the same up
to float rounding). The step for the last channel of a pixel sees every channel the masks
let that pixel's features see, so its states are the final ones and are committed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.layers import MaskedConvAtPixel, OutputHeadAtPixel, PixelWindowCache, lstm_cell

__all__ = ["DiagonalBiLSTMSampler"]


def _direction(lstm):
    """(input weight, input bias, weight from above, weight from the side) of one direction."""
    w_in = (lstm.input_to_state.weight * lstm.input_to_state.mask)[:, :, 0, 0]
    w_ss = lstm.state_to_state.weight
    return w_in, lstm.input_to_state.bias, w_ss[:, :, 0], w_ss[:, :, 1]


class DiagonalBiLSTMSampler:
    """Incremental sampler (protocol in :mod:`zoo.sampling`); steps must come in raster order."""

    def __init__(self, model):
        self.model = model
        self.input_conv = MaskedConvAtPixel(model, model.input_conv)
        cfg = model.config
        self.C, self.W, self.levels, self.hidden = cfg.channels, cfg.width, cfg.levels, cfg.hidden
        self.l2r = [_direction(layer.left_to_right) for layer in model.lstm]
        self.r2l = [_direction(layer.right_to_left) for layer in model.lstm]
        first = model.lstm[0].image_to_state
        self.w_image = None if first is None else first.weight[:, :, 0, 0]
        self.head = OutputHeadAtPixel(model.out1, model.out2, self.C, self.levels)

    def start(self, x: torch.Tensor) -> None:
        n = x.shape[0]
        L = len(self.l2r)
        zeros = lambda: x.new_zeros(n, self.hidden, self.W, dtype=self.model.dtype)  # noqa: E731
        self.inputs = [zeros() for _ in range(L)]  # layer inputs of the current row
        self.h_left = [zeros() for _ in range(L)]  # left-to-right h and c of the current row
        self.c_left = [zeros() for _ in range(L)]
        self.h_above = [zeros() for _ in range(L)]  # left-to-right h of the previous row
        self.r2l_above = [zeros() for _ in range(L)]  # right-to-left h of the previous row
        self.zero = x.new_zeros(n, self.hidden, dtype=self.model.dtype)
        self.expected = (0, 0, 0)
        self.window = None  # the position-indexed steps' buffers, made at their first step

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        if (i, j, c) != self.expected:
            raise RuntimeError(
                f"DiagonalBiLSTMSampler steps must come in raster order: expected {self.expected}, got {(i, j, c)}"
            )
        last = c == self.C - 1
        if i > 0 and j == 0 and c == 0:
            self._finish_row(x, i - 1)
        feats = self.input_conv(x, i, j)
        for k, (w_in, b_in, w_above, w_side) in enumerate(self.l2r):
            gates = F.linear(feats, w_in, b_in) + F.linear(self.h_above[k][:, :, j], w_above)
            h_side, c_side = (self.h_left[k][:, :, j - 1], self.c_left[k][:, :, j - 1]) if j else (self.zero, self.zero)
            h, cell = lstm_cell(gates + F.linear(h_side, w_side), c_side)
            if last:
                self.inputs[k][:, :, j] = feats
                self.h_left[k][:, :, j] = h
                self.c_left[k][:, :, j] = cell
            feats = feats + h + self.r2l_above[k][:, :, j]
        logits = self.head(feats, c)
        self.expected = (i, j, c + 1) if not last else ((i, j + 1, 0) if j < self.W - 1 else (i + 1, 0, 0))
        return logits

    def _finish_row(self, x: torch.Tensor, i: int) -> None:
        """Run every layer's right-to-left LSTM over the finished row i; roll the row buffers."""
        for k, (w_in, b_in, w_above, w_side) in enumerate(self.r2l):
            gates_in = torch.einsum("gh,nhw->ngw", w_in, self.inputs[k]) + b_in[:, None]
            if k == 0 and self.w_image is not None:
                gates_in = gates_in + torch.einsum("gc,ncw->ngw", self.w_image, self.model.scale(x[:, :, i]))
            above = self.r2l_above[k]
            row = torch.empty_like(above)
            h, cell = self.zero, self.zero
            for j in range(self.W - 1, -1, -1):
                gates = gates_in[:, :, j] + F.linear(above[:, :, j], w_above) + F.linear(h, w_side)
                h, cell = lstm_cell(gates, cell)
                row[:, :, j] = h
            self.r2l_above[k] = row
        self.h_above, self.h_left = self.h_left, self.h_above

    # -- the same steps with the position in a device tensor (zoo.sampling replays them as CUDA graphs) ---
    # The left neighbour's h and c come from buffers with a zero column in front (column 0 needs
    # no branch), rows are finished in place by the row hook (the right-to-left pass reads column
    # j of the row above before it writes it), and the 7x7 input window is a PixelWindowCache.

    def _start_positions(self, x: torch.Tensor) -> None:
        n, (C, H, W) = x.shape[0], self.model.config.shape
        self.window = PixelWindowCache(n, C, H, W, self.input_conv.ci, x.device)
        self.column = torch.arange(W, device=x.device).repeat(H)  # raster index -> column
        padded = lambda: x.new_zeros(n, self.hidden, W + 1, dtype=torch.float32)  # noqa: E731
        self.h_left_pad = [padded() for _ in self.l2r]
        self.c_left_pad = [padded() for _ in self.l2r]

    def _pixel(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        n, C = x.shape[:2]
        return self.model.scale(x.view(n, C, -1).index_select(2, pos.view(1)))

    def logits_at_position(self, x: torch.Tensor, pos: torch.Tensor, c: int) -> torch.Tensor:
        if self.window is None:
            self._start_positions(x)
        last, j = c == self.C - 1, self.column.index_select(0, pos.view(1))
        self.window.write(self._pixel(x, pos), pos)
        feats = F.linear(self.window.patch(pos), self.input_conv.weight, self.input_conv.bias)
        for k, (w_in, b_in, w_above, w_side) in enumerate(self.l2r):
            at = lambda t: t.index_select(2, j)[:, :, 0]  # noqa: E731
            gates = F.linear(feats, w_in, b_in) + F.linear(at(self.h_above[k]), w_above)
            h_side, c_side = at(self.h_left_pad[k]), at(self.c_left_pad[k])  # column j - 1, zeros at j = 0
            h, cell = lstm_cell(gates + F.linear(h_side, w_side), c_side)
            if last:
                self.inputs[k].index_copy_(2, j, feats[:, :, None])
                self.h_left_pad[k].index_copy_(2, j + 1, h[:, :, None])
                self.c_left_pad[k].index_copy_(2, j + 1, cell[:, :, None])
            feats = feats + h + at(self.r2l_above[k])
        return self.head(feats, c)

    def commit(self, x: torch.Tensor, pos: torch.Tensor) -> None:
        self.window.write(self._pixel(x, pos), pos)

    def start_row_at_position(self, x: torch.Tensor, pos: torch.Tensor) -> None:
        """:meth:`_finish_row` for the row above ``pos`` (the first pixel of a row after the first)."""
        n, (C, H, W) = x.shape[0], self.model.config.shape
        for k, (w_in, b_in, w_above, w_side) in enumerate(self.r2l):
            gates_in = torch.einsum("gh,nhw->ngw", w_in, self.inputs[k]) + b_in[:, None]
            if k == 0 and self.w_image is not None:
                row = x.view(n, C, H, W).index_select(2, (pos // W - 1).view(1))[:, :, 0]
                gates_in = gates_in + torch.einsum("gc,ncw->ngw", self.w_image, self.model.scale(row))
            above = self.r2l_above[k]  # overwritten in place: column j is read before it is written
            h, cell = self.zero, self.zero
            for j in range(W - 1, -1, -1):
                gates = gates_in[:, :, j] + F.linear(above[:, :, j], w_above) + F.linear(h, w_side)
                h, cell = lstm_cell(gates, cell)
                above[:, :, j] = h
            self.h_above[k].copy_(self.h_left_pad[k][:, :, 1:])
