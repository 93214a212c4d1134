"""zoo plugin ``pixelcnn``: PixelCNN / Gated PixelCNN and their pretrained weights."""

from __future__ import annotations

import zoo

from .pixelcnn import PixelCNN, PixelCNNConfig

__all__ = ["PixelCNN", "PixelCNNConfig"]

DIGITS_RECIPE = (
    "zoo train pixelcnn --dataset {dataset} --set hidden=64 --set layers=5 --set epochs=30 "
    "--set patience=4 --set lr=0.003 --set batch_size=32 --out pixelcnn-{dataset}"
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
            "no weights are published yet (no sha256): train them with the recipe",
            repo_id="zoo-models/pixelcnn-mnist",
            revision="main",
            sha256=None,
            recipe="zoo train pixelcnn --dataset binarized-mnist --set hidden=32 --set layers=7 "
            "--set epochs=20 --set batch_size=32 --set patience=3 --out pixelcnn-mnist",
        )
    )
    register(
        zoo.PretrainedEntry(
            name="pixelcnn-cifar10",
            architecture="pixelcnn",
            dataset="cifar10",
            description="PixelCNN near the paper's size (15 blocks, h=126: divisible by 3 colour groups) "
            "for CIFAR-10 32x32x3, 256 levels; no weights are published yet (no sha256): train them with the recipe",
            repo_id="zoo-models/pixelcnn-cifar10",
            revision="main",
            sha256=None,
            recipe="zoo train pixelcnn --dataset cifar10 --set hidden=126 --set layers=15 "
            "--set epochs=30 --set batch_size=32 --set patience=3 --out pixelcnn-cifar10",
        )
    )
