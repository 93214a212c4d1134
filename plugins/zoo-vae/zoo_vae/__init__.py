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


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "vae-bernoulli-binarized-mnist",
            sha256="53eee8d30a67aa9592c742306c575f74da579eebfcf7538110d7b31ca28be0ea",
            description="MLP VAE (z=50, hidden 500-500) with a Bernoulli decoder on dynamically binarized MNIST; "
            "trained on a 2-core CPU; bundled",
            repo_id="zoo-models/vae-bernoulli-binarized-mnist",
            published=False,
        )
    )
    register(
        zoo.bundled_entry(
            "vae-gaussian-mnist",
            sha256="e8a6c11d21a5fc8930c27131af40d3781a987266e556f83ca29cf5ac809bd6b5",
            description="MLP VAE (z=50, hidden 500-500) with a discretized Gaussian decoder on 256-level MNIST; "
            "trained on a 2-core CPU; bundled",
            repo_id="zoo-models/vae-gaussian-mnist",
            published=False,
        )
    )
    register(
        zoo.bundled_entry(
            "vae-bernoulli-digits",
            sha256="64b87e78f5c05ba745688fa66754aad5656c8eb35780223c2b3ce10966bb6eb7",
            description="MLP VAE (z=8, hidden 128) with a Bernoulli decoder on binarized 8x8 digits, bundled",
        )
    )
    register(
        zoo.bundled_entry(
            "vae-gaussian-digits",
            sha256="b0a534429a6458006e72bb94c166c21cc83e7030a96cb2e4085acade5e621f9a",
            description="MLP VAE (z=8, hidden 128) with a discretized Gaussian decoder on 17-level 8x8 digits, bundled",
        )
    )
