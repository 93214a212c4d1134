"""zoo plugin ``pixelsnail``: causal convolution blocks interleaved with causal self-attention."""

from __future__ import annotations

import zoo

from .model import PixelSNAIL, PixelSNAILConfig

__all__ = ["PixelSNAIL", "PixelSNAILConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(
        PixelSNAIL,
        description="PixelSNAIL: gated causal convolutions and self-attention (Chen et al. 2018), cached sampler",
    )
