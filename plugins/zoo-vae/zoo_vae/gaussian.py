"""``vae-gaussian``: the VAE with a discretized Gaussian decoder for grey-level images.

A Gaussian density on discrete pixels is not a probability and grows without bound as
the variance shrinks, so it cannot be compared with pixel models. Instead level v is
mapped to the centre c_v = 2v/(levels-1) - 1 of a bin of half-width h = 1/(levels-1) in
[-1, 1], and p(v | z) is the Gaussian's probability mass on that bin,
Phi((c_v + h - mu)/s) - Phi((c_v - h - mu)/s), with the edges of the first and last
bins at -inf and +inf so the masses sum to one. Log-likelihoods are then in nats of a
discrete distribution, and bits/dim are comparable with PixelCNN and friends.
"""

from __future__ import annotations

from typing import Literal

import torch
from pydantic import Field
from torch import nn

from .base import VAE, VAEConfig
from .bounds import randn

__all__ = ["GaussianVAEConfig", "GaussianVAE", "discretized_gaussian_log_prob", "log_diff_ndtr"]

LOGVAR_MIN, LOGVAR_MAX = -14.0, 6.0  # keeps the standardised bin edges finite in float32


def _log1mexp(a: torch.Tensor) -> torch.Tensor:
    """log(1 - exp(a)) for a <= 0, accurate on both sides of -log 2 (Maechler's recipe)."""
    a = a.clamp(max=-1e-30)
    return torch.where(a > -0.6931471805599453, torch.log(-torch.expm1(a)), torch.log1p(-torch.exp(a)))


def log_diff_ndtr(lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
    """log(Phi(hi) - Phi(lo)) for lo < hi, in log space: right far in the tails, but slower.

    Above zero, Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi) avoids subtracting two numbers near one.
    """
    flip = (lo + hi) > 0
    a, b = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    log_b = torch.special.log_ndtr(b)
    return log_b + _log1mexp(torch.special.log_ndtr(a) - log_b)


def discretized_gaussian_log_prob(
    x: torch.Tensor, mean: torch.Tensor, logvar: torch.Tensor, levels: int
) -> torch.Tensor:
    """Elementwise log P(level x) under N(mean, exp(logvar)) binned on [-1, 1] (see the module docstring).

    In float64. The bin [lo, hi] in standard units is first reflected to lie mostly below zero
    (Phi(hi) - Phi(lo) = Phi(-lo) - Phi(-hi)), where the difference of two erfc values is
    precise; the open-ended extreme bins use +-1e30 as their far edge. Only bins whose upper
    edge is more than 25 standard deviations below the mean, where erfc underflows, take the
    slower log-space route.
    """
    h = 1.0 / (levels - 1)
    centre = x.to(torch.float64) * (2 * h) - 1.0
    mean64 = mean.to(torch.float64)
    inv_s = torch.exp(-0.5 * logvar.to(torch.float64))
    lo = torch.where(x == 0, -_FAR, (centre - h - mean64) * inv_s)
    hi = torch.where(x == levels - 1, _FAR, (centre + h - mean64) * inv_s)
    flip = (lo + hi) > 0
    a, b = torch.where(flip, -hi, lo), torch.where(flip, -lo, hi)
    p = 0.5 * (torch.erfc(b * -_SQRT1_2) - torch.erfc(a * -_SQRT1_2))
    out = torch.log(p.clamp_min(1e-300))
    tail = b < -25.0
    if tail.any():
        out = out.index_put((tail,), log_diff_ndtr(a[tail], b[tail]))
    return out.to(mean.dtype)


_FAR = 1e30
_SQRT1_2 = 0.7071067811865476


class GaussianVAEConfig(VAEConfig):
    """The decoder's variance is learned: one per pixel, one for all pixels, or output by the decoder."""

    variance: Literal["pixel", "global", "decoder"] = Field(
        "pixel", description="learned variance: per pixel, one global value, or a function of z"
    )


class GaussianVAE(VAE):
    """VAE with an MLP encoder and a discretized Gaussian decoder for grey-level images."""

    architecture = "vae-gaussian"
    config_class = GaussianVAEConfig

    def __init__(self, config: GaussianVAEConfig):
        super().__init__(config)
        self._outputs = self.outputs_per_pixel(config)
        if config.variance == "pixel":
            self.logvar = nn.Parameter(torch.zeros(config.shape))
        elif config.variance == "global":
            self.logvar = nn.Parameter(torch.zeros(()))

    @classmethod
    def outputs_per_pixel(cls, config: GaussianVAEConfig) -> int:
        return 2 if config.variance == "decoder" else 1

    def decode(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, logvar)`` of the Gaussian before discretization, each ``(M, C, H, W)``, on the [-1, 1] scale."""
        out = self.decoder(z).view(-1, self._outputs, *self.config.shape)
        mean = out[:, 0]
        logvar = out[:, 1] if self._outputs == 2 else self.logvar.expand_as(mean)
        return mean, logvar.clamp(LOGVAR_MIN, LOGVAR_MAX)

    def log_likelihood(self, x: torch.Tensor, params) -> torch.Tensor:
        mean, logvar = params
        return discretized_gaussian_log_prob(x, mean, logvar, self.config.levels).flatten(1).sum(1)

    def _to_levels(self, y: torch.Tensor) -> torch.Tensor:
        """The level whose bin holds y; the extreme bins reach to -inf and +inf."""
        top = self.config.levels - 1
        return torch.round((y + 1.0) * (top / 2.0)).clamp(0, top).long()

    def draw(self, params, generator, temperature):
        """Exact draws from the discretized Gaussian: a Gaussian draw, then the bin it falls in."""
        mean, logvar = params
        eps = randn(mean.shape, mean, generator)
        return self._to_levels(mean + temperature * (0.5 * logvar).exp() * eps)

    def mode(self, params):
        """The level nearest the Gaussian's mean (the ``mean=True`` images of ``sample``)."""
        return self._to_levels(params[0])

    def mean_intensity(self, params):
        """The level nearest the mean, on [0, 1]."""
        return self.mode(params).to(params[0].dtype) / (self.config.levels - 1)
