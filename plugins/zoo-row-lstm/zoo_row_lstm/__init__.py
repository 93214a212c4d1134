"""zoo plugin: the Row LSTM of "Pixel Recurrent Neural Networks" (architecture ``row-lstm``)."""

from __future__ import annotations

import zoo

from .model import RowLSTM, RowLSTMConfig
from .sampler import RowLSTMSampler

__all__ = ["RowLSTM", "RowLSTMConfig", "RowLSTMSampler"]

_HUB_NOTE = "Hub entry: nothing is published yet; loading it says so and gives the recipe."


MNIST_ENTRIES = [
    zoo.PretrainedEntry(
        name="row-lstm-binarized-mnist",
        architecture="row-lstm",
        dataset="binarized-mnist",
        dataset_options={"dynamic": True},
        description="Row LSTM (7 layers, h=16) on dynamically binarized MNIST; "
        "trained 3 epochs on a 2-core CPU; bundled",
        bundled="row-lstm-binarized-mnist",
        sha256="25a3edb4fd6aa3cba5165f6d24cc168ae79d92eb50c40575caf3182a808f0525",
        repo_id="zoo-models/row-lstm-binarized-mnist",
        published=False,
        recipe=(
            "zoo train row-lstm --dataset binarized-mnist --data-option dynamic=true --set hidden=16 --set layers=7 "
            "--set out_hidden=32 "
            "--set batch_size=64 --set epochs=3 --set schedule=cosine --set eval_batch_size=500 "
            "--set checkpoint_every=100 --out row-lstm-binarized-mnist && zoo eval row-lstm-binarized-mnist --save"
        ),
    ),
]


@zoo.hookimpl
def zoo_register_models(register):
    register(RowLSTM, description="Row LSTM (PixelRNN): row-by-row LSTM with a triangular receptive field")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.PretrainedEntry(
            name="row-lstm-digits",
            architecture="row-lstm",
            dataset="digits",
            description="Row LSTM on scikit-learn digits (8x8, 17 levels); bundled, small",
            bundled="row-lstm-digits",
            recipe=(
                "zoo train row-lstm --dataset digits --epochs 40 --set hidden=64 --set layers=2 --set out_hidden=64 "
                "--set patience=5 "
                "--out row-lstm-digits && zoo eval row-lstm-digits --dataset digits --save"
            ),
        )
    )
    register(
        zoo.PretrainedEntry(
            name="row-lstm-digits-binarized",
            architecture="row-lstm",
            dataset="digits-binarized",
            description="Row LSTM on binarized scikit-learn digits (8x8, 2 levels); bundled, small",
            bundled="row-lstm-digits-binarized",
            recipe=(
                "zoo train row-lstm --dataset digits-binarized --epochs 40 --set hidden=64 --set layers=2 --set "
                "out_hidden=64 --set patience=5 "
                "--out row-lstm-digits-binarized && zoo eval row-lstm-digits-binarized --dataset digits-binarized "
                "--save"
            ),
        )
    )
    for entry in MNIST_ENTRIES:
        register(entry)
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
