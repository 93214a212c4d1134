"""zoo plugin ``nade``: the neural autoregressive distribution estimator and its pretrained weights."""

from __future__ import annotations

import zoo

from .nade import NADE, NADEConfig

__all__ = ["NADE", "NADEConfig"]

MNIST = zoo.PretrainedEntry(
    name="nade-binarized-mnist",
    architecture="nade",
    dataset="binarized-mnist",
    dataset_options={"dynamic": True},
    description="NADE (hidden 500) on dynamically binarized MNIST 28x28; 88 minutes (29 epochs) on one thread "
    "of a 2-core CPU; bundled",
    bundled="nade-binarized-mnist",
    sha256="922851c44681bc99c2bd25c975efd38bc38259f5471e62b06a71a6c31aed63be",
    repo_id="zoo-models/nade-binarized-mnist",
    published=False,
    recipe=(
        "zoo train nade --dataset binarized-mnist --data-option dynamic=true --set hidden=500 --set "
        "max_minutes=88 --set batch_size=64 --set lr=0.002 --set schedule=cosine --set ema=0.999 --set "
        "eval_batch_size=500 --set checkpoint_every=200 --out nade-binarized-mnist && zoo eval "
        "nade-binarized-mnist --save"
    ),
)


@zoo.hookimpl
def zoo_register_models(register):
    register(NADE, description="NADE (Larochelle & Murray 2011): tied-weight autoregressive network, O(D·H) exact")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(MNIST)
