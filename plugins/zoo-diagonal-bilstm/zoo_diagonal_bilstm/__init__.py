"""zoo plugin: the Diagonal BiLSTM of "Pixel Recurrent Neural Networks" (architecture ``diagonal-bilstm``)."""

from __future__ import annotations

import zoo

from .model import DiagonalBiLSTM, DiagonalBiLSTMConfig
from .sampler import DiagonalBiLSTMSampler

__all__ = ["DiagonalBiLSTM", "DiagonalBiLSTMConfig", "DiagonalBiLSTMSampler"]

_HUB_NOTE = "Hub entry: nothing is published yet; loading it says so and gives the recipe."


MNIST_ENTRIES = [
    zoo.PretrainedEntry(
        name="diagonal-bilstm-binarized-mnist",
        architecture="diagonal-bilstm",
        dataset="binarized-mnist",
        dataset_options={"dynamic": True},
        description="Diagonal BiLSTM (1 layer, h=16) on dynamically binarized MNIST; "
        "trained 3 epochs on a 2-core CPU; bundled",
        bundled="diagonal-bilstm-binarized-mnist",
        sha256="d696dd6753e394598c3544e2345924df98698ee26c736b8c51ddf73f55bb78d6",
        repo_id="zoo-models/diagonal-bilstm-binarized-mnist",
        published=False,
        recipe=(
            "zoo train diagonal-bilstm --dataset binarized-mnist --data-option dynamic=true --set hidden=16 --set "
            "layers=1 --set out_hidden=32 "
            "--set batch_size=64 --set epochs=3 --set schedule=cosine --set eval_batch_size=500 "
            "--set checkpoint_every=100 --out diagonal-bilstm-binarized-mnist && zoo eval "
            "diagonal-bilstm-binarized-mnist --save"
        ),
    ),
]


@zoo.hookimpl
def zoo_register_models(register):
    register(DiagonalBiLSTM, description="Diagonal BiLSTM (PixelRNN): skewed bidirectional LSTM, full receptive field")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.PretrainedEntry(
            name="diagonal-bilstm-digits",
            architecture="diagonal-bilstm",
            dataset="digits",
            description="Diagonal BiLSTM on scikit-learn digits (8x8, 17 levels); bundled, small",
            bundled="diagonal-bilstm-digits",
            recipe=(
                "zoo train diagonal-bilstm --dataset digits --epochs 30 --set hidden=64 --set layers=1 --set "
                "out_hidden=64 --set patience=5 "
                "--out diagonal-bilstm-digits && zoo eval diagonal-bilstm-digits --dataset digits --save"
            ),
        )
    )
    register(
        zoo.PretrainedEntry(
            name="diagonal-bilstm-digits-binarized",
            architecture="diagonal-bilstm",
            dataset="digits-binarized",
            description="Diagonal BiLSTM on binarized scikit-learn digits (8x8, 2 levels); bundled, small",
            bundled="diagonal-bilstm-digits-binarized",
            recipe=(
                "zoo train diagonal-bilstm --dataset digits-binarized --epochs 30 --set hidden=64 --set layers=1 "
                "--set out_hidden=64 --set patience=5 "
                "--out diagonal-bilstm-digits-binarized && zoo eval diagonal-bilstm-digits-binarized --dataset "
                "digits-binarized --save"
            ),
        )
    )
    for entry in MNIST_ENTRIES:
        register(entry)
    register(
        zoo.PretrainedEntry(
            name="diagonal-bilstm-cifar10",
            architecture="diagonal-bilstm",
            dataset="cifar10",
            description="Diagonal BiLSTM on CIFAR-10 (32x32x3, 256 levels). " + _HUB_NOTE,
            repo_id="zoo-models/diagonal-bilstm-cifar10",
            published=False,
            recipe=(
                "zoo train diagonal-bilstm --dataset cifar10 --epochs 50 "
                "--set hidden=126 --set layers=12 --set out_hidden=1023 --out diagonal-bilstm-cifar10"
            ),
        )
    )
