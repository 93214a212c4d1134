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


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "pixelsnail-binarized-mnist",
            sha256="a082bb7e88e0dc9221a723d0b6c827d51dcd1f263355cfec541f8d17d26c2521",
            description="PixelSNAIL (hidden 64, 4 blocks) on dynamically binarized MNIST 28x28; 135 minutes "
            "(6 epochs) in bf16 on one thread of a 2-core CPU; bundled",
            repo_id="zoo-models/pixelsnail-binarized-mnist",
            published=False,
        )
    )
