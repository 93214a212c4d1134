"""zoo plugin ``made``: the masked autoencoder for distribution estimation and its pretrained weights."""

from __future__ import annotations

import zoo

from .made import MADE, MADEConfig

__all__ = ["MADE", "MADEConfig"]

MNIST = zoo.PretrainedEntry(
    name="made-binarized-mnist",
    architecture="made",
    dataset="binarized-mnist",
    dataset_options={"dynamic": True},
    description="MADE (one hidden layer of 4000, one mask) on dynamically binarized MNIST 28x28; 88 minutes on "
    "one thread of a 2-core CPU; weights in bfloat16; bundled",
    bundled="made-binarized-mnist",
    sha256="ede1893131bcf2621861be58054b41dd446edd7c102c297958859e108d84eb45",
    repo_id="zoo-models/made-binarized-mnist",
    published=False,
    recipe=(
        "zoo train made --dataset binarized-mnist --data-option dynamic=true --set 'hidden=[4000]' --set "
        "max_minutes=88 --set batch_size=64 --set lr=0.001 --set schedule=cosine --set ema=0.999 --set "
        "precision=bf16 --set eval_batch_size=500 --set checkpoint_every=200 --out made-run && python -c "
        "\"import torch, zoo; zoo.load('made-run').to(torch.bfloat16).save_pretrained('made-binarized-mnist')\" "
        "&& zoo eval made-binarized-mnist --save"
    ),
)


@zoo.hookimpl
def zoo_register_models(register):
    register(MADE, description="MADE (Germain et al. 2015): a masked MLP; masks from a seed, exact K-mask mixtures")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(MNIST)
