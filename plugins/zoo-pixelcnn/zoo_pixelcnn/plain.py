"""The plain PixelCNN network (mask-A 7x7 input, residual mask-B blocks) and its cached stepper.

The stepper computes one position of every layer per call. That is exact because the value
of any layer at (i, j) depends only on the input before (i, j) in raster order (and on the
lower colour channels at (i, j)), so it can be computed once the sampler reaches (i, j),
from cached values of the layer below at earlier positions. Only the maps that feed a
kernel wider than 1x1 need a cache: the scaled input (7x7) and each block's 3x3 input.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.layers import MaskedConv2d

INPUT_KERNEL = 7


class ResidualBlock(nn.Module):
    """ReLU, 1x1 (2h -> h), ReLU, 3x3 (h -> h), ReLU, 1x1 (h -> 2h), identity added once."""

    def __init__(self, h: int, colours: int):
        super().__init__()
        self.reduce = MaskedConv2d(2 * h, h, 1, "B", colours)
        self.conv = MaskedConv2d(h, h, 3, "B", colours)
        self.expand = MaskedConv2d(h, 2 * h, 1, "B", colours)

    def forward(self, x: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
        t = self.conv(F.relu(self.reduce(F.relu(x))))
        if bias is not None:
            t = t + bias[:, :, None, None]
        return x + self.expand(F.relu(t))


class PlainNet(nn.Module):
    """Mask-A 7x7 conv to 2h maps, ``layers`` residual blocks, ReLU + 1x1 mask-B twice."""

    def __init__(self, channels: int, hidden: int, layers: int, levels: int):
        super().__init__()
        C, h = channels, hidden
        self.input = MaskedConv2d(C, 2 * h, INPUT_KERNEL, "A", C)
        self.blocks = nn.ModuleList(ResidualBlock(h, C) for _ in range(layers))
        self.head1 = MaskedConv2d(2 * h, 2 * h, 1, "B", C)
        self.head2 = MaskedConv2d(2 * h, C * levels, 1, "B", C)
        self.bias_sizes = [2 * h] + [h] * layers  # where a class bias is added

    def forward(self, xs: torch.Tensor, biases: list | None = None) -> torch.Tensor:
        biases = biases or [None] * len(self.bias_sizes)
        x = self.input(xs)
        if biases[0] is not None:
            x = x + biases[0][:, :, None, None]
        for block, bias in zip(self.blocks, biases[1:]):
            x = block(x, bias)
        return self.head2(F.relu(self.head1(F.relu(x))))

    def stepper(self, n: int, height: int, width: int, biases: list | None) -> "PlainStepper":
        return PlainStepper(self, n, height, width, biases)


def _masked(conv: MaskedConv2d, rows: int | None = None):
    """Masked kernel cut to the rows a causal conv uses (rows <= centre), and its bias."""
    w = (conv.weight * conv.mask).detach()
    if rows is not None:
        w = w[:, :, :rows]
    return w, conv.bias.detach()


def _linear(conv: MaskedConv2d):
    w, b = _masked(conv)
    return w.flatten(1), b


class PlainStepper:
    """Cached per-position evaluation of a :class:`PlainNet` for ``n`` images being sampled."""

    def __init__(self, net: PlainNet, n: int, height: int, width: int, biases: list | None):
        k = INPUT_KERNEL
        self.r = k // 2
        self.H, self.W = height, width
        w, b = _masked(net.input, rows=self.r + 1)  # rows i-3..i of the 7x7 kernel
        self.w_in, self.b_in = w.flatten(1), b
        self.blocks = []
        for blk in net.blocks:
            wc, bc = _masked(blk.conv, rows=2)  # rows i-1..i of the 3x3 kernel
            self.blocks.append((_linear(blk.reduce), (wc.flatten(1), bc), _linear(blk.expand)))
        self.head = (_linear(net.head1), _linear(net.head2))
        self.biases = biases or [None] * len(net.bias_sizes)
        p = net.input.weight
        self.n, self.C = n, net.input.in_channels
        # caches with zero padding: the scaled input (pad 3) and each block's 3x3 input (pad 1)
        self.xin = torch.zeros(n, self.C, height + self.r, width + 2 * self.r, dtype=p.dtype, device=p.device)
        h = net.blocks[0].conv.in_channels if net.blocks else 0
        self.acache = [
            torch.zeros(n, h, height + 1, width + 2, dtype=p.dtype, device=p.device) for _ in net.blocks
        ]

    def reset(self) -> None:
        self.xin.zero_()
        for a in self.acache:
            a.zero_()

    def at(self, xs_window: torch.Tensor, i: int, j: int) -> torch.Tensor:
        """Output features ``(n, C*levels)`` at (i, j); ``xs_window`` is scale(x[:, :, i-3..i, j-3..j+3]) clipped."""
        r, W = self.r, self.W
        j0, j1 = max(0, j - r), min(W, j + r + 1)
        i0 = max(0, i - r)
        # padded coordinates: row i -> i + r (top pad only), col j -> j + r
        self.xin[:, :, i0 + r : i + r + 1, j0 + r : j1 + r] = xs_window
        patch = self.xin[:, :, i : i + r + 1, j : j + 2 * r + 1].reshape(self.n, -1)
        x = F.linear(patch, self.w_in, self.b_in)
        if self.biases[0] is not None:
            x = x + self.biases[0]
        for (red, conv, exp), cache, bias in zip(self.blocks, self.acache, self.biases[1:]):
            a = F.relu(F.linear(F.relu(x), *red))
            cache[:, :, i + 1, j + 1] = a
            t = F.linear(cache[:, :, i : i + 2, j : j + 3].reshape(self.n, -1), *conv)
            if bias is not None:
                t = t + bias
            x = x + F.linear(F.relu(t), *exp)
        h1, h2 = self.head
        return F.linear(F.relu(F.linear(F.relu(x), *h1)), *h2)
