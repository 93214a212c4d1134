"""The contract test kit: one call checks any registered architecture against zoo's contracts.

    from zoo.testing import check_model
    check_model("pixelcnn", channels=3, height=6, width=6, levels=4, hidden=12)

Each check raises AssertionError naming the contract that failed. Autoregressive models
must build their network input with ``Model.scale(x)``: the gradient checks replace it
with a float tensor that requires grad.
"""

from __future__ import annotations

import contextlib
import itertools
import tempfile
import unittest
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import zoo

from ..api import evaluate
from ..bounds import estimator_of
from ..data import load_dataset
from ..errors import HubError, ImageError
from ..evaluation import bits_per_dim
from ..folders import ModelFolder
from ..interfaces import Model
from ..recipes import CHAIN, Recipe
from ..registry import get_registry
from ..sampling import occlusion_mask
from ..sources import resolve_entry
from ..training import TrainConfig, split_settings
from ..weights import CONFIG_FILE, WEIGHTS_FILE
from .hostile import check_hostile_folder, huge_config

__all__ = [
    "check_model",
    "check_autoregressive",
    "check_normalised",
    "check_bound_mass",
    "check_refuses_labels",
    "all_images",
    "receptive_field",
    "random_images",
    "check_pretrained",
    "check_fast_sampler",
    "check_fused_path",
    "check_class_conditioning",
    "NotCached",
    "check_hostile_folder",
    "huge_config",
]


def random_images(model: Model, n: int, seed: int = 0) -> torch.Tensor:
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, cfg.levels, (n, *cfg.shape), generator=g)


@contextlib.contextmanager
def _float_input(model: Model, scaled: torch.Tensor):
    """Make ``model.scale`` return ``scaled`` so gradients reach the network input."""
    model.scale = lambda x: scaled  # instance attribute shadows the method
    try:
        yield
    finally:
        del model.scale


def _input_gradient(model: Model, x: torch.Tensor, i: int, j: int, c: int, seed: int) -> torch.Tensor:
    scaled = Model.scale(model, x).detach().requires_grad_(True)
    with _float_input(model, scaled):
        logits = model.logits(x)
    weights = torch.randn(logits.shape[1], generator=torch.Generator().manual_seed(seed))
    (logits[0, :, c, i, j] * weights).sum().backward()
    return scaled.grad if scaled.grad is not None else torch.zeros_like(scaled)  # None: input unused


def receptive_field(model: Model, i: int, j: int, c: int = 0, trials: int = 3) -> torch.Tensor:
    """``(C, H, W)`` bool: input positions whose value changes the logits of channel c at (i, j)."""
    was_training = model.training
    model.eval()
    try:
        field = torch.zeros(model.config.shape, dtype=torch.bool)
        for t in range(trials):
            grad = _input_gradient(model, random_images(model, 2, seed=t), i, j, c, seed=t)
            assert grad[1].abs().sum() == 0, "images in a batch influence each other"
            field |= grad[0].abs() > 0
        return field
    finally:
        model.train(was_training)


def allowed_context(shape: tuple[int, int, int], i: int, j: int, c: int) -> torch.Tensor:
    """Positions channel c of pixel (i, j) may depend on: earlier pixels, and channels < c here."""
    C, H, W = shape
    allowed = torch.zeros(shape, dtype=torch.bool)
    allowed[:, :i, :] = True
    allowed[:, i, :j] = True
    allowed[:c, i, j] = True
    return allowed


def check_autoregressive(model: Model) -> None:
    """Every output channel depends on no input at its own pixel/channel or later (gradient test)."""
    C, H, W = model.config.shape
    for i, j, c in itertools.product(range(H), range(W), range(C)):
        field = receptive_field(model, i, j, c, trials=1)
        leak = field & ~allowed_context((C, H, W), i, j, c)
        if leak.any():
            where = [tuple(p) for p in leak.nonzero().tolist()[:4]]
            raise AssertionError(
                f"autoregressive property broken: logits of channel {c} at pixel ({i}, {j}) depend on "
                f"input (channel, row, col) {where}"
            )


@torch.no_grad()
def check_fast_sampler(model: Model, n: int = 4, seed: int = 0) -> None:
    """The model's incremental sampler is exact: step by step it gives the full forward pass's
    logits, and with the same seed it returns the naive sampler's samples and completions."""

    name = model.architecture or type(model).__name__
    was_training = model.training
    model.eval()
    try:
        C, H, W = model.config.shape
        x = random_images(model, n, seed=seed).to(model.device)  # the same images on every device
        full = model.logits(x)
        fast = model.incremental_sampler(n)
        assert fast is not None, f"{name} has no incremental sampler"
        fast.start(x)
        for i, j, c in itertools.product(range(H), range(W), range(C)):
            got, want = fast.logits_at(x, i, j, c), full[:, :, c, i, j]
            assert torch.allclose(got, want, atol=1e-4, rtol=1e-4), (
                f"{name}: fast logits of channel {c} at pixel ({i}, {j}) differ from the full forward pass "
                f"by {(got - want).abs().max().item():.2e}"
            )
        for temperature in (1.0, 0.7):
            runs = {
                m: model.sample(n, generator=torch.Generator().manual_seed(seed), temperature=temperature, method=m)
                for m in ("naive", "fast", "auto")
            }
            assert torch.equal(runs["naive"], runs["fast"]), f"{name}: fast samples differ from naive (T={temperature})"
            assert torch.equal(runs["fast"], runs["auto"]), f"{name}: method='auto' does not use the fast sampler"
        known = occlusion_mask((C, H, W), "bottom-half")
        done = {
            m: model.complete(x, known, generator=torch.Generator().manual_seed(seed + 1), method=m)
            for m in ("naive", "fast")
        }
        assert torch.equal(done["naive"], done["fast"]), f"{name}: fast completions differ from naive"
    finally:
        model.train(was_training)


def check_fused_path(model: Model, x: torch.Tensor, use_fused: Callable[[bool], None], grads: bool = True) -> None:
    """A fused (C++) path gives the NLL of ``x`` that the model's PyTorch path gives, and with ``grads`` the
    same gradient of every parameter, to a relative 1e-5 (the two sum in different orders).

    ``use_fused(True)`` selects the fused path and ``use_fused(False)`` the PyTorch one (a plugin's tests set
    ``ZOO_NATIVE`` through monkeypatch); the fused path runs first. With ``grads`` at least one gradient must
    differ bitwise, so a switch that did nothing (one path measured twice) fails rather than passes.
    """

    def measure() -> tuple[torch.Tensor, list[torch.Tensor]]:
        if not grads:
            with torch.no_grad():
                return model.log_prob(x), []
        model.zero_grad()
        nll = -model.log_prob(x)
        nll.sum().backward()
        return nll.detach(), [p.grad.clone() for p in model.parameters()]

    use_fused(True)
    new, new_grads = measure()
    use_fused(False)
    old, old_grads = measure()
    torch.testing.assert_close(new, old, rtol=1e-5, atol=0)
    for a, b in zip(new_grads, old_grads):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5 * b.abs().max().item())
    assert not grads or any(not torch.equal(a, b) for a, b in zip(new_grads, old_grads)), "both runs took one path"


@torch.no_grad()
def check_class_conditioning(model: Model, seed: int = 0) -> None:
    """A class-conditional model: each image's label changes its own likelihood only, labels are required and
    checked, and for an autoregressive model with a fast sampler, fast sampling and completion with labels
    equal the naive ones."""
    name = model.architecture or type(model).__name__
    k = model.num_classes
    assert k is not None and k >= 2, f"{name}: check_class_conditioning needs num_classes >= 2"
    was_training = model.training
    model.eval()
    try:
        g = torch.Generator().manual_seed(seed)
        for p in model.parameters():  # random weights everywhere, so a label cannot hide behind a zero init
            p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        x = random_images(model, 3, seed=seed).to(model.device)
        labels = torch.arange(3, device=model.device) % k
        other = labels.clone()
        other[0] = (labels[0] + 1) % k
        a, b = model.log_prob(x, labels=labels), model.log_prob(x, labels=other)
        assert a[0] != b[0], f"{name}: the label does not change the likelihood"
        assert torch.equal(a[1:], b[1:]), f"{name}: one image's label changes another image's likelihood"
        for bad in (None, torch.tensor([0, 1, k], device=model.device)):
            try:
                model.log_prob(x, labels=bad)
            except ValueError:
                continue
            raise AssertionError(f"{name}: labels={bad} accepted")
        if model.autoregressive and model.incremental_sampler(3, labels) is not None:
            runs = [
                model.sample(3, generator=torch.Generator().manual_seed(seed), method=m, labels=labels)
                for m in ("naive", "fast")
            ]
            assert torch.equal(*runs), f"{name}: fast conditional samples differ from naive"
            known = occlusion_mask(model.config.shape, "bottom-half")
            done = [
                model.complete(x, known, generator=torch.Generator().manual_seed(seed), method=m, labels=labels)
                for m in ("naive", "fast")
            ]
            assert torch.equal(*done), f"{name}: fast conditional completions differ from naive"
    finally:
        model.train(was_training)


def all_images(model: Model, limit: int = 4096) -> torch.Tensor:
    """Every possible image of ``model``'s shape and levels, ``(levels**dims, C, H, W)`` int64 (tiny images only)."""
    cfg = model.config
    count = cfg.levels**cfg.dims
    if count > limit:
        raise ValueError(f"{count} possible images is too many to enumerate (at most {limit})")
    return torch.tensor(list(itertools.product(range(cfg.levels), repeat=cfg.dims))).view(-1, *cfg.shape)


def _total_probability(model: Model, grid: torch.Tensor, label: int | None) -> float:
    """sum over ``grid`` of exp(log_prob), for one class of a class-conditional model."""
    labels = {} if label is None else {"labels": torch.full((len(grid),), label, device=model.device)}
    with torch.no_grad():
        return torch.logsumexp(model.log_prob(grid.to(model.device), **labels).double(), 0).exp().item()


def _classes(model: Model) -> list[int | None]:
    return list(range(model.num_classes)) if model.conditional else [None]


def check_normalised(model: Model, tol: float = 1e-3) -> None:
    """An exact likelihood: the probabilities of all possible images sum to 1 (each class's, for a
    class-conditional model). Only for tiny images."""
    grid = all_images(model)
    for label in _classes(model):
        total = _total_probability(model, grid, label)
        of = "" if label is None else f" of class {label}"
        assert abs(total - 1.0) < tol, f"probabilities{of} over all {len(grid)} images sum to {total:.6f}, not 1"


def check_bound_mass(model: Model, tol: float = 0.02, repeats: int = 4, seed: int = 0) -> float:
    """A lower bound on log p(x): the sum of exp(bound) over all possible images is at most 1.

    For a Monte Carlo bound (importance-weighted, dequantized, a diffusion bound) exp(bound) is a random
    estimate of at most p(x) on average (exactly p(x), unbiased, for an importance-weighted average of
    k draws), so the sum is measured ``repeats`` times with seeds ``seed, seed+1, ...`` and the mean must
    not exceed 1 by more than ``tol`` plus three standard errors of that mean. Only for tiny images.
    Returns the largest mean found (over the classes of a class-conditional model).
    """
    grid, worst = all_images(model), 0.0
    for label in _classes(model):
        totals = []
        for r in range(repeats):
            torch.manual_seed(seed + r)
            totals.append(_total_probability(model, grid, label))
        values = torch.tensor(totals, dtype=torch.float64)
        mean = values.mean().item()
        error = (values.std() / repeats**0.5).item() if repeats > 1 else 0.0
        of = "" if label is None else f" of class {label}"
        assert mean <= 1.0 + tol + 3 * error, (
            f"exp(bound){of} over all {len(grid)} images sums to {mean:.4f} (standard error {error:.4f}), "
            "more than 1: not a lower bound on the log-likelihood"
        )
        worst = max(worst, mean)
    return worst


def check_refuses_labels(model: Model) -> None:
    """An unconditional model refuses labels in ``log_prob``, ``loss`` and ``sample`` with a ValueError."""
    name = model.architecture or type(model).__name__
    x = random_images(model, 2).to(model.device)
    labels = torch.zeros(2, dtype=torch.long, device=model.device)
    calls = {
        "log_prob": lambda: model.log_prob(x, labels=labels),
        "loss": lambda: model.loss(x, labels=labels),
        "sample": lambda: model.sample(2, generator=torch.Generator().manual_seed(0), labels=labels),
    }
    for what, call in calls.items():
        try:
            call()
        except ValueError:
            continue
        except Exception as exc:  # noqa: BLE001 - a crash is not a clear refusal
            raise AssertionError(f"{name}.{what}(labels=...): raised {type(exc).__name__}: {exc}") from None
        raise AssertionError(f"{name} is unconditional, yet {what}(labels=...) accepted labels")


def _expect_image_error(fn, x, what: str) -> None:
    try:
        fn(x)
    except ImageError:
        return
    except Exception as exc:  # a crash deep inside the model is not a clear error
        raise AssertionError(f"{what}: raised {type(exc).__name__}: {exc} instead of zoo.ImageError") from None
    raise AssertionError(f"{what}: accepted without error")


def check_model(arch: str | Model, steps: int = 30, lr: float = 3e-3, **config: Any) -> Model:
    """Run every contract check on a fresh ``arch`` model built with ``config``; return the model.

    For every model: samples (dtype, shape, range, at temperatures 1 and 0.5, seeded reproducibility), labels
    refused by an unconditional model (:func:`check_refuses_labels`), ``log_prob`` and its errors, the loss
    falling, a save/load round trip and, for tiny images, normalisation by enumeration: an exact likelihood
    sums to 1 (:func:`check_normalised`), a bound's exp to at most 1 (:func:`check_bound_mass`; a model says
    which it has through ``nll_estimator``). For autoregressive models also the causality and completion
    checks, and for a model with a fast sampler :func:`check_fast_sampler` (exactness).
    """

    torch.manual_seed(0)
    model = zoo.create(arch, **config) if isinstance(arch, str) else arch
    cfg = model.config
    name = model.architecture or type(model).__name__
    assert isinstance(model, Model), f"{name}: not a zoo.Model"
    x = random_images(model, 8)

    # sampling: dtype, shape, range, reproducible with a seeded generator
    model.eval()
    s1 = model.sample(3, generator=torch.Generator().manual_seed(1))
    s2 = model.sample(3, generator=torch.Generator().manual_seed(1))
    assert s1.dtype == torch.long, f"{name}.sample: dtype {s1.dtype}, expected torch.int64"
    assert tuple(s1.shape) == (3, *cfg.shape), f"{name}.sample: shape {tuple(s1.shape)}"
    assert int(s1.min()) >= 0 and int(s1.max()) < cfg.levels, f"{name}.sample: values outside 0..{cfg.levels - 1}"
    assert torch.equal(s1, s2), f"{name}.sample: same generator seed gave different samples"
    cold = model.sample(3, generator=torch.Generator().manual_seed(1), temperature=0.5)
    assert cold.dtype == torch.long and tuple(cold.shape) == (3, *cfg.shape), f"{name}.sample(temperature=0.5)"
    assert int(cold.min()) >= 0 and int(cold.max()) < cfg.levels, f"{name}.sample(temperature=0.5): out of range"
    if not model.conditional:
        check_refuses_labels(model)

    # log_prob: per image, finite, a log-probability of discrete data (<= 0)
    torch.manual_seed(0)
    lp = model.log_prob(x)
    assert tuple(lp.shape) == (8,), f"{name}.log_prob: shape {tuple(lp.shape)}, expected (8,)"
    assert torch.isfinite(lp).all(), f"{name}.log_prob: not finite"
    assert (lp <= 1e-4).all(), f"{name}.log_prob: positive log-probability {lp.max().item()} of discrete data"

    # bad input: one clear ImageError each
    _expect_image_error(model.log_prob, x.float(), f"{name}.log_prob(float tensor)")
    _expect_image_error(model.log_prob, x[:, :, :-1], f"{name}.log_prob(wrong shape)")
    _expect_image_error(model.log_prob, x[0], f"{name}.log_prob(missing batch dim)")
    _expect_image_error(model.log_prob, x + cfg.levels, f"{name}.log_prob(values >= levels)")
    _expect_image_error(model.loss, x - cfg.levels, f"{name}.loss(negative values)")

    # loss decreases on a small batch
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    torch.manual_seed(0)
    before = model.loss(x).item()
    assert torch.isfinite(torch.tensor(before)), f"{name}.loss: not finite"
    for _ in range(steps):
        opt.zero_grad()
        model.loss(x).backward()
        opt.step()
    torch.manual_seed(0)
    after = model.loss(x).item()
    assert after < before, f"{name}.loss did not decrease in {steps} Adam steps: {before:.4f} -> {after:.4f}"

    # save / load round trip gives the same model
    model.eval()
    with tempfile.TemporaryDirectory() as tmp:
        zoo.save_pretrained(model, tmp)
        loaded = zoo.load(tmp)
    assert type(loaded) is type(model) and loaded.config == model.config, f"{name}: config changed on reload"
    torch.manual_seed(0)
    a = model.log_prob(x)
    torch.manual_seed(0)
    b = loaded.log_prob(x)
    assert torch.allclose(a, b, atol=1e-5), f"{name}: log_prob changed after save/load"

    # normalisation by enumeration (tiny images): an exact likelihood sums to 1, a bound's exp to at most 1
    if cfg.levels**cfg.dims <= 4096:
        check_normalised(model) if estimator_of(model) is None else check_bound_mass(model)

    if model.autoregressive:
        check_autoregressive(model)
        known = torch.zeros_like(x[:2], dtype=torch.bool)
        known[:, :, : cfg.height // 2] = True
        done = model.complete(x[:2], known, generator=torch.Generator().manual_seed(0))
        assert torch.equal(done[known], x[:2][known]), f"{name}.complete changed known pixels"
        if not model.conditional and model.incremental_sampler(1) is not None:
            check_fast_sampler(model)
    return model


def check_pretrained(name: str, tolerance: float | None = None, limit: int | None = None) -> Model:
    """Check a pretrained model: it loads offline, its recipe builds it, its card is there,
    and re-measuring its test split reproduces the NLL recorded in its config.json.

    A bundled model is checked from its package; a Hub model from the Hugging Face cache, with
    no network request (pinned sha256s are still checked). A Hub model that is not in the cache
    raises :class:`NotCached` (a ``unittest.SkipTest``, so pytest reports a skip with the reason),
    which says how to fetch it: a check that needs no network cannot judge weights it does not have.

    ``limit`` re-measures only the first ``limit`` test images and compares with the figure the
    model records for exactly those (``metrics["test[:limit]"]``, written by ``zoo eval --limit
    N --save``): a quick check for models whose whole test split takes minutes. ``tolerance``
    (nats) defaults to 0.1% of the NLL for exact likelihoods and 1% for Monte Carlo bounds
    (latent-variable models).
    """

    entry = get_registry().entry(name)
    folder = _pretrained_folder(entry)
    assert entry.recipe, f"{name}: the entry has no recipe"
    recipe = Recipe.parse(entry.recipe)
    base = _recipe_base(recipe, entry)
    trains = base.architecture if base is not None else recipe.architecture
    assert trains == entry.architecture, f"{name}: recipe does not train {entry.architecture}"
    assert recipe.dataset == entry.dataset, f"{name}: recipe trains on another dataset"
    options = recipe.dataset_options
    if base is not None and base.dataset == recipe.dataset:  # a fine-tune inherits its base's options
        options = {**{k: v for k, v in base.dataset_options.items() if k != "limit"}, **options}
    assert options == entry.dataset_options, f"{name}: recipe's data options {options} != {entry.dataset_options}"

    model = zoo.load_folder(folder)
    assert model.architecture == entry.architecture, f"{name}: folder holds {model.architecture}"
    assert model.pretrained_info["dataset"] == entry.dataset, f"{name}: config.json names another dataset"
    recorded_options = model.pretrained_info.get("dataset_options") or {}
    assert recorded_options == entry.dataset_options, f"{name}: config.json records data options {recorded_options}"
    test = load_dataset(entry.dataset, "test", **entry.dataset_options)
    assert (model.config.shape, model.config.levels) == (test.shape, test.levels), f"{name}: built for other data"

    model_part, train_part = split_settings(type(model.config), recipe.settings)
    TrainConfig(**train_part)
    if base is not None:  # a fine-tune keeps its base's config: the recipe may set training fields only
        assert not model_part, f"{name}: the recipe fine-tunes {base.name} and cannot set {sorted(model_part)}"
        based = zoo.model_info(base.name).get("config")
        assert based is None or type(model.config)(**based) == model.config, f"{name}: not built like {base.name}"
    else:
        rebuilt = type(model.config)(
            **{
                **model_part,
                "channels": test.shape[0],
                "height": test.shape[1],
                "width": test.shape[2],
                "levels": test.levels,
            }
        )
        assert rebuilt == model.config, f"{name}: the recipe builds {rebuilt}, the folder holds {model.config}"

    metrics = model.pretrained_info["metrics"]
    full = metrics.get("test")
    assert full, f"{name}: no test metrics in config.json (run `zoo eval DIR --save`)"
    assert full["n_images"] == len(test), f"{name}: recorded on {full['n_images']} images, test has {len(test)}"
    key = "test" if limit is None else f"test[:{limit}]"
    recorded = metrics.get(key)
    assert recorded, f"{name}: no {key} metrics in config.json (run `zoo eval DIR --limit {limit} --save`)"
    assert recorded["n_images"] == min(len(test), limit or len(test)), f"{name}: {key} has {recorded['n_images']}"
    assert abs(recorded["bits_per_dim"] - bits_per_dim(recorded["nll_nats"], model.config.dims)) < 1e-6
    torch.manual_seed(0)
    measured = evaluate(model, entry.dataset, split="test", limit=limit, **entry.dataset_options).nll_nats
    tolerance = tolerance or recorded["nll_nats"] * (1e-3 if estimator_of(model) is None else 1e-2)
    assert abs(measured - recorded["nll_nats"]) <= tolerance, (
        f"{name}: {key} NLL measured {measured:.4f} nats, recorded {recorded['nll_nats']:.4f}"
    )

    card = ModelFolder(folder).card
    assert card.is_file(), f"{name}: the model card README.md is missing"
    # zoo.load fetches config, weights and card from the Hub; the samples figure only ships bundled.
    assert not entry.bundled or ModelFolder(folder).samples.is_file(), f"{name}: samples.png missing"
    assert entry.recipe.partition(CHAIN)[0] in card.read_text(), f"{name}: the card lacks the recipe"
    images = model.sample(2, generator=torch.Generator().manual_seed(0))
    assert tuple(images.shape) == (2, *test.shape), f"{name}: samples of shape {tuple(images.shape)}"
    return model


class NotCached(unittest.SkipTest):
    """A Hub pretrained model whose files are not in the local Hugging Face cache."""


def _recipe_base(recipe: Recipe, entry):
    """The pretrained entry a fine-tune's recipe starts from (named, or by its Hub repo); None for a recipe that
    trains an architecture. A recipe that starts from anything else (a local folder) cannot be replayed."""
    reg = get_registry()
    start = recipe.architecture
    if start in reg.models:
        return None
    base = reg.pretrained.get(start.removeprefix("hf://").removeprefix("hf-hub:"))
    if base is None:
        base = next((p for p in reg.pretrained.values() if p.entry.repo_id and p.entry.repo_id == start), None)
    assert base is not None, (
        f"{entry.name}: the recipe trains {start!r}, neither an architecture nor a pretrained name or Hub repo "
        "of one (a fine-tune's recipe must name its base so that anyone can replay it)"
    )
    assert base.entry.name != entry.name, f"{entry.name}: the recipe fine-tunes the model itself"
    return base.entry


def _pretrained_folder(entry) -> Path:
    """The folder to check: the bundled one, or the cached snapshot of a Hub entry (never a download)."""
    from huggingface_hub import constants, try_to_load_from_cache

    name = entry.name
    assert entry.available, f"{name}: weights are not published yet ({entry.location})"
    if not entry.bundled:
        files = (CONFIG_FILE, WEIGHTS_FILE)
        cached = [try_to_load_from_cache(entry.repo_id, f, revision=entry.revision) for f in files]
        if not all(isinstance(path, str) for path in cached):
            raise NotCached(
                f"{name} is on the Hub ({entry.repo_id}@{entry.revision}) and not in the Hugging Face cache "
                f"({constants.HF_HUB_CACHE}); fetch it once with network access: "
                f"python -c \"import zoo; zoo.load('{name}')\""
            )
    try:
        return resolve_entry(entry, local_files_only=True)
    except HubError as exc:  # a cached file that fails its pinned sha256, or a broken bundled folder
        raise AssertionError(f"{name}: {exc}") from None
