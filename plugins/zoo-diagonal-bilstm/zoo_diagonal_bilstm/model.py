"""Diagonal BiLSTM (van den Oord et al. 2016, section 3.2): LSTMs that sweep the image diagonal by diagonal.

Layout: 7x7 mask-A conv -> ``layers`` Diagonal BiLSTM layers with residual connections ->
ReLU, 1x1 mask-B conv, ReLU, 1x1 mask-B conv -> ``levels``-way softmax per colour channel.

One direction of a layer:

* skew the map: row r moves right by r, so width W becomes W + H - 1 and every column of
  the skewed map is one diagonal of the image;
* input-to-state: a 1x1 mask-B conv (computed before skewing; the skew pads with zeros);
* state-to-state: a 2x1 conv down the previous column (with a zero row on top), so the
  state at (r, j) reads the hidden states at (r - 1, j) and (r, j - 1); the cell state comes
  from (r, j - 1);
* unskew.

The second direction runs right to left (flip, run, flip back). Its state at (r, j) has seen
the rest of row r, so its output is shifted down one row before it is added: pixel (r, j)
gets the right-to-left state of (r - 1, j), which has seen only earlier rows.

A blind spot of the paper's layout, found by the receptive-field test: the last pixel of a
row, (r, W-1), enters the network only through features *after* it, and those are either in
row r + 1 within reach of the 7x7 input conv (columns >= W-4) or further right/down. The
left-to-right direction never looks right and the right-to-left one is fed features of row r,
none of which has seen (r, W-1). So pixels (r+1, j < W-4) never see it, at any depth. With
``full_context`` (the default) the first layer's right-to-left LSTM also reads the image row
itself through a 1x1 conv: causal, since that direction's row r is used only from row r + 1
on, and it makes the receptive field every earlier pixel. ``full_context=False`` is the
paper's layout.

The code does not build the skewed map: :mod:`.recurrence` walks each direction's pixels in
diagonal order (the skewed map's columns without their padding), both directions in one loop;
:func:`skew` and :func:`unskew` remain as the description and the tests' reference.

Zero padding keeps the skewed padding cells at exactly zero state (input 0, no bias on the
state-to-state conv: all gates 0, g = tanh(0) = 0), so nothing leaks in from them.

Colours: each gate chunk i, f, o, g of the input-to-state conv has its own colour-group mask
(contiguous groups, see :mod:`zoo.layers`). The state-to-state conv is unmasked: it reads
only pixels before the current one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from zoo import AutoregressiveModel, ModelConfig
from zoo.layers import MaskedConv2d, logits_from_features

from .recurrence import diagonal_layer, diagonal_order, diagonal_recurrence

__all__ = ["DiagonalBiLSTMConfig", "DiagonalLSTM", "DiagonalBiLSTMLayer", "DiagonalBiLSTM", "skew", "unskew"]


class DiagonalBiLSTMConfig(ModelConfig):
    """Image spec plus the network size; feature counts must split evenly into colour groups."""

    hidden: int = Field(32, ge=1, le=4096, description="feature maps of the input conv and of every LSTM direction")
    layers: int = Field(1, ge=1, le=256, description="number of Diagonal BiLSTM layers")
    out_hidden: int = Field(64, ge=1, le=4096, description="feature maps of the first 1x1 output conv")
    full_context: bool = Field(
        True,
        description="feed the image row to the first right-to-left LSTM, closing the paper layout's blind spot "
        "(the last pixel of each row); False is the paper's layout",
    )

    colour_grouped = ("hidden", "out_hidden")


def skew(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` -> ``(B, C, H, W + H - 1)`` with row r shifted right by r (zeros elsewhere)."""
    B, C, H, W = x.shape
    return F.pad(x, (0, H)).flatten(2)[:, :, : H * (W + H - 1)].view(B, C, H, W + H - 1)


def unskew(x: torch.Tensor, width: int) -> torch.Tensor:
    """Inverse of :func:`skew`: ``(B, C, H, W + H - 1)`` -> ``(B, C, H, W)``."""
    B, C, H, _ = x.shape
    return F.pad(x.flatten(2), (0, H)).view(B, C, H, width + H)[:, :, :, :width]


class DiagonalLSTM(nn.Module):
    """One left-to-right diagonal LSTM: ``(B, h, H, W)`` -> ``(B, h, H, W)`` hidden states."""

    def __init__(self, hidden: int, colours: int):
        super().__init__()
        self.hidden = hidden
        self.input_to_state = MaskedConv2d(hidden, 4 * hidden, 1, "B", colours=colours, out_chunks=4)
        # weight[..., 0] reads the pixel above, weight[..., 1] the pixel to the left
        self.state_to_state = nn.Conv1d(hidden, 4 * hidden, 2, bias=False)
        with torch.no_grad():  # forget gate bias 1: remember by default, easier to train
            self.input_to_state.bias[hidden : 2 * hidden].fill_(1.0)

    def forward(self, x: torch.Tensor, extra: torch.Tensor | None = None) -> torch.Tensor:
        """``extra``: more input-to-state terms ``(B, 4h, H, W)``."""
        B, _, H, W = x.shape
        pixels, inverse = diagonal_order(H, W, False, x.device)
        gates = F.conv2d(x, self.input_to_state.masked_weight(), self.input_to_state.bias)
        gates = gates if extra is None else gates + extra
        gates = gates.permute(1, 2, 3, 0).reshape(1, 4 * self.hidden, H * W, B).index_select(2, pixels)
        w = self.state_to_state.weight
        out = diagonal_recurrence(gates.view(1, 4 * self.hidden, -1), w[None, :, :, 0], w[None, :, :, 1], H, W)
        return out.view(self.hidden, H * W, B).index_select(1, inverse).view(self.hidden, H, W, B).permute(3, 0, 1, 2)


class DiagonalBiLSTMLayer(nn.Module):
    """Both directions; the right-to-left output is shifted down one row before the sum.

    With ``image_channels`` the right-to-left direction also reads the (scaled) image
    through an unmasked 1x1 conv; see the module docstring for why that is causal.
    """

    def __init__(self, hidden: int, colours: int, image_channels: int = 0):
        super().__init__()
        self.left_to_right = DiagonalLSTM(hidden, colours)
        self.right_to_left = DiagonalLSTM(hidden, colours)
        self.image_to_state = nn.Conv2d(image_channels, 4 * hidden, 1, bias=False) if image_channels else None

    def forward(self, x: torch.Tensor, image: torch.Tensor | None = None) -> torch.Tensor:
        """Both directions as one :func:`diagonal_layer` with a direction batch dimension.

        The input-to-state convs (1x1) are one batched product over the pixels gathered in each
        direction's diagonal order (the right-to-left one's is the mirrored image's, so nothing
        is flipped); the image, when read, is a few more input channels whose left-to-right
        weights are zero.
        """
        B, hid, H, W = x.shape
        l2r, r2l = self.left_to_right, self.right_to_left
        pixels_l, inverse_l = diagonal_order(H, W, False, x.device)
        pixels_r, inverse_r = diagonal_order(H, W, True, x.device)
        inputs = x.permute(1, 2, 3, 0).reshape(hid, H * W, B)
        w_l, w_r = (d.input_to_state.masked_weight()[:, :, 0, 0] for d in (l2r, r2l))
        if self.image_to_state is not None:
            if image is None:
                raise ValueError("this layer reads the image row: pass image=")
            C = image.shape[1]
            inputs = torch.cat([inputs, image.permute(1, 2, 3, 0).reshape(C, H * W, B)])
            w_image = self.image_to_state.weight[:, :, 0, 0]
            w_l, w_r = torch.cat([w_l, torch.zeros_like(w_image)], 1), torch.cat([w_r, w_image], 1)
        inputs = inputs.index_select(1, torch.cat([pixels_l, pixels_r])).view(-1, 2, H * W * B).transpose(0, 1)
        bias = torch.stack([l2r.input_to_state.bias, r2l.input_to_state.bias])
        w_ss = torch.stack([l2r.state_to_state.weight, r2l.state_to_state.weight])
        out = diagonal_layer(inputs, torch.stack([w_l, w_r]), bias, w_ss[..., 0], w_ss[..., 1], H, W)
        out = out.view(2, hid, H * W, B)
        left = out[0].index_select(1, inverse_l).view(hid, H, W, B)
        right = out[1].index_select(1, inverse_r).view(hid, H, W, B)
        right = F.pad(right[:, :-1], (0, 0, 0, 0, 1, 0))  # down one row: pixel (r, j) gets (r - 1, j)
        return (left + right).permute(3, 0, 1, 2)


class DiagonalBiLSTM(AutoregressiveModel):
    """Diagonal BiLSTM (PixelRNN): bidirectional diagonal LSTMs, full receptive field in one layer."""

    architecture = "diagonal-bilstm"
    papers = ("1601.06759",)  # Pixel Recurrent Neural Networks
    config_class = DiagonalBiLSTMConfig

    def __init__(self, config: DiagonalBiLSTMConfig):
        super().__init__(config)
        C, h = config.channels, config.hidden
        self.input_conv = MaskedConv2d(C, h, 7, "A", colours=C)
        self.lstm = nn.ModuleList(
            DiagonalBiLSTMLayer(h, C, image_channels=C if k == 0 and config.full_context else 0)
            for k in range(config.layers)
        )
        self.out1 = MaskedConv2d(h, config.out_hidden, 1, "B", colours=C)
        self.out2 = MaskedConv2d(config.out_hidden, C * config.levels, 1, "B", colours=C)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        image = self.scale(x)
        out = self.input_conv(image)
        for layer in self.lstm:
            out = out + layer(out, image)
        return out

    def head(self, features: torch.Tensor) -> torch.Tensor:
        return self.out2(F.relu(self.out1(F.relu(features))))

    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        return logits_from_features(self.head(self.features(x)), cfg.channels, cfg.levels)

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None):
        from .sampler import DiagonalBiLSTMSampler

        return DiagonalBiLSTMSampler(self)
