"""zoo plugin: the Diagonal BiLSTM of "Pixel Recurrent Neural Networks" (architecture ``diagonal-bilstm``)."""

from __future__ import annotations

import zoo

from .model import DiagonalBiLSTM, DiagonalBiLSTMConfig
from .sampler import DiagonalBiLSTMSampler

__all__ = ["DiagonalBiLSTM", "DiagonalBiLSTMConfig", "DiagonalBiLSTMSampler"]

_HUB_NOTE = "Hub entry: nothing is published yet; loading it says so and gives the recipe."


@zoo.hookimpl
def zoo_register_models(register):
    register(DiagonalBiLSTM, description="Diagonal BiLSTM (PixelRNN): skewed bidirectional LSTM, full receptive field")


@zoo.hookimpl
def zoo_register_pretrained(register):
    register(
        zoo.bundled_entry(
            "diagonal-bilstm-digits",
            sha256="093cf68cffa52aced434fc7712fb28040c41041c3999968af8a92ca43c1bdb54",
            description="Diagonal BiLSTM on scikit-learn digits (8x8, 17 levels); bundled, small",
        )
    )
    register(
        zoo.bundled_entry(
            "diagonal-bilstm-digits-binarized",
            sha256="f628a3aab88f294e8b4c28df2cb497071ffc06f24f5e3b72d4035ef5d096ff4d",
            description="Diagonal BiLSTM on binarized scikit-learn digits (8x8, 2 levels); bundled, small",
        )
    )
    register(
        zoo.bundled_entry(
            "diagonal-bilstm-binarized-mnist",
            sha256="9d884f46838ded9f24e707125c0a79fe5cd538f2d2aa924e8876fcec0fd86b60",
            description="Diagonal BiLSTM at the paper's size (7 layers, h=16) on dynamically binarized MNIST; "
            "trained on one thread of a 2-core CPU; bundled",
            repo_id="zoo-models/diagonal-bilstm-binarized-mnist",
            published=False,
        )
    )
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
