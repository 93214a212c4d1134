"""VDM: the contract kit, each term of the bound against its closed form, the schedules, the Monte Carlo estimate,
sampling and completion, and the errors."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from zoo_vdm.schedule import LearnedSchedule, LinearSchedule, alpha_sigma
from zoo_vdm.terms import decoder_logits, grid_denoiser, prior_kl, reconstruction, stratified_times

import zoo
from zoo.testing import check_class_conditioning, check_model

TINY = dict(hidden=4, layers=1)


def every_image(levels: int, shape: tuple[int, int, int]) -> torch.Tensor:
    return torch.tensor(list(itertools.product(range(levels), repeat=math.prod(shape)))).view(-1, *shape)


@pytest.mark.parametrize(
    "config",
    [
        dict(channels=1, height=4, width=4, levels=2),
        dict(channels=3, height=3, width=3, levels=5, hidden=6),
        dict(channels=1, height=4, width=4, levels=3, noise_schedule="learned", schedule_hidden=16),
        dict(channels=1, height=3, width=3, levels=4, grid_skip=False, fourier=False),
    ],
    ids=["binary", "colour", "learned-schedule", "plain-eps"],
)
def test_contract(config):
    check_model("vdm", **{**TINY, **config})


def test_class_conditioning():
    check_class_conditioning(zoo.create("vdm", height=3, width=3, levels=3, num_classes=3, **TINY))


def test_the_bound_is_marked_as_a_bound_with_its_timesteps():
    model = zoo.create("vdm", eval_timesteps=37, **TINY)
    assert not model.autoregressive
    assert zoo.bounds.estimator_of(model) == "VDM bound, 37 timesteps"
    result = zoo.evaluate(model, "digits", split="val", limit=8)
    assert result.bound and result.estimator == "VDM bound, 37 timesteps" and result.k is None
    assert set(result.extra) == {"prior", "prior_bits_per_dim", "reconstruction", "reconstruction_bits_per_dim"}


# -- the terms against closed forms ------------------------------------------------------------------


@pytest.mark.parametrize("gamma", [-13.3, -2.0, 0.5, 5.0, 12.0])
def test_prior_kl_is_the_gaussian_kl(gamma):
    x = torch.rand(3, 1, 2, 2, dtype=torch.float64) * 2 - 1
    g = torch.tensor(gamma, dtype=torch.float64)
    alpha, sigma = alpha_sigma(g)
    q = torch.distributions.Normal(alpha * x, sigma.expand_as(x))
    want = torch.distributions.kl_divergence(q, torch.distributions.Normal(0.0, 1.0)).flatten(1).sum(1)
    assert torch.allclose(prior_kl(x, g), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("levels, gamma", [(2, -3.0), (17, -8.0), (17, -1.0), (256, -13.3)])
def test_reconstruction_is_the_normalised_gaussian_over_the_bins(levels, gamma):
    """p(x = v | z_0) is q(z_0 | x = v) normalised over the levels: Normal log-densities, then log-softmax."""
    g = torch.tensor(gamma, dtype=torch.float64)
    alpha, sigma = alpha_sigma(g)
    x = torch.randint(0, levels, (4, 1, 3, 3))
    centres = torch.linspace(-1, 1, levels, dtype=torch.float64)
    z = alpha * centres[x] + sigma * torch.randn(x.shape, dtype=torch.float64)
    dens = torch.distributions.Normal(alpha * centres.view(1, -1, 1, 1, 1), sigma).log_prob(z.unsqueeze(1))
    want = -torch.log_softmax(dens, 1).gather(1, x.unsqueeze(1)).squeeze(1).flatten(1).sum(1)
    assert torch.allclose(reconstruction(x, z, g, levels), want, rtol=1e-9, atol=1e-9)
    assert torch.allclose(
        torch.logsumexp(torch.log_softmax(decoder_logits(z, g, levels), 1), 1), torch.zeros(1).double()
    )


def test_reconstruction_vanishes_at_high_snr_and_is_uniform_at_none():
    x = torch.randint(0, 17, (2, 1, 4, 4))
    centres = torch.linspace(-1, 1, 17, dtype=torch.float64)
    for gamma, want in ((-20.0, 0.0), (30.0, 16 * math.log(17))):
        g = torch.tensor(gamma, dtype=torch.float64)
        alpha, sigma = alpha_sigma(g)
        z = alpha * centres[x] + sigma * torch.randn(x.shape, dtype=torch.float64)
        assert torch.allclose(reconstruction(x, z, g, 17), torch.full((2,), want, dtype=torch.float64), atol=1e-4)


def test_grid_denoiser_is_the_posterior_mean_noise_of_uniform_levels():
    levels, gamma = 5, torch.tensor([[-4.0], [0.0], [3.0]], dtype=torch.float64).view(3, 1, 1, 1)
    z = torch.randn(3, 2, 2, 2, dtype=torch.float64)
    alpha, sigma = alpha_sigma(gamma)
    centres = torch.linspace(-1, 1, levels, dtype=torch.float64)
    lik = torch.distributions.Normal(alpha.unsqueeze(-1) * centres, sigma.unsqueeze(-1)).log_prob(z.unsqueeze(-1))
    mean = (torch.softmax(lik, -1) * centres).sum(-1)  # E[x | z] with every level equally likely a priori
    assert torch.allclose(grid_denoiser(z, gamma, levels), (z - alpha * mean) / sigma, rtol=1e-9, atol=1e-9)


# -- schedules -----------------------------------------------------------------------------------------


def _random_learned(seed: int) -> LearnedSchedule:
    schedule = LearnedSchedule(-10.0, 6.0, hidden=32).double()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in schedule.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 2)
    return schedule


@pytest.mark.parametrize(
    "make", [lambda: LinearSchedule(-13.3, 5.0), lambda: _random_learned(0), lambda: _random_learned(1)]
)
def test_schedules_are_monotone_with_the_right_slope_and_ends(make):
    schedule = make()
    t = torch.linspace(0, 1, 2001, dtype=torch.float64, requires_grad=True)
    gamma = schedule(t)
    assert (gamma.value.diff() > 0).all() and (gamma.slope > 0).all()
    (autograd,) = torch.autograd.grad(gamma.value.sum(), t)
    assert torch.allclose(gamma.slope, autograd, rtol=1e-9, atol=1e-9)
    start, end = schedule.ends(t)
    assert torch.allclose(torch.stack([start, end]), gamma.value[[0, -1]], rtol=1e-9, atol=1e-9)


def test_the_learned_schedule_starts_near_linear():
    learned = LearnedSchedule(-13.3, 5.0, hidden=64)
    t = torch.linspace(0, 1, 11)
    assert torch.allclose(learned(t).value, LinearSchedule(-13.3, 5.0)(t).value, atol=2.5)
    assert torch.allclose(torch.stack(learned.ends(t)), torch.tensor([-13.3, 5.0]), atol=1e-5)


def test_the_learned_interior_descends_the_variance_and_the_ends_the_bound():
    """With the hook the interior's gradient is that of mean(L_diff^2); every other gradient is the bound's."""
    torch.manual_seed(0)
    model = zoo.create("vdm", height=3, width=3, levels=4, noise_schedule="learned", schedule_hidden=8, **TINY).double()
    with torch.no_grad():
        model.denoiser.out.weight.normal_(0, 0.3)  # a network that is not zero, so every term moves
    x = torch.randint(0, 4, (6, 1, 3, 3))
    interior = ["slope", "offset", "hidden_weight", "hidden_bias", "out_weight"]

    def grads(objective):
        model.zero_grad()
        torch.manual_seed(1)
        objective().backward()
        return {n: p.grad.clone() for n, p in model.named_parameters()}

    def plain(square: bool):
        scaled = model._work(x)
        t = stratified_times(1, len(x), scaled).view(-1)
        diffusion, _ = model._diffusion(scaled, t, None, None, None)
        ends = model._ends_terms(x, scaled, None)
        if square:
            return diffusion.pow(2).mean()
        return (ends["prior"] + ends["reconstruction"] + diffusion).mean()

    hooked, bound, second = grads(lambda: model.loss(x)), grads(lambda: plain(False)), grads(lambda: plain(True))
    for name in hooked:
        want = second if name.split(".")[-1] in interior and name.startswith("schedule.") else bound
        assert torch.allclose(hooked[name], want[name], rtol=1e-9, atol=1e-12), name
    assert hooked["schedule.gamma_0"].abs() > 0 and hooked["schedule.hidden_weight"].abs().sum() > 0


# -- the Monte Carlo estimate -------------------------------------------------------------------------


def test_stratified_times_cover_every_stratum_once():
    t = stratified_times(5, 8, torch.zeros(()), torch.Generator().manual_seed(0))
    assert t.shape == (5, 8) and ((t >= 0) & (t < 1)).all()
    assert torch.equal(torch.sort((t * 8).floor(), 1).values, torch.arange(8.0).expand(5, 8))


def _trained_digits_like(steps: int = 60) -> tuple[zoo.Model, torch.Tensor]:
    torch.manual_seed(0)
    model = zoo.create("vdm", height=4, width=4, levels=5, hidden=8, layers=1)
    x = torch.randint(0, 5, (16, 1, 4, 4))
    x[:, :, :2] = 0  # some structure to learn beyond the grid
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(steps):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    return model.eval(), x


def test_the_estimate_settles_as_timesteps_grow():
    """Across seeds, the spread of the per-image bound shrinks about as 1/sqrt(timesteps) and the mean holds."""
    model, x = _trained_digits_like()
    spread, means = {}, {}
    for timesteps in (8, 128):
        runs = torch.stack(
            [model.log_prob(x, timesteps=timesteps, generator=torch.Generator().manual_seed(s)) for s in range(12)]
        )
        spread[timesteps], means[timesteps] = runs.std(0).mean().item(), runs.mean().item()
    assert spread[128] < spread[8] / 2.5, spread  # 1/sqrt(16) = 1/4 in theory
    assert abs(means[128] - means[8]) < 3 * spread[8] / math.sqrt(12 * len(x)) + 0.05 * abs(means[128]), means


def test_log_prob_is_seeded_and_a_generator_changes_it():
    model, x = _trained_digits_like(steps=5)
    assert torch.equal(model.log_prob(x), model.log_prob(x))
    assert not torch.equal(model.log_prob(x), model.log_prob(x, generator=torch.Generator().manual_seed(5)))
    assert (model.log_prob(x) <= 0).all()


def test_the_discrete_time_bound_is_looser_and_tends_to_the_continuous_one():
    """VDM: L_T >= L_inf, and L_T -> L_inf as T grows (estimated with the same number of times)."""
    model, x = _trained_digits_like()
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    continuous = -model.log_prob(x, timesteps=256, generator=g()).mean().item()
    gaps = [-model.log_prob(x, timesteps=256, steps=T, generator=g()).mean().item() - continuous for T in (4, 32, 512)]
    assert gaps[0] > gaps[1] > 0 and abs(gaps[2]) < 0.1 * gaps[1] + 0.3, gaps


def test_sum_of_exp_bound_over_every_tiny_image_is_at_most_one():
    """1x2x2 binary: 16 images. A fresh model's network adds nothing to the exact denoiser of uniform levels, so its
    bound is nearly tight (each image near log 16): the hardest case. The estimate of one image is noisy, and
    exp of a noisy estimate is biased upwards (Jensen), so many timesteps are used; the continuous bound and the
    T-step bound of the sampler both stay within a Monte Carlo tolerance of 1."""
    model = zoo.create("vdm", channels=1, height=2, width=2, levels=2, **TINY).eval()
    images = every_image(2, (1, 2, 2))
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    continuous = torch.logsumexp(model.log_prob(images, timesteps=4096, generator=g()), 0).exp().item()
    stepped = torch.logsumexp(model.log_prob(images, timesteps=4096, steps=64, generator=g()), 0).exp().item()
    assert 0.5 < continuous <= 1.05 and stepped <= continuous + 0.05, (continuous, stepped)
    untrained_eps = zoo.create("vdm", channels=1, height=2, width=2, levels=2, grid_skip=False, **TINY).eval()
    assert torch.logsumexp(untrained_eps.log_prob(images), 0).exp().item() < 1e-6  # eps_hat = 0: very loose


def _exact_stepped_model(model, steps: int, grid: torch.Tensor) -> torch.Tensor:
    """P(x = v) of the ``steps``-step ancestral sampler of a one-pixel model, by propagating the density of z on
    ``grid`` through every step (a quadrature, no sampling), then the decoder."""
    dz = grid[1] - grid[0]
    normal = torch.distributions.Normal(0.0, 1.0)
    density = normal.log_prob(grid).exp() * dz  # z_1 ~ N(0, 1)
    times = torch.linspace(1.0, 0.0, steps + 1, dtype=torch.float64)
    z = grid.view(-1, 1, 1, 1)
    with torch.no_grad():
        for t, s in zip(times[:-1], times[1:]):
            g_t, g_s = model.schedule(t.view(1)).value, model.schedule(s.view(1)).value
            eps_hat = model.eps_hat(z, g_t.expand(len(grid))).view(-1)
            (alpha_t, sigma_t), (alpha_s, sigma_s) = alpha_sigma(g_t), alpha_sigma(g_s)
            c = -torch.expm1(g_s - g_t)
            mean = alpha_s / alpha_t * (grid - c * sigma_t * eps_hat)
            std = (c.sqrt() * sigma_s).item()
            kernel = torch.distributions.Normal(mean.view(1, -1), std).log_prob(grid.view(-1, 1)).exp() * dz
            density = kernel @ density
        gamma_0, _ = model.schedule.ends(grid)
        decoder = torch.softmax(decoder_logits(z, gamma_0, model.config.levels), 1).view(len(grid), -1)
    return density @ decoder


def test_the_stepped_bound_bounds_the_exact_probabilities_of_the_stepped_sampler():
    """One pixel, three levels, a network far from zero: the T-step model's exact P(x) by quadrature. Its
    samples follow it, the T-step bound of every level lies below its log-probability, and the continuous
    bound (of the limit T -> inf) above the T-step one."""
    torch.manual_seed(0)
    model = zoo.create("vdm", channels=1, height=1, width=1, levels=3, gamma_min=-4.0, gamma_max=4.0, **TINY)
    model = model.double().eval()
    with torch.no_grad():
        for p in model.denoiser.parameters():
            p.normal_(0, 0.5)
    steps, grid = 16, torch.linspace(-7, 7, 1401, dtype=torch.float64)
    exact = _exact_stepped_model(model, steps, grid)
    assert abs(exact.sum().item() - 1) < 1e-6
    samples = model.sample(10000, generator=torch.Generator().manual_seed(0), steps=steps)
    observed = torch.bincount(samples.view(-1), minlength=3).double() / 10000
    assert torch.allclose(observed, exact, atol=0.02), (observed, exact)
    levels = torch.arange(3).view(3, 1, 1, 1)
    g = torch.Generator().manual_seed(1)
    stepped = model.log_prob(levels, timesteps=5000, steps=steps, generator=g)
    continuous = model.log_prob(levels, timesteps=5000, generator=g)
    assert (stepped <= exact.log() + 0.01).all() and (stepped > exact.log() - 0.6).all(), (stepped, exact.log())
    assert (stepped < continuous + 0.01).all(), (continuous, stepped)


# -- sampling and completion ---------------------------------------------------------------------------


def test_samples_are_in_range_and_seeded():
    model, _ = _trained_digits_like(steps=5)
    a = model.sample(5, generator=torch.Generator().manual_seed(3), steps=16)
    b = model.sample(5, generator=torch.Generator().manual_seed(3), steps=16)
    c = model.sample(5, generator=torch.Generator().manual_seed(4), steps=16)
    assert a.dtype == torch.int64 and a.shape == (5, 1, 4, 4) and 0 <= a.min() and a.max() <= 4
    assert torch.equal(a, b) and not torch.equal(a, c)
    cold = model.sample(5, generator=torch.Generator().manual_seed(3), steps=16, temperature=0.5)
    assert cold.shape == a.shape and cold.max() <= 4


def test_samples_follow_what_the_model_learned_and_its_bound():
    """Trained briefly on two 2x2 images of 3 levels (81 images in all): its samples hit those two far more often
    than a uniform model's 2/81, and at least as often as the 32-step bound says the 32-step sampler must."""
    torch.manual_seed(0)
    model = zoo.create("vdm", height=2, width=2, levels=3, hidden=16, layers=1)
    data = torch.tensor([[[[0, 2], [2, 0]]], [[[2, 2], [0, 1]]]])
    opt = torch.optim.Adam(model.parameters(), 3e-3)
    for _ in range(150):
        opt.zero_grad()
        model.loss(data.repeat(16, 1, 1, 1)).backward()
        opt.step()
    model.eval()
    samples = model.sample(400, generator=torch.Generator().manual_seed(0), steps=32)
    hits = (samples.unsqueeze(1) == data.unsqueeze(0)).flatten(2).all(2).any(1).double().mean().item()
    bound = model.log_prob(data, timesteps=1000, steps=32).exp().sum().item()
    assert hits > 4 * 2 / 81 and bound > 2 / 81 and hits > bound - 0.05, (hits, bound)


def test_completion_keeps_known_pixels_and_fills_the_rest():
    model, x = _trained_digits_like(steps=5)
    known = torch.zeros(1, 4, 4, dtype=torch.bool)
    known[:, :2] = True
    for resample in (1, 3):
        done = model.complete(x[:3], known, generator=torch.Generator().manual_seed(0), steps=8, resample=resample)
        assert done.shape == (3, 1, 4, 4) and done.dtype == torch.int64
        assert torch.equal(done[:, :, :2], x[:3, :, :2]) and done.max() <= 4
    again = model.complete(x[:3], known, generator=torch.Generator().manual_seed(0), steps=8, resample=3)
    assert torch.equal(done, again)


def test_the_cli_completes_with_a_diffusion_model(tmp_path, capsys):
    from zoo.cli import main

    model = zoo.create("vdm", steps=4, **TINY)
    model.pretrained_info = {"dataset": "digits"}
    model.save_pretrained(tmp_path / "m")
    out = tmp_path / "c.png"
    assert main(["complete", str(tmp_path / "m"), "--n", "2", "--out", str(out)]) == 0, capsys.readouterr().err
    assert out.is_file()


def test_other_dtypes_keep_the_bound_and_train_under_autocast():
    """float64 and bfloat16 weights: the network runs in their dtype, the bound's arithmetic in at least float32."""
    model, x = _trained_digits_like(steps=5)
    exact = model.log_prob(x)
    for dtype, tolerance in ((torch.float64, 1e-3), (torch.bfloat16, 2.0)):
        other = _trained_digits_like(steps=5)[0].to(dtype)
        assert (other.log_prob(x).double() - exact.double()).abs().max() < tolerance, dtype
        assert other.sample(2, generator=torch.Generator().manual_seed(0), steps=4).dtype == torch.int64
    model.train()
    with torch.autocast("cpu", torch.bfloat16):
        loss = model.loss(x)
    loss.backward()
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


# -- clear errors --------------------------------------------------------------------------------------


def test_bad_settings_and_arguments_are_one_clear_error():
    with pytest.raises(zoo.ConfigError, match="gamma_min=5.0 must be below gamma_max=1.0"):
        zoo.create("vdm", gamma_min=5.0, gamma_max=1.0)
    with pytest.raises(zoo.ConfigError, match="noise_schedule"):
        zoo.create("vdm", noise_schedule="cosine")
    model = zoo.create("vdm", height=2, width=2, levels=2, **TINY)
    x = torch.zeros(2, 1, 2, 2, dtype=torch.long)
    for call, match in (
        (lambda: model.log_prob(x, timesteps=0), "timesteps must be an integer from 1"),
        (lambda: model.log_prob(x, steps=1.5), "steps must be an integer from 1"),
        (lambda: model.sample(2, steps=0), "steps must be an integer from 1"),
        (lambda: model.sample(0), "n must be a positive integer"),
        (lambda: model.sample(2, temperature=0), "temperature must be > 0"),
        (lambda: model.complete(x, torch.ones(1, 2, 2)), "known must be a bool tensor"),
        (lambda: model.complete(x, torch.ones(3, 2, 2, dtype=torch.bool)), "does not broadcast"),
        (lambda: model.complete(x[:0], torch.ones(1, 2, 2, dtype=torch.bool)), "no images"),
        (lambda: model.complete(x, torch.ones(1, 2, 2, dtype=torch.bool), resample=0), "resample must be"),
        (lambda: model.log_prob(x.float()), "integer tensor"),
    ):
        with pytest.raises(zoo.ZooError, match=match):
            call()
