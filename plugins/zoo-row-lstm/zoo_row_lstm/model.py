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
from zoo.layers import MaskedConv2d, logits_from_features

from .recurrence import row_recurrence

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
        return self.rows(x.permute(2, 1, 0, 3)).permute(2, 1, 0, 3)

    def rows(self, x: torch.Tensor) -> torch.Tensor:
        """The layer in the recurrence's layout: ``(H, h, B, W)`` -> ``(H, h, B, W)``.

        The input-to-state conv is one matrix product over the whole image (its cut mask-B
        kernel reads the pixel to the left and the pixel itself); :func:`row_recurrence` does
        the rows. The model keeps its features in this layout between layers.
        """
        H, hid, B, W = x.shape
        x = x.transpose(0, 1)  # (h, H, B, W)
        taps = torch.cat([F.pad(x[..., :-1], (1, 0)), x])  # (2h, H, B, W): left neighbours, then the pixels
        w_in = self.input_to_state.masked_weight()[:, :, 0].transpose(1, 2).reshape(4 * hid, 2 * hid)
        gates_in = torch.addmm(self.input_to_state.bias[:, None], w_in, taps.view(2 * hid, -1))
        w_state = self.state_to_state.weight.reshape(4 * hid, 3 * hid)
        return row_recurrence(gates_in.view(4 * hid, H, B * W), w_state, W).view(H, hid, B, W)


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
        out = self.input_conv(self.scale(x)).permute(2, 1, 0, 3)  # (H, h, B, W): see RowLSTMLayer.rows
        for layer in self.lstm:
            out = out + layer.rows(out)
        return out.permute(2, 1, 0, 3)

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.out2(F.relu(self.out1(F.relu(features))))

    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        return logits_from_features(self.head(self.features(x)), cfg.channels, cfg.levels)

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None):
        from .sampler import RowLSTMSampler

        return RowLSTMSampler(self)
