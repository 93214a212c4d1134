"""zoo plugin ``vdm``: variational diffusion models (Kingma et al. 2021) with their bound as ``log_prob``."""

from __future__ import annotations

import zoo

from .model import VDM, VDMConfig

__all__ = ["VDM", "VDMConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(VDM, description="VDM (Kingma et al. 2021): continuous-time diffusion, its variational bound in nats")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "vdm-digits",
            sha256="6bca8cd9c1047f7b7f7c7649601a07657c66ea42d005a8cd2aae610c8814f879",
            description="VDM (hidden 48, 2 blocks a side, linear log-SNR schedule) on 17-level 8x8 digits; a 4-minute "
            "budget on one thread of a 2-core CPU; bundled",
        )
    )
