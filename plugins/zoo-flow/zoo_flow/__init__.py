"""zoo-flow: normalizing flows as a zoo plugin.

Architectures ``nice`` (Dinh et al. 2014, additive coupling) and ``glow`` (Kingma & Dhariwal 2018,
a multiscale flow of actnorm, invertible 1x1 convolutions and affine coupling), both on integer
images through uniform or variational dequantization, and two bundled models of the 8x8 digits.
"""

from __future__ import annotations

import zoo

from .base import Flow, FlowConfig
from .dequantization import UniformDequantizer, VariationalDequantizer
from .glow import Glow, GlowConfig
from .nice import NICE, NICEConfig

__all__ = [
    "Flow",
    "FlowConfig",
    "NICE",
    "NICEConfig",
    "Glow",
    "GlowConfig",
    "UniformDequantizer",
    "VariationalDequantizer",
]


BUNDLED = {  # name: (sha256 of model.safetensors, description)
    "nice-digits": (
        "e0bf0c049b2c110ed2d57021e77b3b5515dbff7a2c3d10add0d8b135e4c4611b",
        "NICE (6 additive couplings, MLPs of 2x128, uniform dequantization) on 17-level 8x8 digits, bundled",
    ),
    "glow-digits": (
        "1754f6ec504471a53fa0b0d479603a80d4303f5619abf7243813a2beae686626",
        "Glow-style flow (2 scales x 4 steps, 32 maps, variational dequantization) on 17-level 8x8 digits, bundled",
    ),
}


@zoo.hookimpl
def zoo_register_pretrained(register):
    for name, (sha256, description) in BUNDLED.items():
        register(zoo.bundled_entry(name, sha256=sha256, description=description))


@zoo.hookimpl
def zoo_register_models(register):
    register(NICE, description="NICE: additive coupling layers and a diagonal scaling (dequantization bound)")
    register(Glow, description="Glow-style multiscale flow: actnorm, 1x1 convs, affine coupling (dequantization bound)")
