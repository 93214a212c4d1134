"""The two registered VAEs: the contract kit, config validation and the latent-space tools."""

from __future__ import annotations

import json

import pytest
import torch

import zoo
from zoo.testing import check_model

SMALL = dict(height=6, width=6, hidden=[16], latent=3, eval_samples=50)


def test_plugin_is_discovered_through_its_entry_point():
    info = zoo.model_info("vae-gaussian")
    assert info["plugin"] == "vae" and not info["autoregressive"]
    assert {"latent", "hidden", "samples", "estimator", "eval_samples", "variance"} <= set(info["config_fields"])
    assert zoo.model_info("vae-bernoulli")["plugin"] == "vae"
    assert [p for p in zoo.plugins() if p["name"] == "vae"][0]["errors"] == []


@pytest.mark.parametrize(
    "arch, extra",
    [
        ("vae-bernoulli", {}),
        ("vae-bernoulli", {"estimator": "A", "samples": 2, "hidden": [16, 8], "activation": "tanh"}),
        ("vae-gaussian", {"levels": 17}),
        ("vae-gaussian", {"levels": 5, "variance": "global", "channels": 3}),
        ("vae-gaussian", {"levels": 256, "variance": "decoder", "estimator": "A"}),
    ],
)
def test_contract_kit(arch, extra):
    check_model(arch, **{**SMALL, **extra})


@pytest.mark.parametrize("arch, levels", [("vae-bernoulli", 2), ("vae-gaussian", 3)])
def test_bound_mass_over_every_tiny_image_is_at_most_one(arch, levels):
    """On 2x2 images the kit enumerates them all: the sum of exp(IWAE bound), an unbiased estimate of the
    probabilities' sum, must not exceed 1 beyond Monte Carlo error."""
    check_model(arch, height=2, width=2, levels=levels, hidden=[8], latent=2, eval_samples=50)


def test_bernoulli_refuses_non_binary_levels_everywhere():
    with pytest.raises(ValueError, match=r"vae-bernoulli models binary images \(levels=2\), got levels=17"):
        zoo.create("vae-bernoulli", levels=17)
    model = zoo.create("vae-bernoulli", **SMALL)
    with pytest.raises(ValueError, match="levels=2"):
        model.config.levels = 3
    assert model.config.levels == 2


def test_bernoulli_config_with_other_levels_on_disk_is_a_weights_error(tmp_path):
    zoo.save_pretrained(zoo.create("vae-bernoulli", **SMALL), tmp_path)
    meta = json.loads((tmp_path / "config.json").read_text())
    meta["config"]["levels"] = 17
    (tmp_path / "config.json").write_text(json.dumps(meta))
    with pytest.raises(zoo.WeightsError, match="levels"):
        zoo.load(tmp_path)


@pytest.mark.parametrize(
    "bad", [{"estimator": "C"}, {"hidden": [0]}, {"latent": 0}, {"samples": 0}, {"variance": "full"}]
)
def test_bad_config_values_are_named(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        zoo.create("vae-gaussian", **bad)


def test_shapes_of_encode_decode_and_friends():
    torch.manual_seed(0)
    g = zoo.create("vae-gaussian", **SMALL, variance="decoder").eval()
    x = torch.randint(0, 17, (4, 1, 6, 6))
    mu, logvar = g.encode(x)
    assert mu.shape == logvar.shape == (4, 3)
    mean, lv = g.decode(mu)
    assert mean.shape == lv.shape == (4, 1, 6, 6)
    assert g.reconstruct(x).shape == x.shape and g.reconstruct(x).dtype == torch.long
    b = zoo.create("vae-bernoulli", **SMALL).eval()
    assert b.decode(torch.zeros(5, 3)).shape == (5, 1, 6, 6)  # Bernoulli logits
    lp = b.log_prob(torch.randint(0, 2, (4, 1, 6, 6)), k=7, chunk=3)
    assert lp.shape == (4,) and torch.isfinite(lp).all()
    with pytest.raises(zoo.ImageError):
        b.encode(torch.zeros(2, 1, 6, 6))  # floats are not images


def test_interpolation_runs_between_the_two_reconstructions():
    torch.manual_seed(0)
    model = zoo.create("vae-gaussian", **SMALL).eval()
    x0 = torch.randint(0, 17, (2, 1, 6, 6), generator=torch.Generator().manual_seed(1))
    x1 = torch.randint(0, 17, (2, 1, 6, 6), generator=torch.Generator().manual_seed(2))
    path = model.interpolate(x0, x1, steps=5)
    assert path.shape == (2, 5, 1, 6, 6) and path.dtype == torch.long
    assert torch.equal(path[:, 0], model.reconstruct(x0)) and torch.equal(path[:, -1], model.reconstruct(x1))
    with pytest.raises(ValueError, match="steps"):
        model.interpolate(x0, x1, steps=1)
    with pytest.raises(zoo.ImageError, match="same shape"):
        model.interpolate(x0, x1[:1], steps=3)


def test_sampling_mean_flag_and_temperature():
    torch.manual_seed(0)
    model = zoo.create("vae-gaussian", **SMALL).eval()
    with torch.no_grad():
        model.logvar.fill_(-1.0)
    seed = lambda: torch.Generator().manual_seed(3)  # noqa: E731
    means = model.sample(64, generator=seed(), mean=True)
    draws = model.sample(64, generator=seed())
    cold = model.sample(64, generator=seed(), temperature=1e-4)
    assert means.dtype == draws.dtype == torch.long and int(draws.max()) <= 16
    assert (cold == means).float().mean() > 0.999  # temperature -> 0 gives the level nearest the mean
    assert not torch.equal(draws, means)
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, temperature=0)
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)


def test_discretized_gaussian_draws_follow_the_probabilities():
    """Sampling and log_likelihood describe the same distribution (chi-square-like check)."""
    torch.manual_seed(0)
    model = zoo.create("vae-gaussian", height=1, width=1, levels=5, hidden=[4], latent=1)
    mean, logvar = torch.full((1, 1, 1, 1), 0.3), torch.full((1, 1, 1, 1), -1.5)
    n = 40_000
    draws = model.draw((mean.expand(n, 1, 1, 1), logvar.expand(n, 1, 1, 1)), torch.Generator().manual_seed(0), 1.0)
    freq = torch.bincount(draws.flatten(), minlength=5).double() / n
    levels = torch.arange(5).view(5, 1, 1, 1)
    p = model.log_likelihood(levels, (mean.expand(5, 1, 1, 1), logvar.expand(5, 1, 1, 1))).exp().double()
    assert torch.allclose(freq, p, atol=4 * (0.25 / n) ** 0.5), (freq, p)


def test_log_prob_tightens_with_k_on_a_trained_model():
    """A few hundred steps on repeated images: the k=200 bound beats the ELBO, and both are <= 0."""
    torch.manual_seed(0)
    model = zoo.create("vae-bernoulli", **SMALL)
    x = torch.randint(0, 2, (16, 1, 6, 6), generator=torch.Generator().manual_seed(0))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(150):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    model.eval()
    g = torch.Generator().manual_seed(0)
    elbo = torch.stack([model.log_prob(x, k=1, generator=g) for _ in range(50)]).mean(0)
    k200 = model.log_prob(x, k=200, generator=g)
    assert (k200 > elbo).float().mean() > 0.9 and (k200 < 0).all()
    assert torch.allclose(model.metrics(x)["neg_elbo"].mean(), -elbo.mean(), rtol=0.05)


@pytest.mark.parametrize(
    "arch, shape",
    [
        ("vae-bernoulli", dict(channels=1, height=8, width=8)),
        ("vae-gaussian", dict(channels=3, height=5, width=7, levels=17, variance="decoder")),
    ],
)
def test_conv_variant_passes_the_contract(arch, shape):
    from zoo_vae.conv import ConvDecoder, ConvEncoder

    model = check_model(arch, network="conv", conv_channels=[8, 16], latent=4, hidden=[16], eval_samples=20, **shape)
    assert isinstance(model.encoder, ConvEncoder) and isinstance(model.decoder, ConvDecoder)
    params = model.decode(torch.zeros(2, 4))
    first = params[0] if isinstance(params, tuple) else params
    assert first.shape == (2, shape["channels"], shape["height"], shape["width"])


def test_conv_variant_needs_channels():
    with pytest.raises(ValueError, match="at least one entry in conv_channels"):
        zoo.create("vae-bernoulli", network="conv", conv_channels=[])
    with pytest.raises(ValueError, match="widths must be >= 1"):
        zoo.create("vae-bernoulli", network="conv", conv_channels=[0])
