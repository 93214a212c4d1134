"""zoo plugin ``nade``: the neural autoregressive distribution estimator and its pretrained weights."""

from __future__ import annotations

import zoo

from .nade import NADE, NADEConfig

__all__ = ["NADE", "NADEConfig"]


@zoo.hookimpl
def zoo_register_models(register):
    register(NADE, description="NADE (Larochelle & Murray 2011): tied-weight autoregressive network, O(D·H) exact")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "nade-binarized-mnist",
            sha256="922851c44681bc99c2bd25c975efd38bc38259f5471e62b06a71a6c31aed63be",
            description="NADE (hidden 500) on dynamically binarized MNIST 28x28; 88 minutes (29 epochs) on one "
            "thread of a 2-core CPU; bundled",
            repo_id="zoo-models/nade-binarized-mnist",
            published=False,
        )
    )
