"""Model cards: one generator for the bundled models (``<package>/pretrained/``) and for every model pushed to the Hub.

A card is ``README.md`` in the model folder, built with huggingface_hub's ``ModelCard``: YAML
metadata the Hub indexes (library, tags, datasets, licence, ``model-index`` with the measured
bits/dim and NLL) and a body a person reads (what the model is, how to reproduce it, the
metrics, a seeded sample grid and a usage snippet).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .bounds import format_nll, stored_estimator
from .data import load_dataset
from .errors import WeightsError, ZooError
from .figures import COMPLETIONS_FILE, CURVES_FILE, completion_figure, write_history
from .registry import get_registry
from .sampling import save_grid
from .weights import (
    CARD_FILE,
    WEIGHTS_FILE,
    atomic_write_bytes,
    file_sha256,
    load_folder,
    read_config,
)

__all__ = ["SAMPLES_FILE", "write_model_card", "card_data", "read_card"]

SAMPLES_FILE = "samples.png"
TASK = "unconditional-image-generation"


def card_data(folder, name: str | None = None) -> ModelCardData:
    """The YAML metadata of the card for the saved model in ``folder`` (read from config.json)."""
    meta = read_config(folder)
    name = name or Path(folder).resolve().name
    arch = meta["architecture"]
    dataset = meta.get("dataset")
    results = []
    for split, m in _metrics(meta).items():
        if "[" in split:  # a part of a split (test[:500]) is for the suite's quick check, not for the Hub's index
            continue
        bound = _estimator_in(meta, m)
        upper = f" upper bound ({bound})" if bound else ""
        for metric_type, metric_name, key in (
            ("bits_per_dim", f"bits/dim{upper}", "bits_per_dim"),
            ("nll", f"NLL{upper} (nats/image)", "nll_nats"),
        ):
            if m.get(key) is None:
                continue
            results.append(
                EvalResult(
                    task_type=TASK,
                    task_name="Density estimation",
                    dataset_type=m.get("dataset") or dataset or "unknown",
                    dataset_name=m.get("dataset") or dataset or "unknown",
                    dataset_split=m.get("split") or split,
                    metric_type=metric_type,
                    metric_name=metric_name,
                    metric_value=round(float(m[key]), 4),
                )
            )
    return ModelCardData(
        library_name="zoo",
        license="mit",
        tags=["zoo", arch, "generative", "image-generation", "likelihood"],
        datasets=[dataset] if dataset else None,
        pipeline_tag=TASK,
        model_name=name,  # huggingface_hub writes model-index only when model_name is set
        weights_sha256=file_sha256(Path(folder) / WEIGHTS_FILE),  # the weights this card describes (zoo push checks)
        eval_results=results or None,
    )


def write_model_card(
    folder,
    *,
    recipe: str | None = None,
    description: str | None = None,
    name: str | None = None,
    samples: bool = True,
    seed: int = 0,
    n_samples: int = 16,
    completions: bool = True,
    notes: str | None = None,
    hardware: str | None = None,
) -> Path:
    """Write ``README.md`` (and the figures it shows) into the model folder; returns the card path.

    ``recipe`` is the exact command that reproduced the weights; it defaults to the ``recipe``
    key of config.json. The sample grid (``samples``) and, for autoregressive models whose data
    set can be loaded, the completion figure (``completions``) are drawn with seeded generators,
    so they are reproducible. The training curve is drawn from ``train_result.json`` when the
    folder holds one; training time and ``hardware`` come from there too unless given.
    ``notes`` is a markdown paragraph placed under the results (targets met or missed, caveats).
    """

    folder = Path(folder)
    meta = read_config(folder)
    name = name or folder.resolve().name
    recipe = recipe or meta.get("recipe")
    model = load_folder(folder)
    if samples:
        with torch.no_grad():
            images = model.sample(n_samples, generator=torch.Generator().manual_seed(seed))
        save_grid(images, model.config.levels, folder / SAMPLES_FILE)
    run = _train_result(folder)
    if run.get("history") and not (folder / CURVES_FILE).is_file():
        write_history(folder, run["history"])
    if completions and model.autoregressive and meta.get("dataset"):
        _completions(model, meta, folder / COMPLETIONS_FILE, seed)
    if hardware:
        run["hardware"] = hardware
    has_grid = (folder / SAMPLES_FILE).is_file()
    data = card_data(folder, name)
    body = _body(
        name,
        meta,
        model,
        recipe,
        description,
        has_grid,
        seed if samples else None,
        run,
        notes,
        (folder / CURVES_FILE).is_file(),
        (folder / COMPLETIONS_FILE).is_file(),
    )
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")
    path = folder / CARD_FILE
    atomic_write_bytes(path, str(card).encode("utf-8"))
    return path


def _train_result(folder: Path) -> dict[str, Any]:
    """``train_result.json`` of a training run folder, or ``{}``."""

    path = folder / "train_result.json"
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}


def _completions(model, meta: dict[str, Any], path: Path, seed: int) -> None:
    """The completion figure on the model's own test data; skipped when that data is not on this machine
    or does not fit the model."""

    try:
        data = load_dataset(meta["dataset"], "test", **(meta.get("dataset_options") or {}))
        completion_figure(model, data, path, seed=seed)
    except ZooError:
        return


def read_card(folder) -> ModelCard:
    """The model card of a folder, parsed (metadata in ``.data``, markdown in ``.text``)."""

    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise WeightsError(f"{path}: no model card (write one with `zoo card {folder}`)")
    return ModelCard.load(path)


# -- the markdown body ---------------------------------------------------------
def _metrics(meta: dict[str, Any]) -> dict[str, dict[str, Any]]:
    metrics = meta.get("metrics") or {}
    return {k: v for k, v in metrics.items() if isinstance(v, dict)}


def _estimator_in(meta: dict[str, Any], metrics: dict[str, Any]) -> str | None:
    """The bound estimator of a result in config.json (None: exact), from the result or the architecture."""
    spec = get_registry().models.get(meta["architecture"])
    if spec is None:
        return stored_estimator(metrics)
    try:
        config = spec.cls.config_class(**meta["config"])
    except ValueError:
        config = None
    return stored_estimator(metrics, spec.cls, config)


def _fmt(value: Any, digits: int = 4) -> str:
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return "" if value is None else str(value)


def _dataset_note(dataset: str | None) -> str:
    if not dataset:
        return "the training data set is not recorded in config.json"

    spec = get_registry().datasets.get(dataset)
    desc = f" ({spec.description})" if spec is not None and spec.description else ""
    return f"trained and evaluated on `{dataset}`{desc} only"


def _body(name, meta, model, recipe, description, has_grid, seed, run, notes, has_curves, has_completions) -> str:
    cfg = model.config
    arch = meta["architecture"]
    n_params = sum(p.numel() for p in model.parameters())
    kind = (
        "an autoregressive model: `log_prob` is the exact log-likelihood"
        if model.autoregressive
        else "a latent-variable model: `log_prob` is a lower bound on the log-likelihood"
    )
    about = description or (type(model).__doc__ or "").strip().split("\n")[0]
    lines = [
        f"# {name}",
        "",
        f"`{name}` is a `{arch}` generative image model for the `zoo` model zoo"
        f"{' (plugin `' + meta['plugin'] + '`)' if meta.get('plugin') else ''}. {about}".rstrip(),
        "",
        f"It models {cfg.channels}x{cfg.height}x{cfg.width} images with {cfg.levels} intensity levels "
        f"per channel and has {n_params:,} parameters; it is {kind}.",
        "",
        "| config | value |",
        "|---|---|",
        *(f"| `{k}` | {_fmt(v)} |" for k, v in meta["config"].items()),
        "",
        "## Training",
        "",
    ]
    options = meta.get("dataset_options") or {}
    if options:
        lines += [f"Dataset options: {', '.join(f'`{k}={_fmt(v)}`' for k, v in options.items())}.", ""]
    if recipe:
        lines += ["The exact command that produced these weights:", "", "```bash", recipe, "```", ""]
    else:
        lines += ["The training command was not recorded.", ""]
    if run.get("seconds") is not None:
        best = (
            f"; the weights are those of epoch {run['best_epoch']}, the best on validation"
            if run.get("best_epoch")
            else ""
        )
        epochs = run.get("epochs")
        lines += [
            f"Trained for {epochs} epoch{'' if epochs == 1 else 's'} ({run.get('steps')} steps) in "
            f"{run['seconds']:.0f} s "
            f"on {run.get('hardware') or 'hardware not recorded'}{best}.",
            "",
        ]
    elif run.get("hardware"):
        lines += [f"Trained on {run['hardware']}.", ""]
    if has_curves:
        lines += [f"![training curve]({CURVES_FILE})", "", "Train and validation bits/dim per epoch.", ""]
    lines += ["## Results", ""]
    metrics = _metrics(meta)
    if metrics:
        lines += [
            "Negative log-likelihood per image (nats) and bits per dimension "
            f"(nats / ({cfg.dims} x ln 2)), measured with `zoo eval`.",
            "",
            "| split | images | NLL (nats) | bits/dim | extras |",
            "|---|---|---|---|---|",
        ]
        for split, m in metrics.items():
            extra = ", ".join(f"{k}={_fmt(v)}" for k, v in (m.get("extra") or {}).items())
            bound = stored_estimator(m, type(model), model.config)
            nll = format_nll(m.get("nll_nats"), bound, 3) if m.get("nll_nats") is not None else ""
            lines.append(
                f"| {split} | {_fmt(m.get('n_images'))} | {nll} "
                f"| {'<= ' if bound else ''}{_fmt(m.get('bits_per_dim'))} | {extra} |"
            )
        lines.append("")
    else:
        lines += ["No metrics were recorded in config.json (run `zoo eval DIR --save`).", ""]
    if notes:
        lines += [notes.strip(), ""]
    if has_grid:
        seeded = f", drawn with `torch.Generator().manual_seed({seed})`" if seed is not None else ""
        lines += ["## Samples", "", f"![samples]({SAMPLES_FILE})", "", f"Samples at temperature 1{seeded}.", ""]
    if has_completions:
        lines += [
            "## Completions",
            "",
            f"![completions]({COMPLETIONS_FILE})",
            "",
            "Test images with the bottom half hidden (first row, hidden part tinted blue), three completions "
            "sampled by the model, and the original (last row). Completion in raster order conditions on "
            "every known pixel above the hidden half, so it is exact here.",
            "",
        ]
    lines += [
        "## Usage",
        "",
        "```python",
        "import zoo",
        "",  # as ruff formats it: the cards are checked by `ruff format --check` with the rest of the tree
        f'm = zoo.load("{name}")',
        "x = m.sample(16)  # (16, C, H, W) integers in 0..levels-1",
        "```",
        "",
        "## Limitations",
        "",
        f"- The model was {_dataset_note(meta.get('dataset'))}; its likelihoods and samples say nothing "
        "about other data or other preprocessing (binarization, number of levels, image size).",
        f"- Inputs must be integer tensors of shape (B, {cfg.channels}, {cfg.height}, {cfg.width}) with "
        f"values in 0..{cfg.levels - 1}; anything else is rejected.",
        "- A research model for density estimation: it is small, not tuned for sample quality, and the "
        "numbers are comparable only with results on the same data variant.",
        "",
    ]
    return "\n".join(lines)
