"""zoo-vae: variational autoencoders (Kingma & Welling) as a zoo plugin.

Architectures ``vae-bernoulli`` (binary images) and ``vae-gaussian`` (grey levels, with a
discretized Gaussian likelihood), and two bundled models trained on the digits.
"""

from __future__ import annotations

import zoo

from .base import VAE, VAEConfig
from .bernoulli import BernoulliVAE, BernoulliVAEConfig
from .bounds import elbo_terms, gaussian_kl, iwae_bound
from .gaussian import GaussianVAE, GaussianVAEConfig, discretized_gaussian_log_prob

__all__ = [
    "VAE",
    "VAEConfig",
    "BernoulliVAE",
    "BernoulliVAEConfig",
    "GaussianVAE",
    "GaussianVAEConfig",
    "gaussian_kl",
    "elbo_terms",
    "iwae_bound",
    "discretized_gaussian_log_prob",
]


@zoo.hookimpl
def zoo_register_models(register):
    register(BernoulliVAE, description="VAE, MLP encoder, Bernoulli decoder (binary images)")
    register(GaussianVAE, description="VAE, MLP encoder, discretized Gaussian decoder (grey levels)")
