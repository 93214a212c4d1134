"""The Gaussians of the hierarchy against torch.distributions, and the model's KL terms against them."""

from __future__ import annotations

import math

import torch
from torch.distributions import Normal, kl_divergence
from zoo_hvae.gaussians import MIN_STD, gaussian_kl, log_normal, log_normal_at_eps, randn, std_from

import zoo


def _pairs(seed=0, shape=(5, 3, 2, 2)):
    g = torch.Generator().manual_seed(seed)
    mq, mp = torch.randn(shape, generator=g, dtype=torch.float64), torch.randn(shape, generator=g, dtype=torch.float64)
    sq = std_from(torch.randn(shape, generator=g, dtype=torch.float64) * 2)
    sp = std_from(torch.randn(shape, generator=g, dtype=torch.float64) * 2)
    return mq, sq, mp, sp


def test_kl_matches_torch_distributions_and_is_zero_only_between_equals():
    mq, sq, mp, sp = _pairs()
    assert torch.allclose(gaussian_kl(mq, sq, mp, sp), kl_divergence(Normal(mq, sq), Normal(mp, sp)), atol=1e-12)
    assert (gaussian_kl(mq, sq, mp, sp) > 0).all()
    assert torch.allclose(gaussian_kl(mq, sq, mq, sq), torch.zeros_like(mq), atol=1e-12)


def test_log_densities_match_torch_distributions():
    mq, sq, mp, sp = _pairs(1)
    eps = torch.randn(mq.shape, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    z = mq + sq * eps
    assert torch.allclose(log_normal(z, mp, sp), Normal(mp, sp).log_prob(z), atol=1e-10)
    assert torch.allclose(log_normal_at_eps(eps, sq), Normal(mq, sq).log_prob(z), atol=1e-10)


def test_std_parameterization_starts_at_one_and_stays_positive_and_finite():
    assert torch.allclose(std_from(torch.zeros(3)), torch.ones(3), atol=1e-6)
    wide = std_from(torch.tensor([-1e4, -50.0, 0.0, 50.0, 1e4]))
    assert torch.isfinite(wide).all() and (wide >= MIN_STD).all() and wide[0] == MIN_STD
    assert torch.isfinite(gaussian_kl(torch.zeros(5), wide, torch.ones(5), wide.flip(0))).all()


def test_seeded_noise_is_reproducible_and_follows_like():
    like = torch.zeros(2, dtype=torch.float64)
    a = randn((4, 3), like, torch.Generator().manual_seed(0))
    assert a.dtype == torch.float64 and torch.equal(a, randn((4, 3), like, torch.Generator().manual_seed(0)))


def test_the_models_kl_terms_are_those_of_its_own_gaussians():
    """Replay the top-down pass by hand with torch.distributions on the same draws: the same KL per layer,
    and the same log p(z) - log q(z | x) that the importance weights use."""
    torch.manual_seed(0)
    model = zoo.create("hvae", height=4, width=4, levels=2, hidden=8, layers=3, latent=2).eval()
    with torch.no_grad():  # priors away from N(0, I), so the conditional priors matter
        for layer in model.top_down:
            layer.prior[-1].weight.normal_(0, 0.3)
    x = torch.randint(0, 2, (3, 1, 4, 4), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        features = model.bottom_up(model.scale(x))
        _, kl, log_ratio = model._infer(features, torch.Generator().manual_seed(2))
        g = torch.Generator().manual_seed(2)
        s = model.start.expand(3, -1, -1, -1)
        want_kl, want_ratio = [], torch.zeros(3)
        for i, layer in enumerate(model.top_down):
            mean_p, std_p, feature = layer.prior_of(s)
            mean_q, std_q = layer.posterior_of(s, features[-1 - i])
            q, p = Normal(mean_q, std_q), Normal(mean_p, std_p)
            z = mean_q + std_q * torch.randn(mean_q.shape, generator=g)
            want_kl.append(kl_divergence(q, p).flatten(1).sum(1))
            want_ratio += (p.log_prob(z) - q.log_prob(z)).flatten(1).sum(1)
            s = layer.merge(s, feature, z)
    assert torch.allclose(kl, torch.stack(want_kl, 1), atol=1e-5)
    assert torch.allclose(log_ratio, want_ratio, atol=1e-4)
    assert (kl > 0).all()


def test_the_closed_form_kl_is_the_monte_carlo_one_for_the_top_layer():
    torch.manual_seed(0)
    model = zoo.create("hvae", height=4, width=4, levels=2, hidden=8, layers=1, latent=2).eval()
    x = torch.randint(0, 2, (2, 1, 4, 4), generator=torch.Generator().manual_seed(3))
    n = 4000
    with torch.no_grad():
        features = [f.repeat(n, 1, 1, 1) for f in model.bottom_up(model.scale(x))]
        _, kl, log_ratio = model._infer(features, torch.Generator().manual_seed(4))
    mc = -log_ratio.view(n, 2)  # log q - log p at each draw: an unbiased estimate of the top layer's KL
    exact = kl.view(n, 2)  # the same for every draw: the top layer's q and p do not depend on them
    assert torch.allclose(exact, exact[:1].expand(n, 2))
    se = mc.std(0) / math.sqrt(n)
    assert ((mc.mean(0) - exact[0]).abs() < 4 * se).all(), (mc.mean(0), exact[0], se)
