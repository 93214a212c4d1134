"""Dequantization: how a density on real numbers gives a probability to an integer image.

A flow has a density p on R^D; an image x of integer levels has a probability
P(x) = integral over u in [0, 1)^D of p(x + u) du (the mass of the unit cube at x). For any
distribution q(u | x) on the cube, Jensen's inequality gives the bound that training maximises,

    log P(x) >= E_q[log p(x + u) - log q(u | x)],

and the importance-weighted average over k draws, log (1/k) sum_i p(x + u_i) / q(u_i | x), is
a tighter lower bound that grows with k (Burda et al. 2015; Ho et al. 2019, Flow++, section 3.1).

* :class:`UniformDequantizer`: q is uniform on the cube (log q = 0), Theis et al. 2016.
* :class:`VariationalDequantizer`: q(u | x) = sigmoid(mu(x) + sigma(x) * eps), eps ~ N(0, I), a
  conditional Gaussian in logit space whose parameters a small conv net reads from the image: the
  one-step case of Flow++'s conditional dequantizing flow. It is trained jointly with the flow and
  can only tighten the bound where the uniform noise was a poor fit.

NOTE: Flow++ stacks several conditional coupling layers before the sigmoid; this dequantizer is a
single conditional affine step, which keeps it small and its log q in closed form.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo.sampling import randn

__all__ = ["UniformDequantizer", "VariationalDequantizer", "draw_like"]

LOG_2PI = math.log(2.0 * math.pi)


def draw_like(kind: str, shape, like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Uniform (``"rand"``) or standard normal (``"randn"``) noise of ``like``'s device and dtype.

    With a generator the numbers are drawn on its device, then moved: a seed gives the same draw on every device.
    """
    if kind != "rand":
        return randn(shape, like, generator)
    if generator is None:
        return torch.rand(shape, device=like.device, dtype=like.dtype)
    return torch.rand(shape, generator=generator, device=generator.device).to(like.device, like.dtype)


class UniformDequantizer(nn.Module):
    """u ~ U[0, 1)^D independently of x: log q(u | x) = 0."""

    def forward(self, x: torch.Tensor, like: torch.Tensor, generator: torch.Generator | None = None):
        """``(u, log_q)``: noise of ``x``'s shape in ``like``'s dtype, and zeros ``(B,)``."""
        u = draw_like("rand", x.shape, like, generator)
        return u, u.new_zeros(x.shape[0])


class VariationalDequantizer(nn.Module):
    """q(u | x) = sigmoid(mu + sigma * eps): a conditional logit-Gaussian on the unit cube.

    The net reads the image scaled to [-1, 1] and outputs (mu, log sigma) per channel and pixel; its
    last layer starts at zero, so q starts as sigmoid(N(0, 1)), a bump on the middle of the cube.
    """

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, hidden, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(hidden, 2 * channels, 3, padding=1),
        )
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)

    def forward(self, x: torch.Tensor, scaled: torch.Tensor, generator: torch.Generator | None = None):
        """``(u, log_q)`` for int images ``x`` whose network input is ``scaled`` (floats in [-1, 1])."""
        mu, log_sigma = self.net(scaled).chunk(2, dim=1)
        eps = draw_like("randn", x.shape, scaled, generator)
        s = mu + log_sigma.exp() * eps
        u = torch.sigmoid(s)
        # log q(u) = log N(eps) - log sigma - log sigmoid'(s), and -log sigmoid'(s) = softplus(s) + softplus(-s)
        log_q = -0.5 * (eps.pow(2) + LOG_2PI) - log_sigma + F.softplus(s) + F.softplus(-s)
        return u, log_q.flatten(1).sum(1)
