"""The three terms of the VDM bound on discrete data, in nats per image, as plain functions of tensors.

For images ``x`` scaled to the level centres ``c_v = 2v / (levels - 1) - 1`` in [-1, 1]:

    -log p(x) <= KL(q(z_1|x) || N(0, I))                  prior term, closed form       (:func:`prior_kl`)
               + E_q(z_0|x)[-log p(x|z_0)]                reconstruction, one z_0 draw  (:func:`reconstruction`)
               + L_diffusion                              Monte Carlo over t and eps

with the continuous-time ``L_inf = 0.5 E_t,eps[gamma'(t) ||eps - eps_hat(z_t, t)||^2]``
(:func:`continuous_diffusion`) or, for the T-step model that ancestral sampling with T steps draws from,
``L_T = 0.5 T E_i,eps[expm1(gamma(t_i) - gamma(s_i)) ||eps - eps_hat||^2]``, ``t_i = i/T``, ``s_i = (i-1)/T``
(:func:`discrete_diffusion`); ``L_T >= L_inf`` for every T. Every Monte Carlo draw of each term is >= 0, so
every estimate of the bound is a log-probability <= 0 of the discrete image.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.sampling import randn  # re-exported: the model's noise is drawn by the core's one helper

__all__ = [
    "prior_kl",
    "decoder_logits",
    "grid_denoiser",
    "reconstruction",
    "continuous_diffusion",
    "discrete_diffusion",
    "stratified_times",
    "randn",
    "rand",
]


def prior_kl(scaled: torch.Tensor, gamma_1: torch.Tensor) -> torch.Tensor:
    """KL(N(alpha_1 x, sigma_1^2) || N(0, 1)) summed over each image's dimensions, ``(B,)`` nats.

    Per dimension ``0.5 (sigma^2 + alpha^2 x^2 - 1 - log sigma^2)``; with ``sigma^2 - 1 = -alpha^2`` and
    ``-log sigma^2 = softplus(-gamma)`` it is written without cancelling terms.
    """
    alpha2 = torch.sigmoid(-gamma_1)
    return (0.5 * (alpha2 * (scaled.pow(2) - 1.0) + F.softplus(-gamma_1))).flatten(1).sum(1)


def decoder_logits(z: torch.Tensor, gamma: torch.Tensor, levels: int) -> torch.Tensor:
    """Logits ``(B, levels, C, H, W)`` of each pixel's level v given ``z ~ N(alpha c_v, sigma^2)``, log-SNR ``-gamma``.

    The logit of level v is ``-0.5 (z / sigma - sqrt(SNR) c_v)^2`` (the constants cancel in the softmax), for
    ``gamma`` a scalar or broadcastable to ``z``. At ``gamma(0)`` this is VDM's factorised decoder
    p(x_i = v | z_0) ∝ q(z_0,i | x_i = v): a proper distribution over the ``levels`` bins of every pixel.
    At any other time it is the posterior over levels of a pixel whose levels are a priori independent
    and uniform, which :func:`grid_denoiser` turns into a noise estimate.
    """
    gamma = torch.as_tensor(gamma, dtype=z.dtype, device=z.device).expand_as(z)
    centres = torch.linspace(-1.0, 1.0, levels, dtype=z.dtype, device=z.device).view(1, levels, 1, 1, 1)
    scaled_z = z * torch.sigmoid(-gamma).rsqrt() * torch.exp(-0.5 * gamma)  # z / sigma, written without sigmoid(g)
    return -0.5 * (scaled_z.unsqueeze(1) - torch.exp(-0.5 * gamma).unsqueeze(1) * centres).pow(2)


def grid_denoiser(z: torch.Tensor, gamma: torch.Tensor, levels: int) -> torch.Tensor:
    """The noise estimate ``(z - alpha E[x | z]) / sigma`` of independent, uniform levels on the grid, shaped like z.

    The exact posterior-mean denoiser when every pixel's level is independent and uniform: at high SNR a
    pixel's level is all but certain from z_t, and this is the right noise to high precision, which a network
    learns only slowly (its error is weighted by gamma' over the whole low-noise half of [0, 1]). The
    model's network adds its correction to this estimate (``VDMConfig.grid_skip``).
    """
    gamma = torch.as_tensor(gamma, dtype=z.dtype, device=z.device).expand_as(z)
    probs = torch.softmax(decoder_logits(z, gamma, levels), dim=1)
    centres = torch.linspace(-1.0, 1.0, levels, dtype=z.dtype, device=z.device).view(1, levels, 1, 1, 1)
    mean = (probs * centres).sum(1)
    root_snr = torch.exp(-0.5 * gamma)
    return z * torch.sigmoid(-gamma).rsqrt() * root_snr - root_snr * mean


def reconstruction(x: torch.Tensor, z_0: torch.Tensor, gamma_0: torch.Tensor, levels: int) -> torch.Tensor:
    """``-log p(x | z_0)`` summed over each image, ``(B,)`` nats, for int64 images ``x`` and a draw ``z_0``."""
    return F.cross_entropy(decoder_logits(z_0, gamma_0, levels), x, reduction="none").flatten(1).sum(1)


def _squared_error(eps: torch.Tensor, eps_hat: torch.Tensor) -> torch.Tensor:
    return (eps - eps_hat).pow(2).flatten(1).sum(1)


def continuous_diffusion(eps: torch.Tensor, eps_hat: torch.Tensor, slope: torch.Tensor) -> torch.Tensor:
    """One draw of the continuous-time diffusion loss per image: ``0.5 gamma'(t) ||eps - eps_hat||^2``, ``(B,)``."""
    return 0.5 * slope * _squared_error(eps, eps_hat)


def discrete_diffusion(
    eps: torch.Tensor, eps_hat: torch.Tensor, gamma_t: torch.Tensor, gamma_s: torch.Tensor, steps: int
) -> torch.Tensor:
    """One draw of the T-step diffusion loss per image: ``0.5 T expm1(gamma_t - gamma_s) ||eps - eps_hat||^2``."""
    return 0.5 * steps * torch.expm1(gamma_t - gamma_s) * _squared_error(eps, eps_hat)


def rand(shape, like: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Uniform [0, 1) numbers of ``like``'s dtype and device, drawn on the generator's device when one is given."""
    if generator is None:
        return torch.rand(shape, dtype=like.dtype, device=like.device)
    return torch.rand(shape, generator=generator, dtype=like.dtype, device=generator.device).to(like.device)


def stratified_times(
    rows: int, cols: int, like: torch.Tensor, generator: torch.Generator | None = None
) -> torch.Tensor:
    """``(rows, cols)`` times in [0, 1): row r is ``(u_r + k / cols) mod 1``, k = 0..cols-1, one uniform ``u_r`` a row.

    VDM's low-discrepancy sampler: each row covers [0, 1) evenly (one time in each stratum of width
    1/cols) and is still uniform at every position, so the mean over a row is an unbiased estimate of the
    integral over t with far less variance than independent draws. Training uses one row over the batch
    (one t per image); ``log_prob`` one row per image with ``timesteps`` columns.
    """
    u = rand((rows, 1), like.new_empty((), dtype=torch.float64), generator)
    grid = torch.arange(cols, dtype=torch.float64, device=like.device) / cols
    return torch.remainder(u + grid, 1.0).to(like.dtype)
