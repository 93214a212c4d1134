"""zoo plugin ``made``: the masked autoencoder for distribution estimation and its pretrained weights."""

from __future__ import annotations

import zoo

from .made import MADE, MADEConfig

__all__ = ["MADE", "MADEConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(MADE, description="MADE (Germain et al. 2015): a masked MLP; masks from a seed, exact K-mask mixtures")
