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


@zoo.hookimpl
def zoo_register_models(register):
    register(NICE, description="NICE: additive coupling layers and a diagonal scaling (dequantization bound)")
    register(Glow, description="Glow-style multiscale flow: actnorm, 1x1 convs, affine coupling (dequantization bound)")
