"""Position-indexed sampling steps (replayed as a CUDA graph on CUDA), run eagerly on the CPU: still exact."""

import itertools

import pytest
import torch

import zoo
import zoo.sampling
from zoo.sampling import complete_autoregressive, occlusion_mask, sample_autoregressive
from zoo.testing import random_images


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
def test_position_steps_give_the_samples_of_the_loop_and_of_naive(channels):
    model = pixelcnn(channels)
    x = random_images(model, 3, seed=1)
    known = occlusion_mask(model.config.shape, "bottom-half")
    runs = {}
    for mode in ("always", "never"):
        g, h = torch.Generator().manual_seed(5), torch.Generator().manual_seed(6)
        runs[mode] = (
            sample_autoregressive(model, 3, generator=g, temperature=0.7, method="fast", position_steps=mode),
            complete_autoregressive(model, x, known, generator=h, method="fast", position_steps=mode),
        )
    assert torch.equal(runs["always"][0], runs["never"][0]) and torch.equal(runs["always"][1], runs["never"][1])
    naive = model.sample(3, generator=torch.Generator().manual_seed(5), temperature=0.7, method="naive")
    assert torch.equal(runs["always"][0], naive)


def test_conditional_position_steps_equal_naive():
    model = pixelcnn(3, num_classes=3)
    labels = torch.tensor([0, 2, 1])
    g = torch.Generator().manual_seed(4)
    fast = sample_autoregressive(model, 3, generator=g, method="fast", labels=labels, position_steps="always")
    naive = model.sample(3, generator=torch.Generator().manual_seed(4), method="naive", labels=labels)
    assert torch.equal(fast, naive)


def test_position_steps_only_where_offered():
    x = torch.zeros(2, 1, 5, 4, dtype=torch.long)
    plain, gated = pixelcnn().incremental_sampler(2), pixelcnn(gated=True).incremental_sampler(2)
    assert not zoo.sampling._use_position_steps(plain, x)  # the CPU keeps the plain loop by default
    assert zoo.sampling._use_position_steps(plain, x, "always")
    assert not hasattr(gated, "logits_at_position")
    with pytest.raises(zoo.ArgumentError, match="position_steps must be one of cuda, always, never"):
        sample_autoregressive(pixelcnn(), 1, position_steps="sometimes")


@pytest.mark.parametrize("make", [row_lstm, diagonal])
@pytest.mark.parametrize("channels", [1, 3])
def test_lstm_position_steps_equal_the_loop_and_naive(make, channels):
    model = make(channels)
    x = random_images(model, 3, seed=1)
    known = occlusion_mask(model.config.shape, "bottom-half")
    runs = {}
    for mode in ("always", "never"):
        g, h = torch.Generator().manual_seed(5), torch.Generator().manual_seed(6)
        runs[mode] = (
            sample_autoregressive(model, 3, generator=g, method="fast", position_steps=mode),
            complete_autoregressive(model, x, known, generator=h, method="fast", position_steps=mode),
        )
    assert torch.equal(runs["always"][0], runs["never"][0]) and torch.equal(runs["always"][1], runs["never"][1])
    assert torch.equal(runs["always"][0], model.sample(3, generator=torch.Generator().manual_seed(5), method="naive"))
