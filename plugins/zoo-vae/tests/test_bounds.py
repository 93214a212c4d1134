"""The continuous core: KL, the two SGVB estimators, the IWAE bound and the discretized Gaussian."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import MultivariateNormal, Normal, kl_divergence

import zoo
from zoo_vae.bounds import elbo_terms, gaussian_kl, iwae_bound, log_standard_normal
from zoo_vae.gaussian import discretized_gaussian_log_prob


def test_kl_closed_form_matches_torch_and_monte_carlo():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(6, 4, generator=g, dtype=torch.float64)
    logvar = torch.randn(6, 4, generator=g, dtype=torch.float64)
    kl = gaussian_kl(mu, logvar)
    std = (0.5 * logvar).exp()
    reference = kl_divergence(Normal(mu, std), Normal(0.0, 1.0)).sum(-1)
    assert torch.allclose(kl, reference, atol=1e-10)
    # Monte Carlo: E_q[log q(z) - log p(z)] with 200k draws, within 4 standard errors
    n = 200_000
    z = mu + std * torch.randn(n, *mu.shape, generator=g, dtype=torch.float64)
    terms = Normal(mu, std).log_prob(z).sum(-1) - log_standard_normal(z)
    est, se = terms.mean(0), terms.std(0) / math.sqrt(n)
    assert ((est - kl).abs() < 4 * se).all(), (est, kl, se)
    assert (kl > 0).all() and gaussian_kl(torch.zeros(1, 3), torch.zeros(1, 3)).item() == 0.0


def test_estimators_a_and_b_agree_in_expectation_on_a_fixed_model():
    torch.manual_seed(0)
    model = zoo.create("vae-bernoulli", height=4, width=4, hidden=[16], latent=3).eval()
    with torch.no_grad():  # make q(z|x) far from the prior so the two KL treatments really differ
        model.encoder[-1].bias[3:] = -1.0
        model.encoder[-1].bias[:3] = 0.8
    x = torch.randint(0, 2, (5, 1, 4, 4), generator=torch.Generator().manual_seed(1))
    mu, logvar = model.encode(x)
    assert (gaussian_kl(mu, logvar) > 0.5).all()
    n = 20_000
    with torch.no_grad():
        a = elbo_terms(model._log_lik_fn(x), mu, logvar, n, "A", torch.Generator().manual_seed(2))
        b = elbo_terms(model._log_lik_fn(x), mu, logvar, n, "B", torch.Generator().manual_seed(3))
    se = (a.var(0) / n + b.var(0) / n).sqrt()
    assert ((a.mean(0) - b.mean(0)).abs() < 4 * se).all(), (a.mean(0), b.mean(0), se)
    assert (b.var(0) < a.var(0)).all()  # why B is the default: the closed-form KL removes variance
    # and the model's own elbo() uses them: the same numbers from a seeded generator
    with torch.no_grad():
        got = model.elbo(x, samples=n, estimator="B", generator=torch.Generator().manual_seed(3))
    assert torch.allclose(got, b.mean(0), atol=1e-4)


def test_iwae_with_k_1_is_the_estimator_a_elbo():
    torch.manual_seed(0)
    model = zoo.create("vae-gaussian", height=4, width=4, hidden=[8], latent=2).eval()
    x = torch.randint(0, 17, (4, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    k1 = model.log_prob(x, k=1, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        elbo = model.elbo(x, samples=1, estimator="A", generator=torch.Generator().manual_seed(5))
    assert torch.allclose(k1, elbo, atol=1e-5)


def _ppca(seed=0, D=5, d=2, sigma2=0.5, B=100):
    """Probabilistic PCA: z ~ N(0, I), x | z ~ N(Wz + b, sigma2 I), so p(x) = N(b, WW' + sigma2 I)."""
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(D, d, generator=g, dtype=torch.float64)
    b = torch.randn(D, generator=g, dtype=torch.float64)
    z = torch.randn(B, d, generator=g, dtype=torch.float64)
    x = z @ W.T + b + math.sqrt(sigma2) * torch.randn(B, D, generator=g, dtype=torch.float64)
    exact = MultivariateNormal(b, W @ W.T + sigma2 * torch.eye(D, dtype=torch.float64)).log_prob(x)

    def log_lik(zs):  # (N, B, d) -> (N, B)
        return Normal(zs @ W.T + b, math.sqrt(sigma2)).log_prob(x).sum(-1)

    # an imperfect diagonal q: the true posterior's diagonal, widened, with a shifted mean
    cov = torch.linalg.inv(torch.eye(d, dtype=torch.float64) + W.T @ W / sigma2)
    mu = (x - b) @ W @ cov.T / sigma2 + 0.3
    logvar = (1.5 * cov.diagonal()).log().expand(B, d)
    return log_lik, mu, logvar, exact


def test_iwae_bound_is_monotone_in_k_and_converges_to_exact_log_likelihood_on_ppca():
    log_lik, mu, logvar, exact = _ppca()
    g = torch.Generator().manual_seed(7)
    ks = [1, 4, 16, 64, 256]
    means = [
        torch.stack([iwae_bound(log_lik, mu, logvar, k, generator=g) for _ in range(10)]).mean().item() for k in ks
    ]
    gaps = [exact.mean().item() - m for m in means]
    assert gaps[0] > 0.1, gaps  # the approximate q leaves a real ELBO gap
    assert all(g1 > g2 for g1, g2 in zip(gaps, gaps[1:])), gaps
    assert all(gap > -0.01 for gap in gaps), gaps  # a lower bound, up to Monte Carlo noise
    # at k = 10^4 the bias is gone; what is left is Monte Carlo noise of about 0.01 per point
    err = iwae_bound(log_lik, mu, logvar, 10_000, chunk=5000, generator=g) - exact
    assert abs(err.mean().item()) < 0.004, err.mean()
    assert err.abs().median().item() < 0.02 and err.abs().max().item() < 0.1, err


def test_iwae_rejects_bad_k():
    log_lik, mu, logvar, _ = _ppca(B=2)
    with pytest.raises(ValueError, match="k must be >= 1"):
        iwae_bound(log_lik, mu, logvar, 0)
    with pytest.raises(ValueError, match="estimator must be 'A' or 'B'"):
        elbo_terms(log_lik, mu, logvar, 1, "C")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("levels", [2, 17, 256])
def test_discretized_gaussian_sums_to_one_over_levels(levels, dtype):
    g = torch.Generator().manual_seed(0)
    mean = torch.cat([torch.randn(50, generator=g) * 2, torch.tensor([-30.0, 30.0, 0.0, 1.0, -1.0])]).to(dtype)
    logvar = torch.cat([torch.randn(50, generator=g) * 3, torch.tensor([-14.0, -14.0, 6.0, -14.0, -14.0])]).to(dtype)
    x = torch.arange(levels).view(-1, 1).expand(levels, mean.numel())
    lp = discretized_gaussian_log_prob(x, mean, logvar, levels)
    assert torch.isfinite(lp).all() and (lp <= 0).all()
    total = torch.logsumexp(lp.double(), 0).exp()
    assert torch.allclose(total, torch.ones_like(total), atol=1e-4 if dtype == torch.float32 else 1e-10)
    # where the plain difference of CDFs is well conditioned, it agrees
    normal = Normal(mean.double(), (0.5 * logvar.double()).exp())
    h = 1.0 / (levels - 1)
    centre = x.double() * 2 * h - 1
    hi = torch.where(x == levels - 1, torch.tensor(1.0, dtype=torch.float64), normal.cdf(centre + h))
    lo = torch.where(x == 0, torch.tensor(0.0, dtype=torch.float64), normal.cdf(centre - h))
    p = hi - lo
    ok = p > 1e-6
    assert torch.allclose(lp.double()[ok].exp(), p[ok], rtol=1e-3 if dtype == torch.float32 else 1e-8, atol=1e-7)


def test_discretized_gaussian_is_finite_with_finite_gradients_far_in_the_tails():
    mean = torch.tensor([50.0, -50.0, 0.0, 0.03], requires_grad=True)
    logvar = torch.tensor([-14.0, -14.0, -14.0, 6.0], requires_grad=True)
    for x in (torch.tensor([0, 16, 8, 8]), torch.tensor([5, 5, 0, 16])):
        lp = discretized_gaussian_log_prob(x, mean, logvar, 17)
        assert torch.isfinite(lp).all(), lp
        gm, gv = torch.autograd.grad(lp.sum(), (mean, logvar))
        assert torch.isfinite(gm).all() and torch.isfinite(gv).all()
