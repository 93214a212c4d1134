"""Noise schedules: gamma(t), the negative log signal-to-noise ratio of the diffusion at time t in [0, 1].

The forward process is variance preserving, ``z_t = alpha_t x + sigma_t eps`` with ``alpha_t^2 =
sigmoid(-gamma(t))`` and ``sigma_t^2 = sigmoid(gamma(t))``, so ``SNR(t) = exp(-gamma(t))``. A schedule is
monotone increasing (noise grows with t) and returns ``gamma(t)`` together with ``gamma'(t)``, the weight of
the continuous-time diffusion loss. Its two ends decide the bound's other terms: ``gamma(0)`` the
reconstruction at t=0, ``gamma(1)`` the prior at t=1 (Kingma et al. 2021, section 3-5).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["Gamma", "LinearSchedule", "LearnedSchedule", "alpha_sigma"]


class Gamma(NamedTuple):
    """A schedule at times ``t``: ``value`` gamma(t), ``slope`` gamma'(t) (both shaped like t), and ``shape``:
    the tensors through which the learned schedule's interior (not its ends) reaches the loss, for
    :meth:`LearnedSchedule.minimise_variance`; empty for the fixed schedule."""

    value: torch.Tensor
    slope: torch.Tensor
    shape: tuple[torch.Tensor, ...] = ()


def alpha_sigma(gamma: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(alpha, sigma)`` of the variance-preserving process at log-SNR ``-gamma``."""
    return torch.sigmoid(-gamma).sqrt(), torch.sigmoid(gamma).sqrt()


class LinearSchedule(nn.Module):
    """gamma(t) = gamma_min + (gamma_max - gamma_min) t: the fixed linear log-SNR schedule, no parameters."""

    def __init__(self, gamma_min: float, gamma_max: float):
        super().__init__()
        self.gamma_min, self.gamma_max = float(gamma_min), float(gamma_max)

    def forward(self, t: torch.Tensor) -> Gamma:
        span = self.gamma_max - self.gamma_min
        return Gamma(self.gamma_min + span * t, torch.full_like(t, span))

    def ends(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """gamma(0) and gamma(1) as scalar tensors of ``like``'s dtype and device."""
        return like.new_tensor(self.gamma_min), like.new_tensor(self.gamma_max)


def _inverse_softplus(y: float) -> float:
    return y + math.log(-math.expm1(-y))


class LearnedSchedule(nn.Module):
    """VDM's learned monotone schedule: ``gamma(t) = gamma_0 + (gamma_1 - gamma_0) s(t)``.

    ``s`` is a monotone network normalised to ``s(0) = 0``, ``s(1) = 1``: ``f(t) = l1(t) + l3(sigmoid(l2(l1(t))))``
    with positive weights (softplus of free parameters), ``s(t) = (f(t) - f(0)) / (f(1) - f(0))``. Its derivative
    is written out, so gamma'(t) costs no extra autograd pass. The ends ``gamma_0 < gamma_1`` are learned
    through the bound (they trade the reconstruction and prior terms against the diffusion loss); the
    interior does not change the continuous-time loss in expectation (VDM's invariance), so its parameters
    are trained to lower the variance of the Monte Carlo estimate instead (:meth:`minimise_variance`). It
    starts at the linear schedule from ``gamma_min`` to ``gamma_max`` (the sigmoid part starts near zero).
    """

    def __init__(self, gamma_min: float, gamma_max: float, hidden: int = 1024):
        super().__init__()
        self.gamma_0 = nn.Parameter(torch.tensor(float(gamma_min)))
        self.gap = nn.Parameter(torch.tensor(_inverse_softplus(gamma_max - gamma_min)))  # gamma_1 - gamma_0 > 0
        self.slope = nn.Parameter(torch.tensor(_inverse_softplus(1.0)))
        self.offset = nn.Parameter(torch.tensor(0.0))
        self.hidden_weight = nn.Parameter(torch.randn(hidden) * 0.5)
        self.hidden_bias = nn.Parameter(torch.randn(hidden))
        self.out_weight = nn.Parameter(torch.full((hidden,), _inverse_softplus(1.0 / hidden)))

    def _monotone(self, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``f(t)`` and ``f'(t)`` of the unnormalised monotone network, each shaped like ``t``."""
        a = F.softplus(self.slope)
        w2, w3 = F.softplus(self.hidden_weight), F.softplus(self.out_weight)
        u = a * t + self.offset
        v = torch.sigmoid(u.unsqueeze(-1) * w2 + self.hidden_bias)
        f = u + (v * w3).sum(-1)
        df = a + (v * (1 - v) * w2 * w3).sum(-1) * a
        return f, df

    def forward(self, t: torch.Tensor) -> Gamma:
        f, df = self._monotone(t)
        f_ends, _ = self._monotone(torch.tensor([0.0, 1.0], dtype=t.dtype, device=t.device))
        span = f_ends[1] - f_ends[0]
        s, ds = (f - f_ends[0]) / span, df / span
        gap = F.softplus(self.gap)
        return Gamma(self.gamma_0 + gap * s, gap * ds, (s, ds))

    def ends(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """gamma(0) and gamma(1): exactly the learned ends (s(0) = 0 and s(1) = 1 by construction)."""
        gamma_0 = self.gamma_0.to(like.dtype)
        return gamma_0, gamma_0 + F.softplus(self.gap).to(like.dtype)

    @staticmethod
    def minimise_variance(gamma: Gamma, per_image: torch.Tensor) -> None:
        """Make the interior's gradient that of the mean of ``per_image ** 2`` instead of the mean of ``per_image``.

        ``per_image`` is the diffusion loss of each image, one t each, and the loss being differentiated
        is its batch mean (plus terms that do not depend on the interior). Its expectation does not depend
        on the interior, so the gradient of its second moment is the gradient of its variance (VDM,
        appendix I.2): a hook on the per-image shape tensors multiplies what reaches them by
        ``2 * per_image``, leaving every other parameter's gradient untouched.
        """
        weight = 2.0 * per_image.detach()
        for tensor in gamma.shape:
            if tensor.requires_grad:
                tensor.register_hook(lambda grad, w=weight: grad * w)
