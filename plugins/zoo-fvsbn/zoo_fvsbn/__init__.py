"""zoo plugin ``fvsbn``: the fully visible sigmoid belief net and its pretrained weights."""

from __future__ import annotations

import zoo

from .fvsbn import FVSBN, FVSBNConfig

__all__ = ["FVSBN", "FVSBNConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(FVSBN, description="Fully visible sigmoid belief net (Frey 1998): a logistic regression per dimension")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "fvsbn-binarized-mnist",
            sha256="c6bc9502672f08e17feaf47d4b631932dc9768fe7e986e2c236d8d477dd90b41",
            description="FVSBN on dynamically binarized MNIST 28x28; 60 epochs on one thread of a 2-core CPU; bundled",
            repo_id="zoo-models/fvsbn-binarized-mnist",
            published=False,
        )
    )
