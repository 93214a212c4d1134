"""zoo plugin ``vdm``: variational diffusion models (Kingma et al. 2021) with their bound as ``log_prob``."""

from __future__ import annotations

from pathlib import Path

import zoo

from .model import VDM, VDMConfig

__all__ = ["VDM", "VDMConfig"]

PRETRAINED = Path(__file__).parent / "pretrained"  # each folder's config.json and card give its entry the rest


@zoo.hookimpl
def zoo_register_models(register):
    register(VDM, description="VDM (Kingma et al. 2021): continuous-time diffusion, its variational bound in nats")
