"""The hierarchical VAE: the contract kit, its bound (normalised on every tiny image, tighter with k),
sampling, free bits and the errors it gives."""

from __future__ import annotations

import itertools

import pytest
import torch

import zoo
from zoo.evaluation import importance_k
from zoo.testing import check_model

SMALL = dict(height=4, width=4, levels=2, hidden=8, layers=2, latent=2, eval_samples=10)


def _trained(steps: int = 200):
    """A tiny 1x2x2 binary model fitted to a skewed distribution, so its probabilities are far from uniform."""
    torch.manual_seed(0)
    model = zoo.create("hvae", channels=1, height=2, width=2, levels=2, hidden=8, layers=2, latent=2)
    data = torch.tensor([[0, 0, 0, 0], [1, 1, 1, 1], [1, 0, 0, 1]] * 20).view(-1, 1, 2, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        model.loss(data).backward()
        opt.step()
    return model.eval(), data


@pytest.fixture(scope="module")
def trained():
    """Trained once for the module; the tests only evaluate and sample it."""
    return _trained()


ALL_2x2 = torch.tensor(list(itertools.product([0, 1], repeat=4))).view(16, 1, 2, 2)


def test_plugin_is_discovered_and_marks_its_bound():
    info = zoo.model_info("hvae")
    assert info["plugin"] == "hvae" and not info["autoregressive"]
    assert {"hidden", "layers", "latent", "eval_samples", "free_bits"} <= set(info["config_fields"])
    model = zoo.create("hvae", **SMALL)
    assert type(model).nll_estimator(model.config) == "IWAE k=10" and importance_k(model) == 10
    assert importance_k(model, 7) == 7


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"channels": 3, "levels": 5, "height": 5, "width": 3},  # categorical decoder, colour, odd sizes
        {"downsample": 0, "blocks": 0, "layers": 1},
        {"levels": 256, "free_bits": 0.5, "height": 3, "width": 3},
    ],
)
def test_contract_kit(extra):
    check_model("hvae", **{**SMALL, **extra})


def test_the_bound_never_claims_more_than_all_the_probability_on_every_2x2_image(trained):
    """Sum over the 16 binary 1x2x2 images: exp(E[bound]) <= p(x) sums to at most 1, the ELBO's strictly less,
    and the k=2000 bound, almost p(x) itself, sums to 1 (the decoder and the priors are normalised)."""
    model, _ = trained
    g = torch.Generator().manual_seed(0)
    mean_bound = {
        k: torch.stack([model.log_prob(ALL_2x2, k=k, generator=g) for _ in range(reps)]).mean(0)
        for k, reps in ((1, 200), (10, 100))
    }
    total = {k: lp.exp().sum().item() for k, lp in mean_bound.items()}
    tight = model.log_prob(ALL_2x2, k=2000, generator=g).exp().sum().item()
    assert total[1] < total[10] <= 1.0 + 5e-3, total
    assert abs(tight - 1.0) < 0.02, tight
    assert total[1] < 0.99  # a real gap: the ELBO does not already sum to one


def test_the_bound_grows_with_k_in_expectation_and_is_the_elbo_at_k_1(trained):
    model, data = trained
    x = data[:3]
    g = torch.Generator().manual_seed(1)
    means = {k: torch.stack([model.log_prob(x, k=k, generator=g) for _ in range(150)]).mean() for k in (1, 5, 50)}
    assert means[1] < means[5] < means[50] <= 0, means
    elbo = torch.stack([-model.metrics(x, generator=g)["neg_elbo"] for _ in range(150)]).mean()
    assert abs(elbo - means[1]) < 0.05, (elbo, means[1])  # k = 1 is the ELBO, in expectation


def test_the_bound_is_seeded_and_passes_bound_memory_not_the_answer(trained):
    model, data = trained
    a = model.log_prob(data[:5], k=9, generator=torch.Generator().manual_seed(2))
    b = model.log_prob(data[:5], k=9, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b)
    g = torch.Generator().manual_seed(3)
    whole = torch.stack([model.log_prob(data[:2], k=8, generator=g) for _ in range(200)])
    split = torch.stack([model.log_prob(data[:2], k=8, generator=g, images_per_pass=2) for _ in range(200)])
    se = ((whole.var(0) + split.var(0)) / 200).sqrt()
    assert ((whole.mean(0) - split.mean(0)).abs() < 4 * se).all()  # 8 draws in one pass or in four: one bound


def test_samples_are_images_in_range_and_temperature_narrows_them(trained):
    colour = zoo.create("hvae", **{**SMALL, "levels": 5, "channels": 3}).eval()
    x = colour.sample(64, generator=torch.Generator().manual_seed(0))
    assert x.dtype == torch.long and x.shape == (64, 3, 4, 4) and 0 <= int(x.min()) and int(x.max()) <= 4
    assert len(x.unique()) == 5
    model, _ = trained
    cold = [model.sample(16, generator=torch.Generator().manual_seed(s), temperature=1e-6, mean=True) for s in (1, 2)]
    assert torch.equal(cold[0], cold[1])  # no latent noise left: every draw decodes the prior means
    warm = model.sample(200, generator=torch.Generator().manual_seed(1), mean=True)
    assert len(warm.flatten(1).unique(dim=0)) >= 2  # at temperature 1 the latents pick among the modes


def test_free_bits_change_the_loss_but_not_the_bound(trained):
    model, data = trained
    fb = zoo.create("hvae", **{**model.config.model_dump(), "free_bits": 5.0}).eval()
    fb.load_state_dict(model.state_dict())
    torch.manual_seed(4)
    plain = model.loss(data)
    torch.manual_seed(4)
    floored = fb.loss(data)
    kl = model.kl_per_layer(data, generator=torch.Generator().manual_seed(0))
    assert (kl < 5.0).all() and floored > plain  # every layer is under the floor: its KL counts as 5 nats
    g = lambda: torch.Generator().manual_seed(5)  # noqa: E731
    assert torch.equal(model.log_prob(data, k=4, generator=g()), fb.log_prob(data, k=4, generator=g()))
    assert "free bits 5" in type(fb).loss_estimator(fb.config)


def test_the_paths_run_at_the_resolutions_they_say():
    model = zoo.create("hvae", height=28, width=28, levels=2, hidden=8, layers=3, latent=4, downsample=2)
    assert model.sizes == [(28, 28), (14, 14), (7, 7)]
    x = torch.randint(0, 2, (2, 1, 28, 28))
    features = model.bottom_up(model.scale(x))
    assert len(features) == 3 and all(f.shape == (2, 8, 7, 7) for f in features)
    assert zoo.create("hvae", height=5, width=3, downsample=3).sizes[-1] == (1, 1)


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"layers": 0}, "layers"),
        ({"hidden": 0}, "hidden"),
        ({"free_bits": -1.0}, "free_bits"),
        ({"downsample": 9}, "downsample"),
    ],
)
def test_bad_settings_are_named(bad, message):
    with pytest.raises(ValueError, match=message):
        zoo.create("hvae", **bad)


def test_bad_calls_are_one_clear_error():
    model = zoo.create("hvae", **SMALL).eval()
    x = torch.randint(0, 2, (2, 1, 4, 4))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model.log_prob(x, k=0)
    with pytest.raises(ValueError, match="images_per_pass"):
        model.log_prob(x, images_per_pass=0)
    with pytest.raises(zoo.ImageError, match="values must be in 0..1"):
        model.log_prob(x + 1)
    with pytest.raises(zoo.ZooError, match="unconditional"):
        model.loss(x, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, temperature=0.0)
    assert model.log_prob(x[:0]).shape == (0,)
