"""zoo plugin ``image-gpt``: a decoder-only transformer over the raster sequence of pixel values."""

from __future__ import annotations

import zoo

from .model import ImageGPT, ImageGPTConfig

__all__ = ["ImageGPT", "ImageGPTConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(ImageGPT, description="ImageGPT: a causal pixel transformer (Chen et al. 2020) with a key/value cache")
