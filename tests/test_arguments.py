"""Counts, sizes, seeds and devices are checked once where they enter: one line each, before any work."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.cli import main
from zoo.errors import ArgumentError
from zoo.figures import completion_figure


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["sample", "independent-digits", "--n", "0"], "--n must be in 1..100000, got 0"),
        (["sample", "independent-digits", "--n", "-1"], "--n must be in 1..100000, got -1"),
        (["sample", "independent-digits", "--batch-size", "0"], "--batch-size must be at least 1, got 0"),
        (["sample", "independent-digits", "--seed", str(2**70)], "--seed must be an integer in 0..4294967295"),
        (["sample", "independent-digits", "--seed", "-3"], "--seed must be an integer in 0..4294967295, got -3"),
        (["complete", "independent-digits", "--n", "-1"], "--n must be in 1..100000, got -1"),
        (["complete", "independent-digits", "--samples", "-2"], "--samples must be in 1..1000, got -2"),
        (["eval", "independent-digits", "--limit", "0"], "--limit must be at least 1, got 0"),
        (["demo", "--n", "0"], "--n must be in 1..100000, got 0"),
        (["sample", "independent-digits", "--device", "meta"], "--device must be cpu, cuda, cuda:N or auto"),
        (["sample", "independent-digits", "--device", "mps"], "--device must be cpu, cuda, cuda:N or auto"),
        (["eval", "independent-digits", "--device", "xpu"], "--device must be cpu, cuda, cuda:N or auto"),
    ],
)
def test_bad_counts_seeds_and_devices_on_the_command_line_are_one_line(argv, expected, one_line_error):
    assert main(argv) == 2
    assert expected in one_line_error()


def test_train_epochs_zero_and_a_huge_training_seed(tmp_path, one_line_error):
    out = tmp_path / "r"
    assert main(["train", "independent", "--dataset", "digits", "--out", str(out), "--epochs", "0"]) == 2
    assert "--epochs must be at least 1, got 0" in one_line_error()
    assert main(["train", "independent", "--dataset", "digits", "--out", str(out), "--set", f"seed={2**64}"]) == 2
    assert "seed: Input should be less than or equal to 4294967295" in one_line_error()
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch that sees no CUDA device")
def test_cuda_on_a_cpu_only_torch_is_one_line(one_line_error):
    """Old zoo: a raw AssertionError ("Torch not compiled with CUDA enabled") from zoo.load."""
    with pytest.raises(ArgumentError, match="device cuda: no CUDA device is available here"):
        zoo.load("independent-digits", device="cuda")
    with pytest.raises(ArgumentError, match="device cuda: no CUDA device is available here"):
        zoo.Model.from_pretrained("independent-digits", device="cuda")  # the same lookup, the same check
    assert main(["sample", "independent-digits", "--device", "cuda"]) == 2
    assert "--device cuda: no CUDA device" in one_line_error()


@pytest.mark.parametrize("device", ["meta", "mps", "cuda:x", 3])
def test_load_refuses_other_devices(device):
    with pytest.raises(ArgumentError, match="device must be cpu, cuda, cuda:N or auto"):
        zoo.load("independent-digits", device=device)
    with pytest.raises(ArgumentError, match="device must be cpu, cuda, cuda:N or auto"):
        zoo.Model.from_pretrained("independent-digits", device=device)


def test_python_api_counts(tmp_path):
    model = zoo.load("independent-digits")
    data = zoo.load_dataset("digits", "test", limit=4)
    with pytest.raises(ArgumentError, match="batch_size must be at least 1, got 0"):
        zoo.evaluate(model, "digits", batch_size=0)
    with pytest.raises(ArgumentError, match="n must be at least 1, got -1"):
        completion_figure(model, data, tmp_path / "c.png", n=-1)
    with pytest.raises(ArgumentError, match="samples must be at least 1, got -1"):
        completion_figure(model, data, tmp_path / "c.png", samples=-1)
    with pytest.raises(ArgumentError, match="seed must be an integer in 0..4294967295, got 1.5"):
        completion_figure(model, data, tmp_path / "c.png", seed=1.5)
