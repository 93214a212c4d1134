"""zoo plugin ``pixelcnn``: PixelCNN / Gated PixelCNN and their pretrained weights."""

from __future__ import annotations

import zoo

from .pixelcnn import PixelCNN, PixelCNNConfig

__all__ = ["PixelCNN", "PixelCNNConfig"]


#: the bundled folders, their sha256 pins (model.safetensors) and descriptions, in the order they register
BUNDLED = {
    "pixelcnn-digits": (
        "08b5f7e145c0fa79d542ed4eb27dfb83114d41c054bf8d70d77fafc4979e8764",
        "5-block h=64 PixelCNN trained on digits (8x8), bundled",
    ),
    "pixelcnn-digits-binarized": (
        "aa38f8d2c527815bc8ff0c19dfdb92c140354aef65d86a47ba7dd777779941dc",
        "5-block h=64 PixelCNN trained on digits-binarized (8x8), bundled",
    ),
    "pixelcnn-binarized-mnist": (
        "443aed23e02df699c22ccdbbf7e32a0b0a10babc9fcf7a497cd2de86f7c3ce20",
        "PixelCNN (15 blocks, h=64) on dynamically binarized MNIST 28x28: 30 epochs on one H200, then "
        "4 cosine epochs in bf16 on a 2-core CPU; bundled",
    ),
    "gated-pixelcnn-binarized-mnist": (
        "8a90ece3478b0903e7aee0d261f510ef1d63e988186bb90a823330ac205c73f9",
        "Gated PixelCNN (5 gated layers, h=16) on dynamically binarized MNIST; 7 epochs on a 2-core CPU; bundled",
    ),
    "pixelcnn-mnist": (
        "a8060dd19dc20352a60bdb0f9a1974fe660be1f19ba2af16d60f9d1e23b5e00e",
        "PixelCNN (5 blocks, h=32) on MNIST with all 256 grey levels; 10 epochs on a 2-core CPU; bundled",
    ),
}
#: the bundled models also named on the Hub (nothing published there yet)
ON_HUB = ("pixelcnn-binarized-mnist", "gated-pixelcnn-binarized-mnist", "pixelcnn-mnist")


@zoo.hookimpl
def zoo_register_models(register):
    register(PixelCNN, description="PixelCNN with masks A/B (van den Oord et al. 2016); gated=True for Gated PixelCNN")


@zoo.hookimpl
def zoo_register_pretrained(register):
    for name, (sha256, description) in BUNDLED.items():
        hub = {"repo_id": f"zoo-models/{name}", "published": False} if name in ON_HUB else {}
        register(zoo.bundled_entry(name, sha256=sha256, description=description, **hub))
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
