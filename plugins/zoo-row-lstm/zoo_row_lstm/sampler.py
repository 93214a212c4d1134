"""Fast exact sampling for the Row LSTM: carry each layer's row state, compute one pixel per step.

A Row LSTM layer's gates at pixel (i, j) are ``input_to_state`` of the layer input at
(i, j-1) and (i, j) plus ``state_to_state`` of the previous row's hidden state. So the
sampler keeps, per layer, the previous row's h and c and the current row's layer inputs.
At the start of a row it runs the state-to-state conv once for the whole row; each
(pixel, channel) step then costs one 7x7 patch product, a few small matrix products per
layer and the 1x1 head for that pixel alone: O(layers) work instead of a full forward pass
(C*H*W of which make the naive sampler).

The step for the last channel of a pixel sees every channel the masks let that pixel's
features see (mask A never sees the centre pixel's last channel), so its states are the
final ones and are committed to the row buffers.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.layers import MaskedConvAtPixel, OutputHeadAtPixel, PixelWindowCache, lstm_cell

__all__ = ["RowLSTMSampler"]


class RowLSTMSampler:
    """Incremental sampler (protocol in :mod:`zoo.sampling`); steps must come in raster order."""

    def __init__(self, model):
        self.model = model
        self.input_conv = MaskedConvAtPixel(model, model.input_conv)
        cfg = model.config
        self.C, self.W, self.levels = cfg.channels, cfg.width, cfg.levels
        self.layers = []
        for layer in model.lstm:
            w = layer.input_to_state.weight * layer.input_to_state.mask
            self.layers.append((w[:, :, 0, 0], w[:, :, 0, 1], layer.input_to_state.bias, layer.state_to_state))
        self.head = OutputHeadAtPixel(model.out1, model.out2, self.C, self.levels)

    def start(self, x: torch.Tensor) -> None:
        n, h = x.shape[0], self.model.config.hidden
        zeros = lambda: x.new_zeros(n, h, self.W, dtype=self.model.dtype)  # noqa: E731
        L = len(self.layers)
        self.h_prev, self.c_prev = [zeros() for _ in range(L)], [zeros() for _ in range(L)]
        self.h_row, self.c_row = [zeros() for _ in range(L)], [zeros() for _ in range(L)]
        self.inputs = [zeros() for _ in range(L)]  # layer inputs of the current row
        self.state_gates = None
        self.expected = (0, 0, 0)
        self.window = None  # the position-indexed steps' buffers, made at their first step

    def logits_at(self, x: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        if (i, j, c) != self.expected:
            raise RuntimeError(
                f"RowLSTMSampler steps must come in raster order: expected {self.expected}, got {(i, j, c)}"
            )
        last = c == self.C - 1
        if j == 0 and c == 0:
            self.state_gates = [layer[3](h) for layer, h in zip(self.layers, self.h_prev)]
        feats = self.input_conv(x, i, j)
        for k, (w_left, w_centre, bias, _) in enumerate(self.layers):
            gates = F.linear(feats, w_centre, bias) + self.state_gates[k][:, :, j]
            if j > 0:
                gates = gates + F.linear(self.inputs[k][:, :, j - 1], w_left)
            h, cell = lstm_cell(gates, self.c_prev[k][:, :, j])
            if last:
                self.inputs[k][:, :, j] = feats
                self.h_row[k][:, :, j] = h
                self.c_row[k][:, :, j] = cell
            feats = feats + h
        logits = self.head(feats, c)
        if last and j == self.W - 1:
            self.h_prev, self.h_row = self.h_row, self.h_prev
            self.c_prev, self.c_row = self.c_row, self.c_prev
        self.expected = (i, j, c + 1) if not last else ((i, j + 1, 0) if j < self.W - 1 else (i + 1, 0, 0))
        return logits

    # -- the same steps with the position in a device tensor (zoo.sampling replays them as CUDA graphs) ---
    # Row buffers are copied at each row start instead of swapped, the left neighbour's layer input
    # is read from a buffer with a zero column in front (so column 0 needs no branch), and the 7x7
    # input window comes from a PixelWindowCache.

    def _start_positions(self, x: torch.Tensor) -> None:
        n, (C, H, W), h = x.shape[0], self.model.config.shape, self.model.config.hidden
        r = self.input_conv.ci
        self.window = PixelWindowCache(n, C, H, W, r, x.device)
        self.column = torch.arange(W, device=x.device).repeat(H)  # raster index -> column
        self.inputs_left = [x.new_zeros(n, h, W + 1, dtype=torch.float32) for _ in self.layers]
        self.state_gates = [x.new_zeros(n, 4 * h, W, dtype=torch.float32) for _ in self.layers]

    def _pixel(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        n, C = x.shape[:2]
        return self.model.scale(x.view(n, C, -1).index_select(2, pos.view(1)))

    def start_row_at_position(self, x: torch.Tensor, pos: torch.Tensor) -> None:
        for k, layer in enumerate(self.layers):
            self.h_prev[k].copy_(self.h_row[k])
            self.c_prev[k].copy_(self.c_row[k])
            self.state_gates[k].copy_(layer[3](self.h_prev[k]))

    def logits_at_position(self, x: torch.Tensor, pos: torch.Tensor, c: int) -> torch.Tensor:
        if self.window is None:  # the first step (row 0's buffers start at zero, as in start())
            self._start_positions(x)
        last, j = c == self.C - 1, self.column.index_select(0, pos.view(1))
        self.window.write(self._pixel(x, pos), pos)
        feats = F.linear(self.window.patch(pos), self.input_conv.weight, self.input_conv.bias)
        for k, (w_left, w_centre, bias, _) in enumerate(self.layers):
            gates = F.linear(feats, w_centre, bias) + self.state_gates[k].index_select(2, j)[:, :, 0]
            gates = gates + F.linear(self.inputs_left[k].index_select(2, j)[:, :, 0], w_left)  # zeros at j = 0
            h, cell = lstm_cell(gates, self.c_prev[k].index_select(2, j)[:, :, 0])
            if last:
                self.inputs_left[k].index_copy_(2, j + 1, feats[:, :, None])
                self.h_row[k].index_copy_(2, j, h[:, :, None])
                self.c_row[k].index_copy_(2, j, cell[:, :, None])
            feats = feats + h
        return self.head(feats, c)

    def commit(self, x: torch.Tensor, pos: torch.Tensor) -> None:
        self.window.write(self._pixel(x, pos), pos)
