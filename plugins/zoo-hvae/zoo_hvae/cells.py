"""The networks of the hierarchical VAE: residual blocks, the bottom-up path, the top-down layers, the decoder.

Shapes: the image is ``(B, C, H, W)``; the paths run at ``hidden`` channels; ``downsample`` stride-2
convolutions take the image to the latents' resolution ``(h, w)`` (each step rounds up, so any size
works, 1x1 included); every stochastic layer's latent is a ``(B, latent, h, w)`` map.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .gaussians import std_from

__all__ = ["ResBlock", "BottomUp", "TopDownLayer", "Decoder", "resolutions"]


def resolutions(height: int, width: int, steps: int) -> list[tuple[int, int]]:
    """The feature map sizes from the image down: ``steps + 1`` entries, each half the last, rounded up."""
    sizes = [(height, width)]
    for _ in range(steps):
        h, w = sizes[-1]
        sizes.append((math.ceil(h / 2), math.ceil(w / 2)))
    return sizes


class ResBlock(nn.Module):
    """x + conv3x3(act(conv3x3(act(x)))), the residual branch's last conv scaled by ``scale`` at init.

    VD-VAE scales the last layer of each residual branch by 1/sqrt(depth), so a deep stack starts close
    to the identity and its activations do not grow with depth.
    """

    def __init__(self, channels: int, scale: float = 1.0):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        with torch.no_grad():
            self.conv2.weight.mul_(scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.silu(self.conv1(F.silu(x))))


class BottomUp(nn.Module):
    """The deterministic bottom-up path: image -> one feature map per stochastic layer, shallowest first."""

    def __init__(self, channels: int, hidden: int, layers: int, downsample: int, blocks: int, scale: float):
        super().__init__()
        self.stem = nn.Conv2d(channels, hidden, 3, padding=1)
        self.down = nn.ModuleList(
            nn.Sequential(
                *(ResBlock(hidden, scale) for _ in range(blocks)), nn.Conv2d(hidden, hidden, 3, stride=2, padding=1)
            )
            for _ in range(downsample)
        )
        self.cells = nn.ModuleList(ResBlock(hidden, scale) for _ in range(layers))

    def forward(self, scaled: torch.Tensor) -> list[torch.Tensor]:
        h = self.stem(scaled)
        for step in self.down:
            h = step(h)
        features = []
        for cell in self.cells:
            h = cell(h)
            features.append(h)
        return features


class TopDownLayer(nn.Module):
    """One stochastic layer of the top-down path (the ladder VAE's and VD-VAE's cell).

    From the top-down state ``s`` (which summarises z_>i) it gives the prior p(z_i | z_>i) and a feature
    map; from ``s`` and the bottom-up feature of the same depth the posterior q(z_i | z_>i, x), so the
    posterior is computed along the generative path and shares its state. After z_i is drawn, the state
    takes in the prior's feature and a projection of z_i, then a residual block.
    """

    def __init__(self, hidden: int, latent: int, scale: float):
        super().__init__()
        self.latent = latent
        self.prior = nn.Sequential(
            nn.Conv2d(hidden, hidden, 3, padding=1), nn.SiLU(), nn.Conv2d(hidden, 2 * latent + hidden, 1)
        )
        self.posterior = nn.Sequential(
            nn.Conv2d(2 * hidden, hidden, 3, padding=1), nn.SiLU(), nn.Conv2d(hidden, 2 * latent, 1)
        )
        self.project = nn.Conv2d(latent, hidden, 1)
        self.cell = ResBlock(hidden, scale)
        with torch.no_grad():  # start with every prior at N(0, I) and the state untouched by it
            self.prior[-1].weight.zero_()
            self.prior[-1].bias.zero_()
            self.project.weight.mul_(scale)

    def prior_of(self, s: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(mean, std, feature)`` of p(z_i | z_>i)."""
        out = self.prior(s)
        d = self.latent
        return out[:, :d], std_from(out[:, d : 2 * d]), out[:, 2 * d :]

    def posterior_of(self, s: torch.Tensor, up: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, std)`` of q(z_i | z_>i, x), from the top-down state and the bottom-up feature."""
        out = self.posterior(torch.cat([s, up], 1))
        return out[:, : self.latent], std_from(out[:, self.latent :])

    def merge(self, s: torch.Tensor, feature: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """The state after z_i: what the next layer down (and finally the decoder) sees."""
        return self.cell(s + feature + self.project(z))


class Decoder(nn.Module):
    """Top-down state at the latents' resolution -> per-pixel outputs at the image's, mirroring the way down."""

    def __init__(self, hidden: int, outputs: int, sizes: list[tuple[int, int]], blocks: int, scale: float):
        super().__init__()
        self.sizes = sizes
        self.up = nn.ModuleList(
            nn.Sequential(nn.Conv2d(hidden, hidden, 3, padding=1), *(ResBlock(hidden, scale) for _ in range(blocks)))
            for _ in range(len(sizes) - 1)
        )
        self.out = nn.Conv2d(hidden, outputs, 1)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        for j in reversed(range(len(self.up))):  # nearest upsampling to the exact size of the way down
            s = self.up[j](F.interpolate(s, size=self.sizes[j], mode="nearest"))
        return self.out(F.silu(s))
