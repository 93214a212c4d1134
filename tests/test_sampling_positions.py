"""Position-indexed sampling steps (replayed as a CUDA graph on CUDA), run eagerly on the CPU: still exact."""

import itertools

import pytest
import torch

import zoo
import zoo.sampling
from zoo.sampling import occlusion_mask
from zoo.testing import random_images


@pytest.fixture
def position_steps(monkeypatch):
    monkeypatch.setattr(zoo.sampling, "POSITION_STEPS", "always")


def pixelcnn(channels=1, **config):
    torch.manual_seed(0)
    return zoo.create("pixelcnn", channels=channels, height=5, width=4, levels=4, hidden=6, layers=2, **config).eval()


def row_lstm(channels=1):
    torch.manual_seed(0)
    return zoo.create(
        "row-lstm", channels=channels, height=5, width=4, levels=4, hidden=6, layers=2, out_hidden=6
    ).eval()


def diagonal(channels=1):
    torch.manual_seed(0)
    return zoo.create(
        "diagonal-bilstm", channels=channels, height=5, width=4, levels=4, hidden=6, layers=2, out_hidden=6
    ).eval()


@pytest.mark.parametrize("make", [pixelcnn, row_lstm, diagonal])
@pytest.mark.parametrize("channels", [1, 3])
def test_position_steps_give_the_full_forward_logits(make, channels):
    model = make(channels)
    x = random_images(model, 3, seed=2)
    with torch.no_grad():
        full = model.logits(x)
        sampler = model.incremental_sampler(3)
        sampler.start(x)
        pos = torch.zeros((), dtype=torch.long)
        for i, j in itertools.product(range(5), range(4)):
            if i and j == 0 and hasattr(sampler, "start_row_at_position"):
                sampler.start_row_at_position(x, pos)
            for c in range(channels):
                assert torch.allclose(sampler.logits_at_position(x, pos, c), full[:, :, c, i, j], atol=1e-5)
            sampler.commit(x, pos)
            pos += 1


@pytest.mark.parametrize("channels", [1, 3])
def test_position_steps_give_the_samples_of_the_loop_and_of_naive(monkeypatch, channels):
    model = pixelcnn(channels)
    x = random_images(model, 3, seed=1)
    known = occlusion_mask(model.config.shape, "bottom-half")
    runs = {}
    for mode in ("always", "never"):
        monkeypatch.setattr(zoo.sampling, "POSITION_STEPS", mode)
        runs[mode] = (
            model.sample(3, generator=torch.Generator().manual_seed(5), temperature=0.7, method="fast"),
            model.complete(x, known, generator=torch.Generator().manual_seed(6), method="fast"),
        )
    assert torch.equal(runs["always"][0], runs["never"][0]) and torch.equal(runs["always"][1], runs["never"][1])
    naive = model.sample(3, generator=torch.Generator().manual_seed(5), temperature=0.7, method="naive")
    assert torch.equal(runs["always"][0], naive)


def test_conditional_position_steps_equal_naive(position_steps):
    model = pixelcnn(3, num_classes=3)
    labels = torch.tensor([0, 2, 1])
    fast = model.sample(3, generator=torch.Generator().manual_seed(4), method="fast", labels=labels)
    naive = model.sample(3, generator=torch.Generator().manual_seed(4), method="naive", labels=labels)
    assert torch.equal(fast, naive)


def test_position_steps_only_where_offered():
    x = torch.zeros(2, 1, 5, 4, dtype=torch.long)
    plain, gated = pixelcnn().incremental_sampler(2), pixelcnn(gated=True).incremental_sampler(2)
    assert not zoo.sampling._use_position_steps(plain, x)  # the CPU keeps the plain loop by default
    assert not hasattr(gated, "logits_at_position")


@pytest.mark.parametrize("make", [row_lstm, diagonal])
@pytest.mark.parametrize("channels", [1, 3])
def test_lstm_position_steps_equal_the_loop_and_naive(monkeypatch, make, channels):
    model = make(channels)
    x = random_images(model, 3, seed=1)
    known = occlusion_mask(model.config.shape, "bottom-half")
    runs = {}
    for mode in ("always", "never"):
        monkeypatch.setattr(zoo.sampling, "POSITION_STEPS", mode)
        runs[mode] = (
            model.sample(3, generator=torch.Generator().manual_seed(5), method="fast"),
            model.complete(x, known, generator=torch.Generator().manual_seed(6), method="fast"),
        )
    assert torch.equal(runs["always"][0], runs["never"][0]) and torch.equal(runs["always"][1], runs["never"][1])
    assert torch.equal(runs["always"][0], model.sample(3, generator=torch.Generator().manual_seed(5), method="naive"))
