"""The noise predictor eps_hat(z_t, gamma_t): a residual U-Net at one resolution, as in VDM.

VDM's image model keeps the full resolution throughout (no down- or up-sampling: the fine detail of
the likelihood lives in the last bits of every pixel): ``layers`` residual blocks going down, one in the
middle and ``layers + 1`` going up, each up block taking the matching down block's output as a skip
connection. Every block adds a projection of the time embedding, a sinusoidal embedding of gamma_t
normalised to the config's [gamma_min, gamma_max] (so the network sees the noise level, whatever shape a
learned schedule takes) passed through a small MLP, plus a class embedding for a class-conditional model.
The input is z_t with Fourier features ``sin`` / ``cos`` of ``pi (levels - 1) z`` and twice that
(periods of one and half a level spacing: VDM's features for the fine scale, placed on this data's grid).
The output layer starts at zero, so a fresh model predicts eps_hat = 0.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Denoiser", "timestep_embedding"]


def timestep_embedding(position: torch.Tensor, dim: int) -> torch.Tensor:
    """``(B, dim)`` sinusoidal features of ``position`` ``(B,)`` (scaled by 1000, as in DDPM), frequencies
    spaced geometrically from 1 to 1/10000."""
    half = max(dim // 2, 1)
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=position.dtype, device=position.device) / half)
    angles = 1000.0 * position.unsqueeze(1) * freqs
    return torch.cat([angles.sin(), angles.cos()], dim=1)[:, :dim]


def _norm(channels: int) -> nn.GroupNorm:
    return nn.GroupNorm(math.gcd(channels, 32), channels)


class ResBlock(nn.Module):
    """norm, SiLU, 3x3 conv, + time projection, norm, SiLU, dropout, 3x3 conv; plus the (1x1-projected) input."""

    def __init__(self, c_in: int, c_out: int, embed: int, dropout: float):
        super().__init__()
        self.norm1, self.conv1 = _norm(c_in), nn.Conv2d(c_in, c_out, 3, padding=1)
        self.time = nn.Linear(embed, c_out)
        self.norm2, self.conv2 = _norm(c_out), nn.Conv2d(c_out, c_out, 3, padding=1)
        self.dropout = nn.Dropout(dropout)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, h: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        out = self.conv1(F.silu(self.norm1(h)))
        out = out + self.time(emb)[:, :, None, None]
        out = self.conv2(self.dropout(F.silu(self.norm2(out))))
        return self.skip(h) + out


class Denoiser(nn.Module):
    """eps_hat for ``z`` ``(B, C, H, W)`` at normalised noise levels ``position`` ``(B,)`` (and ``labels``)."""

    def __init__(
        self,
        channels: int,
        levels: int,
        hidden: int,
        layers: int,
        fourier: bool = True,
        dropout: float = 0.0,
        num_classes: int | None = None,
    ):
        super().__init__()
        self.frequencies = (math.pi * (levels - 1), 2 * math.pi * (levels - 1)) if fourier else ()
        self.embed_in = max(hidden, 16)
        embed = 4 * hidden
        self.time = nn.Sequential(nn.Linear(self.embed_in, embed), nn.SiLU(), nn.Linear(embed, embed))
        self.classes = nn.Embedding(num_classes, embed) if num_classes else None
        self.inp = nn.Conv2d(channels * (1 + 2 * len(self.frequencies)), hidden, 3, padding=1)
        self.down = nn.ModuleList(ResBlock(hidden, hidden, embed, dropout) for _ in range(layers))
        self.middle = ResBlock(hidden, hidden, embed, dropout)
        self.up = nn.ModuleList(ResBlock(2 * hidden, hidden, embed, dropout) for _ in range(layers + 1))
        self.out_norm = _norm(hidden)
        self.out = nn.Conv2d(hidden, channels, 3, padding=1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def features(self, z: torch.Tensor) -> torch.Tensor:
        """z and its Fourier features, ``(B, C * (1 + 2 * len(frequencies)), H, W)``."""
        parts = [z]
        for w in self.frequencies:
            parts += [torch.sin(w * z), torch.cos(w * z)]
        return torch.cat(parts, dim=1)

    def forward(self, z: torch.Tensor, position: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        emb = self.time(timestep_embedding(position, self.embed_in))
        if self.classes is not None:
            emb = emb + self.classes(labels)
        emb = F.silu(emb)
        h = self.inp(self.features(z))
        skips = [h]
        for block in self.down:
            h = block(h, emb)
            skips.append(h)
        h = self.middle(h, emb)
        for block in self.up:
            h = block(torch.cat([h, skips.pop()], dim=1), emb)
        return self.out(F.silu(self.out_norm(h)))
