"""zoo plugin ``fvsbn``: the fully visible sigmoid belief net and its pretrained weights."""

from __future__ import annotations

import zoo

from .fvsbn import FVSBN, FVSBNConfig

__all__ = ["FVSBN", "FVSBNConfig"]

MNIST = zoo.PretrainedEntry(
    name="fvsbn-binarized-mnist",
    architecture="fvsbn",
    dataset="binarized-mnist",
    dataset_options={"dynamic": True},
    description="FVSBN on dynamically binarized MNIST 28x28; 60 epochs on one thread of a 2-core CPU; bundled",
    bundled="fvsbn-binarized-mnist",
    sha256="c6bc9502672f08e17feaf47d4b631932dc9768fe7e986e2c236d8d477dd90b41",
    repo_id="zoo-models/fvsbn-binarized-mnist",
    published=False,
    recipe="zoo train fvsbn --dataset binarized-mnist --data-option dynamic=true --set epochs=60 --set batch_size=64 "
    "--set lr=0.003 --set schedule=cosine --set eval_batch_size=1000 --out fvsbn-binarized-mnist "
    "&& zoo eval fvsbn-binarized-mnist --save",
)


@zoo.hookimpl
def zoo_register_models(register):
    register(FVSBN, description="Fully visible sigmoid belief net (Frey 1998): a logistic regression per dimension")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(MNIST)
