"""zoo plugin ``pixelcnn``: PixelCNN / Gated PixelCNN and their pretrained weights."""

from __future__ import annotations

import zoo

from .pixelcnn import PixelCNN, PixelCNNConfig

__all__ = ["PixelCNN", "PixelCNNConfig"]

DIGITS_RECIPE = (
    "zoo train pixelcnn --dataset {dataset} --set hidden=64 --set layers=5 --set epochs=30 "
    "--set patience=4 --set lr=0.003 --set batch_size=32 --out pixelcnn-{dataset}"
)


MNIST_ENTRIES = [
    zoo.PretrainedEntry(
        name="pixelcnn-binarized-mnist",
        architecture="pixelcnn",
        dataset="binarized-mnist",
        dataset_options={"dynamic": True},
        description="PixelCNN (15 blocks, h=64) on dynamically binarized MNIST 28x28: 30 epochs on one H200, then "
        "4 cosine epochs in bf16 on a 2-core CPU; bundled",
        bundled="pixelcnn-binarized-mnist",
        sha256="443aed23e02df699c22ccdbbf7e32a0b0a10babc9fcf7a497cd2de86f7c3ce20",
        repo_id="zoo-models/pixelcnn-binarized-mnist",
        published=False,
        recipe="zoo train pixelcnn --dataset binarized-mnist --data-option dynamic=true --set hidden=64 "
        "--set layers=15 --set batch_size=128 --set epochs=30 --set eval_batch_size=1000 --set device=cuda "
        "--out pixelcnn-h200 && zoo train pixelcnn-h200 --dataset binarized-mnist --data-option dynamic=true "
        "--set lr=0.0003 --set schedule=cosine --set epochs=4 --set precision=bf16 --set batch_size=64 "
        "--set eval_batch_size=500 --set checkpoint_every=200 --out pixelcnn-binarized-mnist "
        "&& zoo eval pixelcnn-binarized-mnist --save",
    ),
    zoo.PretrainedEntry(
        name="gated-pixelcnn-binarized-mnist",
        architecture="pixelcnn",
        dataset="binarized-mnist",
        dataset_options={"dynamic": True},
        description="Gated PixelCNN (5 gated layers, h=16) on dynamically binarized MNIST; 7 epochs on a 2-core CPU; "
        "bundled",
        bundled="gated-pixelcnn-binarized-mnist",
        sha256="8a90ece3478b0903e7aee0d261f510ef1d63e988186bb90a823330ac205c73f9",
        repo_id="zoo-models/gated-pixelcnn-binarized-mnist",
        published=False,
        recipe="zoo train pixelcnn --dataset binarized-mnist --data-option dynamic=true --set hidden=16 --set layers=5 "
        "--set gated=true --set batch_size=64 --set epochs=7 --set schedule=cosine --set eval_batch_size=500 "
        "--set checkpoint_every=100 --out gated-pixelcnn-binarized-mnist "
        "&& zoo eval gated-pixelcnn-binarized-mnist --save",
    ),
    zoo.PretrainedEntry(
        name="pixelcnn-mnist",
        architecture="pixelcnn",
        dataset="mnist",
        description="PixelCNN (5 blocks, h=32) on MNIST with all 256 grey levels; 10 epochs on a 2-core CPU; bundled",
        bundled="pixelcnn-mnist",
        sha256="a8060dd19dc20352a60bdb0f9a1974fe660be1f19ba2af16d60f9d1e23b5e00e",
        repo_id="zoo-models/pixelcnn-mnist",
        published=False,
        recipe="zoo train pixelcnn --dataset mnist --set hidden=32 --set layers=5 --set batch_size=64 --set epochs=10 "
        "--set schedule=cosine --set eval_batch_size=500 --set checkpoint_every=100 --out pixelcnn-mnist "
        "&& zoo eval pixelcnn-mnist --save",
    ),
]


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
    for entry in MNIST_ENTRIES:
        register(entry)
    register(
        zoo.PretrainedEntry(
            name="pixelcnn-cifar10",
            architecture="pixelcnn",
            dataset="cifar10",
            description="PixelCNN near the paper's size (15 blocks, h=126: divisible by 3 colour groups) "
            "for CIFAR-10 32x32x3, 256 levels",
            repo_id="zoo-models/pixelcnn-cifar10",
            revision="main",
            published=False,
            recipe="zoo train pixelcnn --dataset cifar10 --set hidden=126 --set layers=15 "
            "--set epochs=30 --set batch_size=32 --set patience=3 --out pixelcnn-cifar10",
        )
    )
