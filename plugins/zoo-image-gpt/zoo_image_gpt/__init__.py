"""zoo plugin ``image-gpt``: a decoder-only transformer over the raster sequence of pixel values."""

from __future__ import annotations

import zoo

from .model import ImageGPT, ImageGPTConfig

__all__ = ["ImageGPT", "ImageGPTConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(ImageGPT, description="ImageGPT: a causal pixel transformer (Chen et al. 2020) with a key/value cache")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "image-gpt-binarized-mnist",
            sha256="92fc7db6e95245b9df6358083094b9d5c352f252e88651fc4b074a660abc82fb",
            description="ImageGPT (hidden 32, 4 blocks, 2 heads) on dynamically binarized MNIST 28x28; 135 minutes "
            "(8 epochs) in bf16 on one thread of a 2-core CPU; bundled",
            repo_id="zoo-models/image-gpt-binarized-mnist",
            published=False,
        )
    )
