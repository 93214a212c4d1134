"""The diagonal Gaussians of the hierarchy: their parameterization, log densities, closed-form KL and draws.

Kept apart from the networks so they are tested against ``torch.distributions`` on their own. Every
function works elementwise on tensors of one shape; the callers sum over a layer's latent map.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zoo.sampling import randn  # re-exported: the draws of every layer go through the core's one helper

__all__ = ["MIN_STD", "std_from", "log_normal", "log_normal_at_eps", "gaussian_kl", "randn"]

LOG_2PI = math.log(2.0 * math.pi)
MIN_STD = 1e-3  # keeps log densities and the KL finite when a layer becomes very sure of itself
_SHIFT = math.log(math.expm1(1.0 - MIN_STD))  # std_from(0) == 1: fresh layers start at the standard normal


def std_from(raw: torch.Tensor) -> torch.Tensor:
    """A standard deviation from an unconstrained network output: MIN_STD + softplus, equal to 1 at 0.

    Softplus rather than exp: its growth is linear, so one large output cannot overflow the KL.
    """
    return MIN_STD + F.softplus(raw + _SHIFT)


def log_normal(z: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, std^2), elementwise."""
    return -0.5 * (((z - mean) / std).pow(2) + LOG_2PI) - std.log()


def log_normal_at_eps(eps: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """log N(z; mean, std^2) at z = mean + std * eps, written with eps: exact and cheaper."""
    return -0.5 * (eps.pow(2) + LOG_2PI) - std.log()


def gaussian_kl(mean_q: torch.Tensor, std_q: torch.Tensor, mean_p: torch.Tensor, std_p: torch.Tensor) -> torch.Tensor:
    """KL(N(mean_q, std_q^2) || N(mean_p, std_p^2)), elementwise, in closed form:
    log(std_p / std_q) + (std_q^2 + (mean_q - mean_p)^2) / (2 std_p^2) - 1/2."""
    ratio = (std_q / std_p).pow(2)
    return 0.5 * (ratio + ((mean_q - mean_p) / std_p).pow(2) - 1.0 - ratio.log())
