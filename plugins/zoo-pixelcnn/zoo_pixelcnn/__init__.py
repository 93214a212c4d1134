"""zoo plugin ``pixelcnn``: PixelCNN / Gated PixelCNN and their pretrained weights."""

from __future__ import annotations

import zoo

from .pixelcnn import PixelCNN, PixelCNNConfig

__all__ = ["PixelCNN", "PixelCNNConfig"]

DIGITS_RECIPE = (
    "zoo train pixelcnn --dataset {dataset} --set hidden=64 --set layers=5 --set epochs=30 "
    "--set patience=4 --set lr=0.003 --set batch_size=32 --out cards/pixelcnn-{dataset}"
)


@zoo.hookimpl
def zoo_register_models(register):
    register(PixelCNN, description="PixelCNN with masks A/B (van den Oord et al. 2016); gated=True for Gated PixelCNN")


@zoo.hookimpl
def zoo_register_pretrained(register):
    for dataset in ("digits", "digits-binarized"):
        register(
            zoo.PretrainedEntry(
                name=f"pixelcnn-{dataset}",
                architecture="pixelcnn",
                dataset=dataset,
                description=f"5-block h=64 PixelCNN trained on {dataset} (8x8), bundled",
                bundled=f"pixelcnn-{dataset}",
                recipe=DIGITS_RECIPE.format(dataset=dataset),
            )
        )
    register(
        zoo.PretrainedEntry(
            name="pixelcnn-mnist",
            architecture="pixelcnn",
            dataset="binarized-mnist",
            description="PixelCNN (7 blocks, h=32) for statically binarized MNIST 28x28; "
            "no weights published yet: train with the recipe",
            repo_id="zoo-models/pixelcnn-mnist",
            revision="main",
            sha256=None,
            recipe="zoo train pixelcnn --dataset binarized-mnist --set channels=1 --set height=28 --set width=28 "
            "--set levels=2 --set hidden=32 --set layers=7 --out pixelcnn-mnist",
        )
    )
    register(
        zoo.PretrainedEntry(
            name="pixelcnn-cifar10",
            architecture="pixelcnn",
            dataset="cifar10",
            description="PixelCNN (paper size: 15 blocks, h=128) for CIFAR-10 32x32x3, 256 levels; "
            "no weights published yet: train with the recipe",
            repo_id="zoo-models/pixelcnn-cifar10",
            revision="main",
            sha256=None,
            recipe="zoo train pixelcnn --dataset cifar10 --set channels=3 --set height=32 --set width=32 "
            "--set levels=256 --set hidden=128 --set layers=15 --out pixelcnn-cifar10",
        )
    )
