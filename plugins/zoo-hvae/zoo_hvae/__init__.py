"""zoo-hvae: a hierarchical VAE with top-down inference (ladder VAE / VD-VAE) as a zoo plugin.

Architecture ``hvae``; its ``log_prob`` is the importance-weighted bound, marked as a bound
(``nll_estimator``) like the VAE's, and a bundled model trained on the binarized digits.
"""

from __future__ import annotations

import zoo

from .gaussians import gaussian_kl, log_normal, std_from
from .model import HVAE, HVAEConfig

__all__ = ["HVAE", "HVAEConfig", "gaussian_kl", "log_normal", "std_from"]


@zoo.hookimpl
def zoo_register_models(register):
    register(HVAE, description="Hierarchical VAE, top-down inference (ladder VAE / VD-VAE), IWAE bound")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "hvae-digits-binarized",
            sha256="58e46b06c77d3caed64ac8207bf8287e9e9800ae0a7efd43738ed5be28a6bde1",
            description="hierarchical VAE (hidden 32, 4 stochastic layers of 4x4x4) on binarized 8x8 digits, bundled",
        )
    )
