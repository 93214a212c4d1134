"""``zoo reproduce NAME``: a pretrained model's recipe run as one command, then measured against its card.

A card's figure is only worth what its command reproduces. :func:`reproduce` reads the recipe a
pretrained entry (or a model folder) records, runs each of its ``zoo train`` stages into ``out`` (``minutes``
replaces the training budget, ``resume`` continues a run that stopped, ``settings`` override single
``--set`` values, e.g. ``device=cpu`` for a recipe written for a GPU), evaluates the result on the
test split exactly as ``zoo eval`` does (seed 0, the recorded dataset options, the model's own bound
for a latent-variable model), and returns that figure beside the one the card reports. Commands the
recipe chains between or after its stages (``&& zoo eval OUT --save``) are that evaluation, so they are
not run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .api import evaluate, train
from .errors import ArgumentError, ConfigError
from .evaluation import EvalResult, record_metrics
from .folders import CHECKPOINT_DIR, ModelFolder
from .recipes import CHAIN, Recipe
from .registry import get_registry
from .weights import read_config

__all__ = ["Reproduction", "reproduce", "recipe_of", "stages", "card_figure"]

#: the training field a budget in minutes sets (zoo.training.TrainConfig.max_minutes)
BUDGET = "max_minutes"
#: the seed of the evaluation, as ``zoo eval`` uses it, so a Monte Carlo bound repeats
EVAL_SEED = 0


@dataclass(frozen=True)
class Reproduction:
    """What :func:`reproduce` ran and measured: the recipe as run, the new test figure and the card's."""

    name: str
    stages: tuple[Recipe, ...]  # the ``zoo train`` commands as run, in order
    out: Path
    result: EvalResult
    card_nll: float | None  # the card's figure on the same images (None: the card reports none)

    @property
    def command(self) -> str:
        """The stages as one shell command, joined as a recipe joins them."""
        return CHAIN.join(run.command() for run in self.stages)

    @property
    def difference(self) -> float | None:
        """New minus card, in nats per image (negative: the reproduction is better)."""
        return None if self.card_nll is None else self.result.nll_nats - self.card_nll

    def line(self) -> str:
        """One line comparing the figures, what ``zoo reproduce`` prints last."""
        upper = "<= " if self.result.bound else ""
        images = f"{self.result.split} ({self.result.n_images} images)"
        new = f"{upper}{self.result.nll_nats:.3f} nats"
        if self.card_nll is None:
            return f"reproduced {self.name}: {images} {new}; its card reports no figure on these images"
        diff = self.difference
        sign = "+" if diff >= 0 else "-"
        verdict = "better than" if diff < 0 else "worse than" if diff > 0 else "equal to"
        return (
            f"reproduced {self.name}: {images} {new}, card {upper}{self.card_nll:.3f} nats "
            f"({sign}{abs(diff):.3f}, {verdict} the card)"
        )


def recipe_of(name: str | Path) -> tuple[str, str, Path | None]:
    """The recipe text of a pretrained name (its entry's) or a model folder (the command it records), with
    the display name and the folder whose config.json holds the card's figures (None: not here)."""
    path = Path(name)
    if path.is_dir():
        text, folder, shown = ModelFolder(path).recipe(), path, path.name
    else:
        entry = get_registry().entry(str(name))
        text, folder, shown = entry.recipe, entry.folder if entry.bundled else None, entry.name
    if not text:
        raise ConfigError(f"{shown}: records no recipe to reproduce (no command in its card or config.json)")
    return shown, text, folder


def stages(text: str) -> list[Recipe]:
    """The ``zoo train`` commands of a recipe, in order: a model trained in stages (a first budget, then a
    resume that stretches it, or a fine-tune of the first stage's folder) records each ``&&``-joined;
    the ``zoo eval ... --save`` commands between them are what :func:`reproduce` does at the end."""
    runs = [Recipe.parse(part.strip()) for part in text.split(CHAIN.strip()) if part.split()[:2] == ["zoo", "train"]]
    if not runs:
        raise ConfigError(f"recipe {text[:60]!r}: no `zoo train` command")
    return runs


def _folder(path: str | None) -> str | None:
    """A stage's folder as one spelling (``./base``, ``base/`` and ``base`` are one folder)."""
    return None if path is None else os.path.normpath(path)


def _planned(runs: list[Recipe], out: Path, minutes: float | None, settings: dict[str, Any]) -> list[Recipe]:
    """The stages as :func:`reproduce` runs them: the last stage's folder is ``out``, an earlier stage's
    other folder ``out-stageN`` (and a later stage that fine-tunes from it names that folder); ``minutes``
    is the last stage's budget, an earlier stage's budget scaled in proportion (a resume's budget counts
    from the run's start), a stage without a budget capped by it."""
    last_out = _folder(runs[-1].out)
    folders: dict[str, str] = {}
    for k, run in enumerate(runs, 1):
        if run.out is not None and _folder(run.out) not in folders:
            folders[_folder(run.out)] = str(out) if _folder(run.out) == last_out else f"{out}-stage{k}"
    last_budget = runs[-1].settings.get(BUDGET)
    planned = []
    for run in runs:
        changes = dict(settings)
        if minutes is not None:
            budget = run.settings.get(BUDGET)
            scaled = isinstance(budget, (int, float)) and isinstance(last_budget, (int, float)) and last_budget > 0
            changes[BUDGET] = minutes * budget / last_budget if scaled else minutes
        arch = folders.get(_folder(run.architecture), run.architecture)
        target = folders.get(_folder(run.out), str(out)) if run.out is not None else str(out)
        planned.append(
            run.model_copy(
                update={"architecture": arch, "settings": {**run.settings, **changes}, "out": target, "then": None}
            )
        )
    return planned


def card_figure(folder: Path | None, split: str, limit: int | None) -> float | None:
    """The NLL a model folder's config.json records for ``split`` (``test[:500]`` with ``limit=500``)."""
    if folder is None:
        return None
    metrics = read_config(folder).get("metrics") or {}
    entry = metrics.get(f"{split}[:{limit}]" if limit else split)
    value = entry.get("nll_nats") if isinstance(entry, dict) else None
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def reproduce(
    name: str | Path,
    out: str | Path | None = None,
    minutes: float | None = None,
    resume: bool = False,
    settings: dict[str, Any] | None = None,
    limit: int | None = None,
    split: str = "test",
    final_eval: bool | None = None,
) -> Reproduction:
    """Run ``name``'s recipe into ``out`` (default: the recipe's own last ``--out``), evaluate, compare.

    Every ``zoo train`` stage of the recipe runs in order (see :func:`stages`). ``minutes`` sets the
    training budget (the cosine decay, where the recipe has one, spans it); ``resume`` continues each
    stage whose folder holds checkpoints (a finished stage then only re-measures); ``limit`` evaluates
    the first ``limit`` test images and compares with the card's figure on those images
    (``test[:500]``). ``final_eval=False`` skips each run's own complete-folder ending (its full test
    split and card), which the recipe keeps by default. Each folder is claimed as ``zoo train`` claims
    it: a folder that holds a run is refused unless ``resume`` continues it.
    """
    shown, text, folder = recipe_of(name)
    if minutes is not None and (isinstance(minutes, bool) or not minutes > 0):
        raise ArgumentError(f"--minutes must be a positive number of minutes, got {minutes!r}")
    runs = stages(text)
    target = Path(out) if out is not None else Path(runs[-1].out or shown)
    planned = []
    for run in _planned(runs, target, minutes, settings or {}):
        if resume and (Path(run.out) / CHECKPOINT_DIR).is_dir():
            run = run.model_copy(update={"resume": True})
        planned.append(run)
        train(
            run.architecture,
            run.dataset,
            run.out,
            settings=dict(run.settings),
            epochs=run.epochs,
            resume=run.resume,
            dataset_options=dict(run.dataset_options),
            command=run.command(),
            final_eval=run.final_eval if final_eval is None else final_eval,
        )
    options = dict(planned[-1].dataset_options)
    if limit is not None:
        options["limit"] = limit
    torch.manual_seed(EVAL_SEED)  # as zoo eval: a latent-variable bound is a Monte Carlo estimate
    result = evaluate(target, planned[-1].dataset, split=split, **options)
    record_metrics(target, result)
    return Reproduction(shown, tuple(planned), target, result, card_figure(folder, split, limit))
