"""The continuous core of the VAE: Gaussian KL, the two SGVB estimators (with a β weight) and the IWAE bound.

Everything here works on any ``log_lik(z)`` callable, so it is tested on a case with a
known answer (probabilistic PCA) independently of the image decoders.

Shapes: ``mu`` and ``logvar`` of q(z|x) are ``(B, d)``; ``log_lik`` maps latents
``(N, B, d)`` to ``log p(x|z)`` of shape ``(N, B)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from zoo.bounds import importance_weighted
from zoo.sampling import randn  # re-exported: the plugin's callers and tests draw their noise through it

__all__ = ["gaussian_kl", "log_standard_normal", "elbo_terms", "iwae_bound", "randn"]

LOG_2PI = math.log(2.0 * math.pi)
LogLik = Callable[[torch.Tensor], torch.Tensor]


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) per row, in closed form: 0.5 sum(mu^2 + s^2 - 1 - log s^2)."""
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log N(z; 0, I), summed over the last dimension."""
    return -0.5 * (z.pow(2) + LOG_2PI).sum(-1)


def _log_q(eps: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log q(z|x) at z = mu + sigma * eps, written with eps so it is exact and cheap."""
    return -0.5 * (eps.pow(2) + logvar + LOG_2PI).sum(-1)


def elbo_terms(
    log_lik: LogLik,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    samples: int = 1,
    estimator: str = "B",
    generator: torch.Generator | None = None,
    beta: float = 1.0,
) -> torch.Tensor:
    """``(L, B)`` single-sample ELBO estimates; their mean over L is the SGVB estimator.

    A: log p(x|z) + beta * (log p(z) - log q(z|x)) at each z (no closed form needed).
    B: log p(x|z) - beta * KL(q || p) with the KL in closed form (lower variance; the default).
    Both are unbiased for the same objective; gradients flow through z = mu + sigma * eps.
    ``beta`` = 1 is the ELBO (computed exactly as before beta existed). Another value is the β-VAE
    objective of Higgins et al.: a looser lower bound on log p(x) for beta > 1, no bound at all for
    beta < 1, so it is a training loss only, never a reported likelihood.
    """
    if estimator not in ("A", "B"):
        raise ValueError(f"estimator must be 'A' or 'B', got {estimator!r}")
    if samples < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if not beta >= 0:
        raise ValueError(f"beta must be >= 0, got {beta}")
    eps = randn((samples, *mu.shape), mu, generator)
    z = mu + (0.5 * logvar).exp() * eps
    ll = log_lik(z)
    if estimator == "A":
        if beta == 1.0:
            return ll + log_standard_normal(z) - _log_q(eps, logvar)
        return ll + beta * (log_standard_normal(z) - _log_q(eps, logvar))
    return ll - (gaussian_kl(mu, logvar) if beta == 1.0 else beta * gaussian_kl(mu, logvar))


def iwae_bound(
    log_lik: LogLik,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    k: int,
    chunk: int = 100,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """``(B,)`` importance-weighted bound log (1/k) sum_i p(x, z_i) / q(z_i|x), z_i ~ q(z|x).

    A lower bound on log p(x) for every k, non-decreasing in k in expectation, equal to the
    ELBO at k = 1 and to log p(x) as k grows (Burda et al.). Latents are drawn ``chunk`` at a
    time so memory stays at ``chunk`` decoder passes per image whatever k is.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")

    def log_weights(m: int) -> torch.Tensor:
        eps = randn((m, *mu.shape), mu, generator)
        z = mu + (0.5 * logvar).exp() * eps
        return log_lik(z) + log_standard_normal(z) - _log_q(eps, logvar)

    return importance_weighted(log_weights, k, chunk)
