"""zoo plugin ``made``: the masked autoencoder for distribution estimation and its pretrained weights."""

from __future__ import annotations

import zoo

from .made import MADE, MADEConfig

__all__ = ["MADE", "MADEConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(MADE, description="MADE (Germain et al. 2015): a masked MLP; masks from a seed, exact K-mask mixtures")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "made-binarized-mnist",
            sha256="ede1893131bcf2621861be58054b41dd446edd7c102c297958859e108d84eb45",
            description="MADE (one hidden layer of 4000, one mask) on dynamically binarized MNIST 28x28; 88 minutes "
            "on one thread of a 2-core CPU; weights in bfloat16; bundled",
            repo_id="zoo-models/made-binarized-mnist",
            published=False,
        )
    )
