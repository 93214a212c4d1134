"""Row LSTM (van den Oord et al. 2016, section 3.1): an LSTM that runs down the image row by row.

Layout: 7x7 mask-A conv -> ``layers`` Row LSTM layers with residual connections ->
ReLU, 1x1 mask-B conv, ReLU, 1x1 mask-B conv -> ``levels``-way softmax per colour channel.

One Row LSTM layer computes the gates of a whole row at once:

* input-to-state: a (1, 3) mask-B conv of the layer input (the pixel and its left
  neighbour), computed for the whole image in one call;
* state-to-state: an unmasked 1-D conv (kernel 3) over the previous row's hidden state.
  Everything in the previous row precedes the current row, so no mask is needed.

The cell state runs straight down a column: ``c[r] = f * c[r-1] + i * g``. The receptive
field is a triangle above the pixel (plus the pixels to its left), not the full context.

Colours: every feature map belongs to a colour group (contiguous groups, see
:mod:`zoo.layers`), and each gate chunk i, f, o, g has its own group mask, so group g of the
hidden state only sees groups <= g at the same pixel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from zoo import AutoregressiveModel, ModelConfig
from zoo.layers import MaskedConv2d, logits_from_features, lstm_cell

__all__ = ["RowLSTMConfig", "RowLSTMLayer", "RowLSTM"]


class RowLSTMConfig(ModelConfig):
    """Image spec plus the network size; feature counts must split evenly into colour groups."""

    hidden: int = Field(32, ge=1, le=4096, description="feature maps of the input conv and of every LSTM layer")
    layers: int = Field(2, ge=1, le=256, description="number of Row LSTM layers")
    out_hidden: int = Field(64, ge=1, le=4096, description="feature maps of the first 1x1 output conv")

    colour_grouped = ("hidden", "out_hidden")


class RowLSTMLayer(nn.Module):
    """One Row LSTM layer: ``(B, h, H, W)`` features -> ``(B, h, H, W)`` hidden states."""

    def __init__(self, hidden: int, colours: int):
        super().__init__()
        self.hidden = hidden
        self.input_to_state = MaskedConv2d(hidden, 4 * hidden, (1, 3), "B", colours=colours, out_chunks=4)
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 3, padding=1, bias=False)
        with torch.no_grad():  # forget gate bias 1: remember by default, easier to train
            self.input_to_state.bias[hidden : 2 * hidden].fill_(1.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, _, H, W = x.shape
        gates_in = self.input_to_state(x)
        h = x.new_zeros(B, self.hidden, W)
        c = x.new_zeros(B, self.hidden, W)
        rows = []
        for r in range(H):
            h, c = lstm_cell(gates_in[:, :, r] + self.state_to_state(h), c)
            rows.append(h)
        return torch.stack(rows, dim=2)


class RowLSTM(AutoregressiveModel):
    """Row LSTM (PixelRNN): row-by-row LSTM layers between a mask-A input and mask-B output convs."""

    architecture = "row-lstm"
    papers = ("1601.06759",)  # Pixel Recurrent Neural Networks
    config_class = RowLSTMConfig

    def __init__(self, config: RowLSTMConfig):
        super().__init__(config)
        C, h = config.channels, config.hidden
        self.input_conv = MaskedConv2d(C, h, 7, "A", colours=C)
        self.lstm = nn.ModuleList(RowLSTMLayer(h, C) for _ in range(config.layers))
        self.out1 = MaskedConv2d(h, config.out_hidden, 1, "B", colours=C)
        self.out2 = MaskedConv2d(config.out_hidden, C * config.levels, 1, "B", colours=C)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        out = self.input_conv(self.scale(x))
        for layer in self.lstm:
            out = out + layer(out)
        return out

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.out2(F.relu(self.out1(F.relu(features))))

    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        return logits_from_features(self.head(self.features(x)), cfg.channels, cfg.levels)

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None):
        from .sampler import RowLSTMSampler

        return RowLSTMSampler(self)
