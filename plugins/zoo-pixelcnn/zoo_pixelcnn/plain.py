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

from zoo.layers import MaskedConv2d, PixelWindowCache, channel_groups

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
        # in place: t is a fresh 3x3 conv output that nothing else reads (a conv's backward needs
        # its input, not its output). Not after a 1x1 conv, whose output is a view (see zoo.layers)
        return x + self.expand(F.relu(t, inplace=True))


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
        if x.device.type == "cpu":  # oneDNN's convolutions run 1.1-1.4x faster on NHWC maps (measured)
            x = x.contiguous(memory_format=torch.channels_last)
        if biases[0] is not None:
            x = x + biases[0][:, :, None, None]
        for block, bias in zip(self.blocks, biases[1:]):
            x = block(x, bias)
        return self.head2(F.relu(self.head1(F.relu(x))))

    def stepper(self, n: int, height: int, width: int, biases: list | None) -> PlainStepper:
        return PlainStepper(self, n, height, width, biases)


def _masked(conv: MaskedConv2d, rows: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Masked kernel cut to the rows a causal conv uses (rows <= centre), flattened, and its bias."""
    w = (conv.weight * conv.mask).detach()
    if rows is not None:
        w = w[:, :, :rows]
    return w.flatten(1), conv.bias.detach()


def group_rows(n: int, colours: int, c: int, chunks: int = 1) -> torch.Tensor:
    """Indices of the feature maps of colour group c (contiguous groups within each chunk)."""
    return (channel_groups(n, colours, chunks) == c).nonzero().flatten()


def for_group(wb: tuple[torch.Tensor, torch.Tensor], colours: int, c: int, chunks: int = 1):
    """The output rows of a (weight, bias) pair that belong to colour group c."""
    w, b = wb
    idx = group_rows(w.shape[0], colours, c, chunks)
    return w[idx].contiguous(), b[idx].contiguous()


def group_slice(n: int, colours: int, c: int) -> slice:
    return slice(c * n // colours, (c + 1) * n // colours)


class PlainStepper:
    """Cached per-position evaluation of a :class:`PlainNet` for ``n`` images being sampled.

    Within a pixel, the step for colour c computes only colour group c of every layer:
    groups < c were computed by the earlier steps of this pixel and are final (group g
    depends on input channels < g only), groups > c cannot influence channel c.
    """

    def __init__(self, net: PlainNet, n: int, height: int, width: int, biases: list | None):
        r = self.r = INPUT_KERNEL // 2
        C = self.C = net.input.in_channels
        self.n, self.H, self.W = n, height, width
        h2 = net.input.out_channels
        h = h2 // 2
        w_in = _masked(net.input, rows=r + 1)  # rows i-3..i of the 7x7 kernel
        blocks = [(_masked(b.reduce), _masked(b.conv, rows=2), _masked(b.expand)) for b in net.blocks]
        heads = (_masked(net.head1), _masked(net.head2))
        biases = biases or [None] * len(net.bias_sizes)
        self.per_colour = []
        for c in range(C):
            g2, g1 = group_slice(h2, C, c), group_slice(h, C, c)
            bias = [None if b is None else b[:, g2 if k == 0 else g1] for k, b in enumerate(biases)]
            self.per_colour.append(
                dict(
                    input=for_group(w_in, C, c),
                    bias=bias,
                    g2=g2,
                    g1=g1,
                    blocks=[tuple(for_group(wb, C, c) for wb in blk) for blk in blocks],
                    head1=for_group(heads[0], C, c),
                    head2=for_group(heads[1], C, c),
                    g_head=group_slice(heads[0][0].shape[0], C, c),
                )
            )
        p = net.input.weight
        zeros = lambda *shape: torch.zeros(*shape, dtype=p.dtype, device=p.device)  # noqa: E731
        # caches with zero padding: the scaled input (pad 3) and each block's 3x3 input (pad 1)
        self.window = PixelWindowCache(n, C, height, width, r, p.device, p.dtype)
        self.xin = self.window.buf
        self.acache = [zeros(n, h, height + 1, width + 2) for _ in net.blocks]
        # the current pixel's stream, 3x3 outputs and head activations, filled group by group
        self.stream = [zeros(n, h2) for _ in range(len(net.blocks) + 1)]
        self.tvec = [zeros(n, h) for _ in net.blocks]
        self.head = zeros(n, heads[0][0].shape[0])

    def reset(self) -> None:
        self.xin.zero_()
        for a in self.acache:
            a.zero_()

    # -- the same step with the position in a device tensor (for a CUDA graph, see zoo.sampling) ----------
    def _tables(self) -> None:
        """Flat indices, per raster position, of the 3x3 caches' elements that :meth:`at` slices with (i, j)."""
        if hasattr(self, "t_cache_self"):
            return
        H, W, dev, wc = self.H, self.W, self.xin.device, self.W + 2  # wc: width of a padded 3x3 cache
        i, j = torch.arange(H).repeat_interleave(W), torch.arange(W).repeat(H)
        self.t_cache_self = ((i + 1) * wc + j + 1).to(dev)
        rows, cols = torch.arange(2)[None, :, None], torch.arange(3)[None, None, :]
        self.t_cache_patch = ((i[:, None, None] + rows) * wc + j[:, None, None] + cols).flatten(1).to(dev)

    def write_pixel(self, xs_pixel: torch.Tensor, pos: torch.Tensor) -> None:
        """Store scale(x) of the pixel at raster index ``pos`` (0-dim device tensor), ``(n, C, 1)``."""
        self.window.write(xs_pixel, pos)

    def at_position(self, xs_pixel: torch.Tensor, pos: torch.Tensor, c: int) -> torch.Tensor:
        """:meth:`at` with the position in a tensor: the pixel's own scaled values (final below channel c)."""
        self._tables()
        self.window.write(xs_pixel, pos)
        n, P, where = self.n, self.per_colour[c], pos.view(1)
        g2, g1 = P["g2"], P["g1"]
        x = F.linear(self.window.patch(pos), *P["input"])
        if P["bias"][0] is not None:
            x = x + P["bias"][0]
        self.stream[0][:, g2] = x
        here, around = self.t_cache_self.index_select(0, where), self.t_cache_patch.index_select(0, where)[0]
        for k, ((red, conv, exp), cache) in enumerate(zip(P["blocks"], self.acache)):
            flat = cache.view(n, cache.shape[1], -1)
            flat[:, g1].index_copy_(2, here, F.relu(F.linear(F.relu(self.stream[k]), *red))[:, :, None])
            t = F.linear(flat.index_select(2, around).reshape(n, -1), *conv)
            if P["bias"][k + 1] is not None:
                t = t + P["bias"][k + 1]
            self.tvec[k][:, g1] = F.relu(t)
            self.stream[k + 1][:, g2] = self.stream[k][:, g2] + F.linear(self.tvec[k], *exp)
        self.head[:, P["g_head"]] = F.relu(F.linear(F.relu(self.stream[-1]), *P["head1"]))
        return F.linear(self.head, *P["head2"])

    def at(self, xs_window: torch.Tensor, i: int, j: int, c: int) -> torch.Tensor:
        """Logits ``(n, levels)`` of colour c at (i, j); ``xs_window`` is scale(x[:, :, i-3..i, j-3..j+3]) clipped."""
        r, W, n, P = self.r, self.W, self.n, self.per_colour[c]
        j0, j1 = max(0, j - r), min(W, j + r + 1)
        # padded coordinates: row i -> i + r (top pad only), col j -> j + r
        self.xin[:, :, max(0, i - r) + r : i + r + 1, j0 + r : j1 + r] = xs_window
        patch = self.xin[:, :, i : i + r + 1, j : j + 2 * r + 1].reshape(n, -1)
        g2, g1 = P["g2"], P["g1"]
        x = F.linear(patch, *P["input"])
        if P["bias"][0] is not None:
            x = x + P["bias"][0]
        self.stream[0][:, g2] = x
        for k, ((red, conv, exp), cache) in enumerate(zip(P["blocks"], self.acache)):
            cache[:, g1, i + 1, j + 1] = F.relu(F.linear(F.relu(self.stream[k]), *red))
            t = F.linear(cache[:, :, i : i + 2, j : j + 3].reshape(n, -1), *conv)
            if P["bias"][k + 1] is not None:
                t = t + P["bias"][k + 1]
            self.tvec[k][:, g1] = F.relu(t)
            self.stream[k + 1][:, g2] = self.stream[k][:, g2] + F.linear(self.tvec[k], *exp)
        self.head[:, P["g_head"]] = F.relu(F.linear(F.relu(self.stream[-1]), *P["head1"]))
        return F.linear(self.head, *P["head2"])
