"""Building blocks shared by the pixel models: masked convolutions with colour-channel groups.

Colour grouping convention (used by every masked layer, LSTM gate and output reshape in
the zoo): a layer with ``n`` feature maps for ``C`` colours splits them into C *contiguous*
groups of ``n // C``; group 0 belongs to R, 1 to G, 2 to B. With ``chunks > 1`` (the four
LSTM gates i, f, o, g) every chunk is split into its own C groups.

Mask A (first layer): channel group g at the centre pixel sees groups < g.
Mask B (later layers): it sees groups <= g. Every pixel sees all channels of the pixels
before it in raster order inside the kernel, none after.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "channel_groups",
    "causal_mask",
    "MaskedConv2d",
    "MaskedConvAtPixel",
    "PixelWindowCache",
    "OutputHeadAtPixel",
    "logits_from_features",
    "raster_dims",
    "outputs_per_dim",
    "logits_from_dims",
    "lstm_cell",
]


def channel_groups(n: int, colours: int, chunks: int = 1) -> torch.Tensor:
    """Colour group (0..colours-1) of each of ``n`` feature maps, contiguous within each chunk."""
    _check_groups(n, colours, chunks)
    per = n // (colours * chunks)
    return (torch.arange(n) % (n // chunks)) // per


def _check_groups(n: int, colours: int, chunks: int) -> None:
    if n % (colours * chunks):
        raise ValueError(
            f"{n} feature maps cannot be split into {chunks} chunk(s) of {colours} colour groups; "
            f"use a multiple of {colours * chunks}"
        )


def causal_mask(
    kind: str,
    in_channels: int,
    out_channels: int,
    kernel_size: tuple[int, int],
    colours: int,
    in_chunks: int = 1,
    out_chunks: int = 1,
) -> torch.Tensor:
    """The ``(out, in, kh, kw)`` 0/1 mask of a mask-A or mask-B convolution centred on the pixel."""
    if kind not in ("A", "B"):
        raise ValueError(f"mask kind must be 'A' or 'B', got {kind!r}")
    kh, kw = kernel_size
    ci, cj = kh // 2, kw // 2
    mask = torch.zeros(out_channels, in_channels, kh, kw)
    if mask.is_meta:  # sizing a model without building it (zoo.building): a meta mask has no values to set
        _check_groups(out_channels, colours, out_chunks)
        _check_groups(in_channels, colours, in_chunks)
        return mask
    mask[:, :, :ci, :] = 1  # rows above
    mask[:, :, ci, :cj] = 1  # left in the same row
    g_out = channel_groups(out_channels, colours, out_chunks)[:, None]
    g_in = channel_groups(in_channels, colours, in_chunks)[None, :]
    centre = g_out > g_in if kind == "A" else g_out >= g_in
    mask[:, :, ci, cj] = centre.float()
    return mask


def _cut_mask_is_all_ones(kind: str, colours: int, kh: int, kw: int) -> bool:
    """Whether a mask cut to the rows up to its centre (and, for one row, the columns up to it) keeps every weight.

    Decided from the mask's definition rather than by reading the mask: a model built on the meta
    device (``load_folder`` compares an untrusted folder's shapes that way, allocating nothing)
    has masks with no values to read. Only the centre pixel can hold zeros once cut, and only
    when the cut keeps a column right of the centre (a kernel of more than one row and column)
    or the centre's colour groups forbid a pair: mask A never lets a group see itself, mask B
    forbids later colours whenever there is more than one.
    """
    right_of_centre_kept = kh > 1 and kw > 1
    return not right_of_centre_kept and kind == "B" and colours == 1


class MaskedConv2d(nn.Conv2d):
    """A 'same'-padded Conv2d whose kernel is multiplied by a causal mask.

    The mask is applied functionally, so the saved weights stay clean and autograd sees
    the masked kernel. ``padding`` defaults to keeping H and W.

    No wasted work: the rows below the centre (always masked) are cut off the kernel, and
    for a one-row kernel also the masked columns right of the centre, with the padding made
    asymmetric to match; a mask that is all ones on what is left (every 1x1 conv of a
    one-colour model) is not multiplied at all. So a 3x3 mask-B conv costs a 2x3 conv and a
    7x7 mask-A conv a 4x7 one. Without autograd (evaluation, sampling) the cut, masked
    kernel is cached until the weight changes (an optimizer step or ``load_state_dict``
    bumps its version); with autograd it is recomputed per call, because a cached tensor's
    graph is freed by the first ``backward`` and every model calls each layer once per step.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        mask: str,
        colours: int = 1,
        in_chunks: int = 1,
        out_chunks: int = 1,
        bias: bool = True,
    ):
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        if kh % 2 == 0 or kw % 2 == 0:
            raise ValueError(f"masked kernels must have odd sizes, got {kh}x{kw}")
        super().__init__(in_channels, out_channels, (kh, kw), padding=(kh // 2, kw // 2), bias=bias)
        self.mask_kind = mask
        self.colours = colours
        full = causal_mask(mask, in_channels, out_channels, (kh, kw), colours, in_chunks, out_chunks)
        self.register_buffer("mask", full, persistent=False)
        ci, cj = kh // 2, kw // 2
        # the part of the kernel the mask keeps: rows up to the centre; a one-row kernel also
        # loses the columns right of the centre
        self.cut = (ci + 1, cj + 1 if kh == 1 else kw)
        cut = full[:, :, : self.cut[0], : self.cut[1]]
        keeps_all = _cut_mask_is_all_ones(mask, colours, kh, kw)
        self.register_buffer("cut_mask", None if keeps_all else cut.contiguous(), persistent=False)
        # (left, right, top, bottom) padding of the cut kernel that keeps H and W and the centre
        self.cut_padding = (cj, self.cut[1] - 1 - cj, ci, 0)
        self._cache: tuple | None = None

    def masked_weight(self) -> torch.Tensor:
        """The cut kernel times its mask (see the class docstring for when it is cached)."""
        w = self.weight
        caching = not (torch.is_grad_enabled() and w.requires_grad) and not torch.compiler.is_compiling()
        if caching and self._cache is not None:
            key, cached = self._cache
            if key == (id(w), w.data_ptr(), w._version, w.device, w.dtype):
                return cached
        rows, cols = self.cut
        out = w if (rows, cols) == tuple(self.kernel_size) else w[:, :, :rows, :cols]
        if self.cut_mask is not None:
            out = out * self.cut_mask
        if caching:
            self._cache = ((id(w), w.data_ptr(), w._version, w.device, w.dtype), out)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left, right, top, bottom = self.cut_padding
        weight = self.masked_weight()
        if self.kernel_size == (1, 1) and x.device.type == "cpu" and x.is_contiguous() and x.dim() == 4:
            # a 1x1 conv is a matrix product per image; on the CPU one batched product beats
            # the convolution kernel's layout reorders (1.2-2x measured, fwd + bwd, NCHW input)
            B, _, H, W = x.shape
            w = weight.view(1, *weight.shape[:2]).expand(B, -1, -1)
            if self.bias is None:
                return torch.bmm(w, x.view(B, -1, H * W)).view(B, -1, H, W)
            return torch.baddbmm(self.bias[:, None], w, x.view(B, -1, H * W)).view(B, -1, H, W)
        if left == right and top == bottom:
            return F.conv2d(x, weight, self.bias, self.stride, (top, left))
        return F.conv2d(F.pad(x, self.cut_padding), weight, self.bias, self.stride)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", mask={self.mask_kind}, colours={self.colours}"


def logits_from_features(out: torch.Tensor, colours: int, levels: int) -> torch.Tensor:
    """Turn a mask-B output of ``colours*levels`` maps into logits ``(B, levels, C, H, W)``.

    The output maps follow the contiguous grouping: maps ``c*levels .. (c+1)*levels-1``
    belong to colour c.
    """
    B, _, H, W = out.shape
    return out.view(B, colours, levels, H, W).transpose(1, 2)


def raster_dims(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` as ``(B, D)`` in the zoo's raster order: pixel by pixel, channels R, G, B inside a pixel.

    Dimension ``d = (i * W + j) * C + c``. The fully connected models (FVSBN, NADE, MADE) order their
    inputs and outputs this way, so that their conditionals are the ones the zoo's samplers ask for.
    """
    return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


def outputs_per_dim(levels: int) -> int:
    """Network outputs per dimension: one logit for binary data (a Bernoulli), else one per level."""
    return 1 if levels == 2 else levels


def logits_from_dims(out: torch.Tensor, shape: tuple[int, int, int], levels: int) -> torch.Tensor:
    """Turn ``(B, D * outputs_per_dim(levels))`` outputs in raster order into logits ``(B, levels, C, H, W)``.

    A binary dimension's single logit ``z`` becomes the pair ``(0, z)``: softmax of it is ``sigmoid(z)``.
    """
    C, H, W = shape
    B = out.shape[0]
    if levels == 2:
        out = torch.stack([torch.zeros_like(out), out], dim=-1)
    return out.reshape(B, H, W, C, levels).permute(0, 4, 3, 1, 2)


class MaskedConvAtPixel:
    """A mask-A/B :class:`MaskedConv2d` on ``model.scale(x)`` evaluated at one pixel (i, j): ``(n, out)``.

    Fast samplers compute one position at a time; the masked kernel is cut once to the rows
    at or above the centre (the mask zeroes the rest).
    """

    def __init__(self, model, conv: MaskedConv2d):
        self.model = model
        kh, kw = conv.kernel_size
        self.ci, self.cj = kh // 2, kw // 2
        self.weight = (conv.weight * conv.mask)[:, :, : self.ci + 1].flatten(1)
        self.bias = conv.bias

    def __call__(self, x: torch.Tensor, i: int, j: int) -> torch.Tensor:
        ci, cj, W = self.ci, self.cj, x.shape[-1]
        r0, c0, c1 = max(i - ci, 0), max(j - cj, 0), min(j + cj + 1, W)
        patch = self.model.scale(x[:, :, r0 : i + 1, c0:c1])
        patch = F.pad(patch, (c0 - (j - cj), (j + cj + 1) - c1, r0 - (i - ci), 0))
        return F.linear(patch.flatten(1), self.weight, self.bias)


class PixelWindowCache:
    """Scaled input pixels in a zero-padded ``(n, C, H + r, W + 2r)`` buffer, addressed by a raster index tensor.

    The position-indexed twin of :class:`MaskedConvAtPixel`'s window (see zoo.sampling's CUDA
    graph steps): :meth:`write` stores one pixel, :meth:`patch` gathers rows i-r..i and columns
    j-r..j+r of pixel ``pos`` in the order of a kernel cut to the rows up to its centre,
    ``(n, C * (r + 1) * (2r + 1))``. Pixels not yet written read as zeros, which the masks
    never use.
    """

    def __init__(self, n: int, channels: int, height: int, width: int, r: int, device, dtype=torch.float32):
        self.n, self.C = n, channels
        self.buf = torch.zeros(n, channels, height + r, width + 2 * r, device=device, dtype=dtype)
        i, j = torch.arange(height).repeat_interleave(width), torch.arange(width).repeat(height)
        wide = width + 2 * r
        self.at = ((i + r) * wide + j + r).to(device)
        rows, cols = torch.arange(r + 1)[None, :, None], torch.arange(2 * r + 1)[None, None, :]
        self.window = ((i[:, None, None] + rows) * wide + j[:, None, None] + cols).flatten(1).to(device)

    def reset(self) -> None:
        self.buf.zero_()

    def write(self, xs_pixel: torch.Tensor, pos: torch.Tensor) -> None:
        """Store the scaled pixel ``(n, C, 1)`` at raster index ``pos`` (a 0-dim device tensor)."""
        self.buf.view(self.n, self.C, -1).index_copy_(2, self.at.index_select(0, pos.view(1)), xs_pixel)

    def patch(self, pos: torch.Tensor) -> torch.Tensor:
        flat = self.buf.view(self.n, self.C, -1)
        return flat.index_select(2, self.window.index_select(0, pos.view(1))[0]).reshape(self.n, -1)


class OutputHeadAtPixel:
    """The pixel models' output head (ReLU, 1x1 mask-B ``out1``, ReLU, 1x1 mask-B ``out2``) at one pixel.

    Called with the pixel's features ``(n, maps)`` and a colour c, it returns only colour c's
    ``(n, levels)`` logits: the rows of ``out2`` that belong to c in the contiguous grouping.
    """

    def __init__(self, out1: MaskedConv2d, out2: MaskedConv2d, colours: int, levels: int):
        self.w1 = (out1.weight * out1.mask)[:, :, 0, 0]
        self.b1 = out1.bias
        self.w2 = (out2.weight * out2.mask)[:, :, 0, 0].view(colours, levels, -1)
        self.b2 = out2.bias.view(colours, levels)

    def __call__(self, features: torch.Tensor, c: int) -> torch.Tensor:
        hidden = F.relu(F.linear(F.relu(features), self.w1, self.b1))
        return F.linear(hidden, self.w2[c], self.b2[c])


def lstm_cell(gates: torch.Tensor, c_prev: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Gates ``(..., 4h, ...)`` in the order i, f, o, g along dim 1 -> new (h, c); g is tanh."""
    i, f, o, g = gates.chunk(4, dim=1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c
