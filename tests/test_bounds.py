"""zoo.bounds: the one importance-weighted average and the check of its k that the latent plugins share."""

import math

import pytest
import torch

from zoo.bounds import draws, format_nll, importance_weighted, iwae_estimator
from zoo.errors import ArgumentError
from zoo.sampling import randn


def test_the_average_is_log_mean_exp_over_all_draws_whatever_the_pass_size():
    log_w = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    expected = torch.log(log_w.exp().mean(0))
    for per_pass in (1, 2, 3, 7, 50):
        taken = []

        def log_weights(m, taken=taken):
            start = sum(taken)
            taken.append(m)
            return log_w[start : start + m]

        got = importance_weighted(log_weights, 7, per_pass)
        assert torch.allclose(got, expected, rtol=0, atol=1e-12)
        assert sum(taken) == 7 and max(taken) <= per_pass  # memory is bounded by the pass size


def test_the_average_stays_finite_for_weights_far_below_exp_underflow():
    log_w = torch.full((4, 2), -2000.0, dtype=torch.float64)
    assert torch.equal(importance_weighted(lambda m: log_w[:m], 4, 4), torch.full((2,), -2000.0, dtype=torch.float64))
    one = importance_weighted(lambda m: torch.tensor([[0.0], [-math.inf]])[:m], 2, 2)
    assert one.item() == pytest.approx(-math.log(2))


def test_k_defaults_and_bad_values_are_named():
    assert draws(None, 16) == 16 and draws(3, 16) == 3
    for bad in (0, -1, 2.0, True, "4"):
        with pytest.raises(ArgumentError, match=r"k must be a positive integer \(dequantization draws\), got"):
            draws(bad, 16, "dequantization draws")
    with pytest.raises(ValueError, match="k must be a positive integer, got 0"):
        draws(0, 16)


def test_randn_gives_a_cpu_seed_the_same_numbers_in_any_dtype_and_follows_like_without_one():
    like = torch.zeros((), dtype=torch.float64)
    a = randn((5,), like, torch.Generator().manual_seed(0))
    b = randn((5,), torch.zeros((), dtype=torch.float32), torch.Generator().manual_seed(0))
    assert a.dtype == torch.float64 and b.dtype == torch.float32
    assert torch.equal(a.float(), b)  # drawn in float32 on the generator's device, then cast
    assert randn((2, 3), like).shape == (2, 3) and randn((2,), like).dtype == torch.float64


def test_the_iwae_estimator_is_named_once_and_written_as_an_upper_bound():
    assert iwae_estimator(500) == "IWAE k=500"
    assert format_nll(86.284, iwae_estimator(500)) == "<= 86.28 (IWAE k=500)"
