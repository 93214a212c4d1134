"""zoo plugin: the Row LSTM of "Pixel Recurrent Neural Networks" (architecture ``row-lstm``)."""

from __future__ import annotations

import zoo

from .model import RowLSTM, RowLSTMConfig
from .sampler import RowLSTMSampler

__all__ = ["RowLSTM", "RowLSTMConfig", "RowLSTMSampler"]

_HUB_NOTE = "Hub entry: nothing is published yet; loading it says so and gives the recipe."


@zoo.hookimpl
def zoo_register_models(register):
    register(RowLSTM, description="Row LSTM (PixelRNN): row-by-row LSTM with a triangular receptive field")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "row-lstm-digits",
            sha256="c43cb03bb37e365030cb66dce03bc76087637dd0c5091c99e549179a198d31c1",
            description="Row LSTM on scikit-learn digits (8x8, 17 levels); bundled, small",
        )
    )
    register(
        zoo.bundled_entry(
            "row-lstm-digits-binarized",
            sha256="4f8e168e96f1d5f76df123ff6f99e326d9b6ddcfb6a56faa4d47aaf375d95e10",
            description="Row LSTM on binarized scikit-learn digits (8x8, 2 levels); bundled, small",
        )
    )
    register(
        zoo.bundled_entry(
            "row-lstm-binarized-mnist",
            sha256="ffbcebf9db4d2b33a050f1e7782e5850c199365a98efedf1687ca3a1d6229841",
            description="Row LSTM (7 layers, h=16) on dynamically binarized MNIST; 3 epochs, then a 135-minute cosine "
            "fine-tune on one thread of a 2-core CPU; bundled",
            repo_id="zoo-models/row-lstm-binarized-mnist",
            published=False,
        )
    )
    register(
        zoo.PretrainedEntry(
            name="row-lstm-cifar10",
            architecture="row-lstm",
            dataset="cifar10",
            description="Row LSTM on CIFAR-10 (32x32x3, 256 levels). " + _HUB_NOTE,
            repo_id="zoo-models/row-lstm-cifar10",
            published=False,
            recipe=(
                "zoo train row-lstm --dataset cifar10 --epochs 50 "
                "--set hidden=126 --set layers=12 --set out_hidden=1023 --out row-lstm-cifar10"
            ),
        )
    )
