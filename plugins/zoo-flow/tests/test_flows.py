"""The two flows: the contract kit, exact invertibility, log-dets against brute force, the bound, temperature,
actnorm's one-time initialisation and the errors."""

from __future__ import annotations

import math

import pytest
import torch
from zoo_flow import NICE, Glow, VariationalDequantizer

import zoo
from zoo.evaluation import importance_k
from zoo.testing import check_bound_mass, check_model

NICE_SMALL = dict(hidden=16, layers=2, couplings=4, eval_samples=8)
GLOW_SMALL = dict(hidden=8, layers=2, scales=2, eval_samples=8)


def scrambled(model, seed=0, scale=0.2):
    """``model`` with every weight moved at random, so that no zero-initialised layer hides a bug; actnorm is
    marked initialised so that training-mode calls leave the weights alone."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("ready"):
                p.fill_(1.0)
            else:
                p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype) * scale)
    return model


def test_plugin_is_discovered_through_its_entry_point():
    for arch in ("nice", "glow"):
        info = zoo.model_info(arch)
        assert info["plugin"] == "flow" and not info["autoregressive"]
        assert {"dequantization", "eval_samples", "hidden", "layers"} <= set(info["config_fields"])
    assert [p for p in zoo.plugins() if p["name"] == "flow"][0]["errors"] == []


@pytest.mark.parametrize(
    "arch, config",
    [
        ("nice", dict(height=2, width=2, levels=2, **NICE_SMALL)),  # 16 images: the bound's mass is enumerated
        (
            "nice",
            dict(height=3, width=2, levels=3, hidden=16, layers=1, prior="gaussian", dequantization="variational"),
        ),
        ("nice", dict(channels=3, height=4, width=4, levels=17, **NICE_SMALL)),
        ("glow", dict(height=2, width=2, levels=3, hidden=8, layers=2, scales=1)),  # 81 images, enumerated
        ("glow", dict(height=2, width=2, levels=2, hidden=8, scales=1, dequantization="variational")),
        ("glow", dict(channels=3, height=4, width=4, levels=4, **GLOW_SMALL)),
        ("glow", dict(height=4, width=8, levels=17, coupling="additive", conv1x1="plain", **GLOW_SMALL)),
    ],
)
def test_contract_kit(arch, config):
    check_model(arch, **config)


@pytest.mark.parametrize(
    "arch, config",
    [
        ("nice", dict(channels=2, height=3, width=3, **NICE_SMALL)),
        ("nice", dict(height=3, width=3, prior="gaussian", **NICE_SMALL)),
        ("glow", dict(channels=2, height=4, width=4, **GLOW_SMALL)),
        ("glow", dict(channels=3, height=8, width=4, coupling="additive", conv1x1="plain", **GLOW_SMALL)),
    ],
)
def test_inverse_undoes_forward_in_float64(arch, config):
    model = scrambled(zoo.create(arch, **config), scale=0.1).double()
    v = torch.rand(5, *model.config.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) - 0.5
    z, _ = model.encode(v)
    assert z.shape == (5, model.config.dims)
    assert (model.decode(z) - v).abs().max() < 1e-5
    w = 0.7 * torch.randn(z.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    assert (model.encode(model.decode(w))[0] - w).abs().max() < 1e-5


@pytest.mark.parametrize(
    "arch, config",
    [
        ("nice", dict(channels=1, height=3, width=3, **NICE_SMALL)),
        ("glow", dict(channels=1, height=4, width=4, **GLOW_SMALL)),
        ("glow", dict(channels=2, height=2, width=2, hidden=8, layers=3, scales=1, conv1x1="plain")),
    ],
)
def test_log_det_equals_the_brute_force_jacobian(arch, config):
    model = scrambled(zoo.create(arch, **config), scale=0.3).double()
    shape = model.config.shape
    for seed in range(2):
        v = torch.rand(1, *shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)) - 0.5
        jac = torch.autograd.functional.jacobian(lambda flat: model.encode(flat.view(1, *shape))[0][0], v.flatten())
        assert jac.shape == (model.config.dims, model.config.dims)
        want = torch.linalg.slogdet(jac)[1]
        got = model.encode(v)[1][0]
        assert abs(got - want) < 1e-8, (got, want)


def test_density_of_continuous_images_integrates_to_one():
    """The change of variables is right as a whole (prior included): a 2-dimensional NICE's density, summed on a
    fine grid over a box that holds its mass, is 1."""
    model = scrambled(zoo.create("nice", channels=2, height=1, width=1, **NICE_SMALL), scale=0.3).double()
    model.log_scale.data.fill_(1.0)  # narrow the logistic prior's image in v so a small box holds the mass
    step, side = 0.01, 6.0
    axis = torch.arange(-side, side, step, dtype=torch.float64) + step / 2
    grid = torch.cartesian_prod(axis, axis).view(-1, 2, 1, 1)
    mass = (model.log_density(grid).exp() * step**2).sum().item()
    assert abs(mass - 1.0) < 2e-3, mass


def _exact_log_prob(model, x, points=24):
    """log P(x) = log of the integral of p(x + u) over the unit cube, by the midpoint rule (tiny D only)."""
    D, L = model.config.dims, model.config.levels
    u = (torch.arange(points, dtype=torch.float64) + 0.5) / points
    cube = torch.cartesian_prod(*[u] * D).view(-1, *model.config.shape)
    out = []
    for image in x:
        v = (image.double() + cube) / L - 0.5
        out.append(torch.logsumexp(model.log_density(v), 0) - D * math.log(L) - D * math.log(points))
    return torch.stack(out)


def test_bound_lies_below_the_exact_likelihood_and_tightens_with_k():
    """On 2-dimensional binary images, where the cube's integral is a fine midpoint sum, the bound is below log P(x)
    on average for k = 1 and k = 64, and k = 64 is the tighter. The bound's code is the base class's, shared by
    both flows; each flow's density is checked by its Jacobian above."""
    torch.manual_seed(0)
    model = scrambled(zoo.create("nice", channels=2, height=1, width=1, levels=2, **NICE_SMALL), scale=0.3)
    model = model.double().eval()
    model.log_scale.data.fill_(1.0)  # the density varies across each cube: the bound is not trivially tight
    x = zoo.testing.all_images(model)
    exact = _exact_log_prob(model, x, points=200)
    assert torch.logsumexp(exact, 0) < 0  # the four images' probabilities sum to less than 1
    g = torch.Generator().manual_seed(0)
    runs = {k: torch.stack([model.log_prob(x, k=k, generator=g) for _ in range(n)]) for k, n in ((1, 400), (64, 100))}
    k1, k64 = runs[1].mean(0), runs[64].mean(0)
    for k, draws in runs.items():  # below, within 3 standard errors of the mean (and 1e-3, the quadrature's error)
        error = draws.std(0) / len(draws) ** 0.5
        assert (draws.mean(0) - 3 * error < exact + 1e-3).all(), (k, exact - draws.mean(0), error)
    assert (k64 > k1).all() and (exact - k64).max() < 0.5 * (exact - k1).max()  # more draws, tighter
    assert importance_k(model) == model.config.eval_samples == 8  # log_prob's default k


def test_the_estimator_names_the_bound_and_its_draws():
    model = zoo.create("glow", height=4, width=4, dequantization="variational", eval_samples=32, **{"hidden": 4})
    assert Glow.nll_estimator(model.config) == "variational dequantization k=32"
    assert NICE.nll_estimator(zoo.create("nice", hidden=4).config) == "uniform dequantization k=16"
    assert zoo.bounds.estimator_of(model) == "variational dequantization k=32" and importance_k(model, 3) == 3


def test_evaluate_reports_a_bound_with_the_draws_it_used():
    from zoo.data import ImageSet
    from zoo.evaluation import DefaultEvaluator

    model = zoo.create("nice", height=8, width=8, levels=17, **NICE_SMALL)
    images = torch.randint(0, 17, (6, 1, 8, 8), generator=torch.Generator().manual_seed(0))
    data = ImageSet(images=images.to(torch.uint8), labels=None, levels=17, name="toy", split="test")
    result = DefaultEvaluator().evaluate(model, data, k=3)
    assert result.bound and result.estimator == "uniform dequantization k=3" and result.k == 3
    assert zoo.bounds.format_nll(result.nll_nats, result.estimator).startswith("<= ")


def test_variational_dequantizer_density_is_a_logit_gaussian():
    """log q(u|x) agrees with torch.distributions' sigmoid of a Gaussian at the drawn u."""
    from torch.distributions import Normal, SigmoidTransform, TransformedDistribution

    torch.manual_seed(0)
    deq = VariationalDequantizer(channels=2, hidden=8).double()
    with torch.no_grad():
        for p in deq.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    x = torch.randint(0, 5, (3, 2, 3, 3))
    scaled = x.double() / 2 - 1
    u, log_q = deq(x, scaled, torch.Generator().manual_seed(0))
    mu, log_sigma = deq.net(scaled).chunk(2, 1)
    q = TransformedDistribution(Normal(mu, log_sigma.exp()), [SigmoidTransform()])
    assert torch.allclose(log_q, q.log_prob(u).flatten(1).sum(1), atol=1e-6)
    assert ((u > 0) & (u < 1)).all()


@pytest.mark.parametrize("arch, config", [("nice", NICE_SMALL), ("glow", GLOW_SMALL)])
def test_temperature_scales_the_latent_noise(arch, config):
    model = scrambled(zoo.create(arch, height=4, width=4, levels=17, **config)).eval()
    z = model.prior_sample(20_000, 0.5, torch.Generator().manual_seed(0))
    std = math.pi / math.sqrt(3) if arch == "nice" and model.config.prior == "logistic" else 1.0
    assert abs(z.std().item() / std - 0.5) < 0.01
    seed = lambda s: torch.Generator().manual_seed(s)  # noqa: E731
    cold = [model.sample(8, generator=seed(s), temperature=1e-6) for s in (0, 1)]
    mode = torch.floor((model.decode(torch.zeros(1, 16)) + 0.5) * 17).clamp(0, 16).long()
    assert torch.equal(cold[0], cold[1]) and torch.equal(cold[0], mode.expand(8, -1, -1, -1))
    warm = [model.sample(8, generator=seed(s)) for s in (0, 1)]
    assert not torch.equal(*warm) and int(warm[0].min()) >= 0 and int(warm[0].max()) <= 16
    with pytest.raises(ValueError, match="temperature"):
        model.sample(2, temperature=0.0)


def test_actnorm_initialises_once_from_the_first_training_batch(tmp_path):
    torch.manual_seed(0)
    model = zoo.create("glow", height=4, width=4, levels=17, **GLOW_SMALL)
    first = model.blocks[0][0].layers[0]
    x = torch.randint(0, 17, (64, 1, 4, 4), generator=torch.Generator().manual_seed(0))
    model.eval()
    model.log_prob(x[:4])
    assert first.ready.item() == 0  # evaluation never initialises
    model.train()
    model.loss(x)
    assert all(m.ready.item() == 1 for m in model.modules() if hasattr(m, "ready"))
    v = (x.double() + 0.5) / 17 - 0.5
    out, _ = first(zoo_flow_squeeze(v.float()))
    assert out.mean((0, 2, 3)).abs().max() < 0.2 and (out.std((0, 2, 3)) - 1).abs().max() < 0.2
    saved = {k: t.clone() for k, t in model.state_dict().items()}
    loaded = zoo.load(zoo.save_pretrained(model, tmp_path / "m")).train()
    loaded.loss(x[:8] // 2)  # other data: a second initialisation would move loc
    assert all(torch.equal(loaded.state_dict()[k], saved[k]) for k in saved)


def zoo_flow_squeeze(v):
    from zoo_flow.layers import squeeze

    return squeeze(v)


def test_the_weight_average_carries_the_initialisation():
    """``ema`` averages parameters only: ``ready`` is one, so the averaged model is never initialised again."""
    from torch.optim.swa_utils import AveragedModel

    model = zoo.create("glow", height=4, width=4, levels=17, **GLOW_SMALL)
    averaged = AveragedModel(model)
    model.train()
    model.loss(torch.randint(0, 17, (16, 1, 4, 4)))
    averaged.update_parameters(model)
    ready = [m.ready.item() for m in averaged.module.modules() if hasattr(m, "ready")]
    assert ready and all(r == 1 for r in ready)


def test_uniform_bound_mass_is_below_one_after_training():
    """Trained to put its mass on a few images, the bound's total over all 16 images approaches 1 from below."""
    torch.manual_seed(0)
    model = zoo.create("nice", height=2, width=2, levels=2, **NICE_SMALL)
    x = torch.tensor([[0, 1, 1, 0], [1, 1, 1, 1]]).view(2, 1, 2, 2).repeat(8, 1, 1, 1)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    before = check_bound_mass(model)
    for _ in range(150):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    after = check_bound_mass(model.eval())
    assert before < after < 1.0
    everything = zoo.testing.all_images(model)
    top = everything[model.log_prob(everything, k=64).topk(2).indices]
    assert {tuple(t.flatten().tolist()) for t in top} == {(0, 1, 1, 0), (1, 1, 1, 1)}  # the trained images


@pytest.mark.parametrize(
    "config, match",
    [
        (dict(arch="glow", height=7, width=7), r"glow with scales=2 needs height and width divisible by 4 .* 7x7"),
        (dict(arch="glow", height=12, width=8, scales=3), r"divisible by 8 .* 12x8; scales<=2 fits this size"),
        (dict(arch="glow", height=5, width=8, scales=1), r"divisible by 2 .* no scale fits an odd side"),
        (dict(arch="glow", conv1x1="qr"), "conv1x1"),
        (dict(arch="nice", channels=1, height=1, width=1), "nice needs at least 2 numbers per image"),
        (dict(arch="nice", dequantization="gaussian"), "dequantization"),
        (dict(arch="nice", couplings=1), "couplings"),
    ],
)
def test_bad_configs_are_one_clear_error(config, match):
    arch = config.pop("arch")
    with pytest.raises(ValueError, match=match):
        zoo.create(arch, **config)


def test_bad_calls_are_one_clear_error():
    model = zoo.create("glow", height=4, width=4, levels=5, hidden=4, layers=1)
    x = torch.randint(0, 5, (2, 1, 4, 4))
    with pytest.raises(ValueError, match="k must be a positive integer"):
        model.log_prob(x, k=0)
    with pytest.raises(zoo.ImageError, match=r"shape \(B, 1, 4, 4\)"):
        model.log_prob(torch.randint(0, 5, (2, 1, 8, 8)))
    with pytest.raises(zoo.ZooError, match="unconditional"):
        model.loss(x, labels=torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="n must be a positive integer"):
        model.sample(0)


def test_actnorm_averages_its_statistics_over_the_processes(tmp_path):
    """Under torch.distributed the first batch's statistics are all-reduced (a world of one here: the code path runs
    and gives the single-process values)."""
    import torch.distributed as dist
    from zoo_flow.layers import ActNorm

    x = torch.randn(16, 3, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 + 1
    alone = ActNorm(3).train()
    alone(x)
    dist.init_process_group("gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1)
    try:
        shared = ActNorm(3).train()
        shared(x)
    finally:
        dist.destroy_process_group()
    assert torch.allclose(alone.loc, shared.loc) and torch.allclose(alone.log_scale, shared.log_scale)
    assert torch.allclose(shared.loc.flatten(), -x.mean((0, 2, 3)), atol=1e-5)
