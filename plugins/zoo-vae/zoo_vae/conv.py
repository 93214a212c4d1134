"""The convolutional encoder and decoder of ``network="conv"`` (the paper's MLP is the default).

Both keep the MLP's interface (flat images in, flat decoder outputs out), so the likelihoods,
bounds and the rest of :class:`zoo_vae.base.VAE` do not change. Stride-2 3x3 convs halve the
image (rounding up) once per entry of ``conv_channels``; the decoder mirrors them with 4x4
transposed convs and crops back to H x W.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ConvEncoder", "ConvDecoder"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh}


def _reduced(size: int, steps: int) -> int:
    for _ in range(steps):
        size = math.ceil(size / 2)
    return size


class ConvEncoder(nn.Module):
    """Flat ``(B, C*H*W)`` images -> ``(B, out)`` through stride-2 convs and a dense head."""

    def __init__(self, shape: tuple[int, int, int], channels: list[int], head: nn.Module, activation: str):
        super().__init__()
        self.shape = shape
        act = ACTIVATIONS[activation]
        layers: list[nn.Module] = []
        for c_in, c_out in zip([shape[0], *channels[:-1]], channels):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), act()]
        self.convs = nn.Sequential(*layers)
        self.head = head

    def forward(self, flat: torch.Tensor) -> torch.Tensor:
        return self.head(self.convs(flat.view(-1, *self.shape)).flatten(1))


class ConvDecoder(nn.Module):
    """``(M, d)`` latents -> flat ``(M, outputs*C*H*W)`` through a dense stem and transposed convs."""

    def __init__(
        self, shape: tuple[int, int, int], channels: list[int], stem: nn.Module, outputs: int, activation: str
    ):
        super().__init__()
        C, self.H, self.W = shape
        self.start = (channels[-1], _reduced(self.H, len(channels)), _reduced(self.W, len(channels)))
        act = ACTIVATIONS[activation]
        self.stem = stem
        layers: list[nn.Module] = [act()]
        widths = list(reversed(channels))
        for c_in, c_out in zip(widths, [*widths[1:], widths[-1]]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, stride=2, padding=1), act()]
        layers.append(nn.Conv2d(widths[-1], outputs * C, 3, padding=1))
        self.convs = nn.Sequential(*layers)

    @staticmethod
    def stem_width(shape: tuple[int, int, int], channels: list[int]) -> int:
        """Width of the dense stem's output: the smallest feature map, flattened."""
        return channels[-1] * _reduced(shape[1], len(channels)) * _reduced(shape[2], len(channels))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        out = self.convs(self.stem(z).view(-1, *self.start))
        return out[:, :, : self.H, : self.W].flatten(1)
