"""``pixelsnail``: gated causal convolutions interleaved with causal self-attention (Chen et al. 2018).

The network, on ``xs = model.scale(x)``:

- a 3x3 mask-A convolution to ``hidden`` maps (plus a class bias with ``num_classes``);
- ``layers`` blocks, each ``residuals`` gated residual blocks (ELU, 3x3 mask-B conv, ELU, 1x1
  mask-B conv to two gate halves a, b; ``x + a * sigmoid(b)``) followed by causal self-attention
  whose keys and values come from the input image and the block's output (plus the "background":
  the pixel's row and column coordinates), and a gated 1x1 merge of the attention into the stream;
- ELU and a 1x1 mask-B convolution to ``levels`` logits per colour channel.

Causality: the convolutions use ``zoo.layers.MaskedConv2d`` (mask A in the first layer, B after;
contiguous colour groups), so colour group g at a pixel sees colour channels < g of that pixel.
Attention attends to *strictly earlier* pixels in raster order only (its keys contain the pixel's
own values), plus one learned "null" key and value that every pixel may attend to, so that the
first pixel has something to attend to. Every colour group has its own query (from feature groups
<= g, through a mask-B 1x1 conv): one attention head per colour channel, all sharing the keys and
values, which may use every channel because they come from earlier pixels only.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from pydantic import Field
from torch import nn

from zoo import AutoregressiveModel, ModelConfig
from zoo.layers import MaskedConv2d, logits_from_features

from .sampler import PixelSNAILSampler


class PixelSNAILConfig(ModelConfig):
    """Image spec plus the network size (the defaults are the peer library's MNIST model)."""

    hidden: int = Field(64, ge=1, le=4096, description="feature maps of the stream (a multiple of channels)")
    layers: int = Field(8, ge=1, le=48, description="blocks: gated residual convolutions, then causal attention")
    residuals: int = Field(2, ge=1, le=8, description="gated residual blocks before each attention")
    key_channels: int = Field(16, ge=1, le=1024, description="dims of attention keys and queries")
    value_channels: int = Field(32, ge=1, le=1024, description="dims of attention values (per colour channel)")
    num_classes: int | None = Field(
        None, ge=1, le=100_000, description="class-conditional with this many labels (None = unconditional)"
    )

    colour_grouped = ("hidden",)


def coordinates(height: int, width: int) -> torch.Tensor:
    """The "background" of the paper: every pixel's row and column in [-1, 1], ``(2, H, W)``."""
    rows = torch.linspace(-1, 1, height)[:, None].expand(height, width)
    cols = torch.linspace(-1, 1, width)[None, :].expand(height, width)
    return torch.stack([rows, cols])


class GatedResidual(nn.Module):
    """ELU, 3x3 mask-B conv (+ class bias), ELU, 1x1 mask-B conv to gates a, b; ``x + a * sigmoid(b)``."""

    def __init__(self, hidden: int, colours: int):
        super().__init__()
        self.conv = MaskedConv2d(hidden, hidden, 3, "B", colours)
        self.gate = MaskedConv2d(hidden, 2 * hidden, 1, "B", colours, out_chunks=2)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        t = self.conv(F.elu(x))
        if bias is not None:
            t = t + bias[:, :, None, None]
        a, b = self.gate(F.elu(t)).chunk(2, 1)
        return x + a * torch.sigmoid(b)


def causal_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``scaled_dot_product_attention`` with a square causal mask, keys and values padded with zeros to one
    size: torch's flash kernel needs equal head sizes and is 3-4x faster than the fallback on the CPU
    (measured at 28x28, batch 32, fwd + bwd), and zeros add nothing to the dot products."""
    dk, dv = q.shape[-1], v.shape[-1]
    if dk < dv:
        q, k = F.pad(q, (0, dv - dk)), F.pad(k, (0, dv - dk))
    elif dv < dk:
        v = F.pad(v, (0, dk - dv))
    return F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=dk**-0.5)[..., :dv]


class CausalAttention(nn.Module):
    """Attention of every pixel over strictly earlier pixels (and a null slot), one head per colour."""

    def __init__(self, channels: int, hidden: int, key: int, value: int):
        super().__init__()
        self.colours, self.key_dims, self.value_dims = channels, key, value
        self.query = MaskedConv2d(hidden, channels * key, 1, "B", channels)
        self.query_position = nn.Conv2d(2, channels * key, 1)
        self.key = nn.Conv2d(channels + hidden + 2, key, 1)  # from the image, the block's output, the position
        self.value = nn.Conv2d(channels + hidden + 2, value, 1)
        self.null_key = nn.Parameter(torch.zeros(key))
        self.null_value = nn.Parameter(torch.zeros(value))

    def forward(self, r: torch.Tensor, xs: torch.Tensor, background: torch.Tensor) -> torch.Tensor:
        """``(B, C * value, H, W)``: colour group g attends with the query of feature groups <= g."""
        B, _, H, W = r.shape
        C, N = self.colours, H * W
        q = (self.query(r) + self.query_position(background)).reshape(B, C, self.key_dims, N).transpose(2, 3)
        content = torch.cat([xs, r, background.expand(B, -1, -1, -1)], 1)
        k = self.key(content).flatten(2).transpose(1, 2)  # (B, N, key)
        v = self.value(content).flatten(2).transpose(1, 2)
        # key slot s holds pixel s - 1 and slot 0 the null, so the square causal mask lets query p see
        # slots 0..p: the null and pixels 0..p-1 (the last pixel's key is never needed)
        k = torch.cat([self.null_key.expand(B, 1, -1), k[:, :-1]], 1)[:, None].expand(B, C, N, -1)
        v = torch.cat([self.null_value.expand(B, 1, -1), v[:, :-1]], 1)[:, None].expand(B, C, N, -1)
        out = causal_attention(q, k, v)  # (B, C, N, value)
        return out.transpose(2, 3).reshape(B, C * self.value_dims, H, W)


class Merge(nn.Module):
    """Gated 1x1 merge of the attention into the stream: ``r + a * sigmoid(b)`` from ELU(r) and ELU(attention)."""

    def __init__(self, channels: int, hidden: int, value: int):
        super().__init__()
        self.stream = MaskedConv2d(hidden, hidden, 1, "B", channels)
        self.attended = MaskedConv2d(channels * value, hidden, 1, "B", channels)
        self.gate = MaskedConv2d(hidden, 2 * hidden, 1, "B", channels, out_chunks=2)

    def forward(self, r: torch.Tensor, attended: torch.Tensor) -> torch.Tensor:
        t = self.stream(F.elu(r)) + self.attended(F.elu(attended))
        a, b = self.gate(F.elu(t)).chunk(2, 1)
        return r + a * torch.sigmoid(b)


class Block(nn.Module):
    """``residuals`` gated residual convolutions, then causal attention merged into the stream."""

    def __init__(self, cfg: PixelSNAILConfig):
        super().__init__()
        C, h = cfg.channels, cfg.hidden
        self.residuals = nn.ModuleList(GatedResidual(h, C) for _ in range(cfg.residuals))
        self.attention = CausalAttention(C, h, cfg.key_channels, cfg.value_channels)
        self.merge = Merge(C, h, cfg.value_channels)

    def forward(self, x, xs, background, biases) -> torch.Tensor:
        for residual, bias in zip(self.residuals, biases):
            x = residual(x, bias)
        return self.merge(x, self.attention(x, xs, background))


class PixelSNAIL(AutoregressiveModel):
    """PixelSNAIL: exact raster-order likelihood with convolutions for the neighbourhood, attention for the rest."""

    architecture = "pixelsnail"
    papers = ("1712.09763",)  # PixelSNAIL: An Improved Autoregressive Generative Model
    config_class = PixelSNAILConfig

    def __init__(self, config: PixelSNAILConfig):
        super().__init__(config)
        C, h = config.channels, config.hidden
        self.input = MaskedConv2d(C, h, 3, "A", C)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.layers))
        self.head = MaskedConv2d(h, C * config.levels, 1, "B", C)
        self.register_buffer("background", coordinates(config.height, config.width)[None], persistent=False)
        places = 1 + config.layers * config.residuals  # the input conv and every residual's 3x3 conv
        self.class_bias = (
            nn.ModuleList(nn.Embedding(config.num_classes, h) for _ in range(places)) if config.num_classes else None
        )

    def biases(self, labels: torch.Tensor | None) -> list:
        """Per-layer class biases ``(B, hidden)`` of the images' labels, in layer order; Nones when unconditional."""
        if self.class_bias is None:
            return [None] * (1 + self.config.layers * self.config.residuals)
        return [embedding(labels) for embedding in self.class_bias]

    def logits(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        cfg = self.config
        xs = self.scale(x)
        biases = self.biases(labels)
        h = self.input(xs)
        if biases[0] is not None:
            h = h + biases[0][:, :, None, None]
        background = self.background.to(xs.dtype)
        for k, block in enumerate(self.blocks):
            h = block(h, xs, background, biases[1 + k * cfg.residuals : 1 + (k + 1) * cfg.residuals])
        return logits_from_features(self.head(F.elu(h)), cfg.channels, cfg.levels)

    def incremental_sampler(self, n: int, labels: torch.Tensor | None = None):
        return PixelSNAILSampler(self, n, labels)
