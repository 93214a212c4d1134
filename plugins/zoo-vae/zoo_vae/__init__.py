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
    "RECIPES",
]

RECIPES = {
    "vae-bernoulli-binarized-mnist": (
        "zoo train vae-bernoulli --dataset binarized-mnist --data-option dynamic=true --set latent=50 "
        "--set 'hidden=[500, 500]' --set batch_size=100 --set epochs=120 --set schedule=cosine "
        "--set validate_every=50 --set eval_batch_size=500 --out vae-bernoulli-binarized-mnist && "
        "zoo eval vae-bernoulli-binarized-mnist --save"
    ),
    "vae-gaussian-mnist": (
        "zoo train vae-gaussian --dataset mnist --set latent=50 --set 'hidden=[500, 500]' --set eval_samples=100 "
        "--set batch_size=100 --set epochs=15 --set schedule=cosine --set validate_every=15 --set eval_batch_size=500 "
        "--out vae-gaussian-mnist && zoo eval vae-gaussian-mnist --save"
    ),
    "vae-bernoulli-digits": (
        "zoo train vae-bernoulli --dataset digits-binarized --epochs 300 --set lr=0.002 "
        "--out vae-bernoulli-digits && "
        "zoo eval vae-bernoulli-digits --dataset digits-binarized --save"
    ),
    "vae-gaussian-digits": (
        "zoo train vae-gaussian --dataset digits --epochs 100 --set batch_size=16 --set lr=0.002 "
        "--out vae-gaussian-digits && "
        "zoo eval vae-gaussian-digits --dataset digits --save"
    ),
}


@zoo.hookimpl
def zoo_register_models(register):
    register(BernoulliVAE, description="VAE, MLP encoder, Bernoulli decoder (binary images)")
    register(GaussianVAE, description="VAE, MLP encoder, discretized Gaussian decoder (grey levels)")


MNIST_ENTRIES = [
    zoo.PretrainedEntry(
        name="vae-bernoulli-binarized-mnist",
        architecture="vae-bernoulli",
        dataset="binarized-mnist",
        dataset_options={"dynamic": True},
        description="MLP VAE (z=50, hidden 500-500) with a Bernoulli decoder on dynamically binarized MNIST; "
        "trained on a 2-core CPU; bundled",
        bundled="vae-bernoulli-binarized-mnist",
        sha256="c2de5284e5316e4a1dc1a7a795084e255b7baa11361ba1b337144d16805f84b4",
        repo_id="zoo-models/vae-bernoulli-binarized-mnist",
        published=False,
        recipe=RECIPES["vae-bernoulli-binarized-mnist"],
    ),
    zoo.PretrainedEntry(
        name="vae-gaussian-mnist",
        architecture="vae-gaussian",
        dataset="mnist",
        description="MLP VAE (z=50, hidden 500-500) with a discretized Gaussian decoder on 256-level MNIST; "
        "trained on a 2-core CPU; bundled",
        bundled="vae-gaussian-mnist",
        sha256="e8a6c11d21a5fc8930c27131af40d3781a987266e556f83ca29cf5ac809bd6b5",
        repo_id="zoo-models/vae-gaussian-mnist",
        published=False,
        recipe=RECIPES["vae-gaussian-mnist"],
    ),
]


@zoo.hookimpl
def zoo_register_pretrained(register):
    for entry in MNIST_ENTRIES:
        register(entry)
    register(
        zoo.PretrainedEntry(
            name="vae-bernoulli-digits",
            architecture="vae-bernoulli",
            dataset="digits-binarized",
            description="MLP VAE (z=8, hidden 128) with a Bernoulli decoder on binarized 8x8 digits, bundled",
            bundled="vae-bernoulli-digits",
            recipe=RECIPES["vae-bernoulli-digits"],
        )
    )
    register(
        zoo.PretrainedEntry(
            name="vae-gaussian-digits",
            architecture="vae-gaussian",
            dataset="digits",
            description="MLP VAE (z=8, hidden 128) with a discretized Gaussian decoder on 17-level 8x8 digits, bundled",
            bundled="vae-gaussian-digits",
            recipe=RECIPES["vae-gaussian-digits"],
        )
    )
