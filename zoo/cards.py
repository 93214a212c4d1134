"""Model cards: one generator for the bundled models (``<package>/pretrained/``) and for every model pushed to the Hub.

A card is ``README.md`` in the model folder, built with huggingface_hub's ``ModelCard``: YAML
metadata the Hub indexes (library, tags, datasets, licence, ``model-index`` with the measured
bits/dim and NLL) and a body a person reads (what the model is, how to reproduce it, the
metrics, a seeded sample grid and a usage snippet).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from .bounds import estimator_of, format_nll, stored_estimator
from .data import load_dataset
from .errors import WeightsError, ZooError
from .figures import completion_figure, sample_figure, write_history
from .folders import COMPLETIONS_FILE, CURVES_FILE, RECIPE_INTRO, SAMPLES_FILE, RunFolder
from .registry import get_registry
from .text import md_cell, md_code, md_fence, md_text
from .weights import (
    CARD_FILE,
    WEIGHTS_FILE,
    atomic_write_bytes,
    file_sha256,
    load_folder,
    read_config,
)

__all__ = ["SAMPLES_FILE", "DEFAULT_LICENSE", "write_model_card", "card_data", "read_card", "retarget_card"]

TASK = "unconditional-image-generation"
DEFAULT_LICENSE = "other"  # the Hub's id for "see the card": what a card says when no licence is known
HUB_SPLITS = {"val": "validation"}  # zoo's split names where the Hub's datasets use other ones


def card_license(meta: dict[str, Any], license: str | None = None) -> str:
    """The licence a card declares: ``license`` if given, else config.json's, else the training data's."""
    spec = get_registry().datasets.get(meta.get("dataset") or "")
    return license or meta.get("license") or (spec.license if spec is not None else None) or DEFAULT_LICENSE


def _variant(options: dict[str, Any]) -> str | None:
    """The dataset variant a measurement used, for model-index's ``dataset.config``: ``dynamic`` for
    ``dynamic=true``, ``key=value`` for other options; None for the dataset's default form."""
    words = [k if v is True else f"{k}={v}" for k, v in sorted(options.items()) if k not in ("root", "limit")]
    return ",".join(words) or None


def _papers(arch: str) -> tuple[str, ...]:
    spec = get_registry().models.get(arch)
    return tuple(getattr(spec.cls, "papers", ())) if spec is not None else ()


def _hub_repo_id(name: Any) -> str | None:
    """``name`` when it is a Hub repo id (``org/name``), the only form the card's ``base_model`` may take."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    if not isinstance(name, str) or name.count("/") != 1 or Path(name).exists():
        return None
    try:
        validate_repo_id(name)
    except HFValidationError:
        return None
    return name


def _hub_dataset(name: str | None) -> str | None:
    """The Hub's id of a zoo dataset (``ylecun/mnist`` for ``binarized-mnist``), which the Hub links; else its name."""
    spec = get_registry().datasets.get(name) if name else None
    return spec.hub_dataset if spec is not None and spec.hub_dataset else name


def card_data(folder, name: str | None = None, license: str | None = None) -> ModelCardData:
    """The YAML metadata of the card for the saved model in ``folder`` (read from config.json).

    ``license`` defaults to the one the training data set declares (MNIST: ``cc-by-sa-3.0``); a
    fine-tune's ``base_model`` is listed when it is a Hub repo; the architecture's papers become
    ``arxiv:`` tags; each result names the dataset variant and the split as the Hub spells them.
    """
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
        options = m.get("options") or meta.get("dataset_options") or {}
        for metric_type, metric_name, key in (
            ("bits_per_dim", f"bits/dim{upper}", "bits_per_dim"),
            ("nll", f"NLL{upper} (nats/image)", "nll_nats"),
        ):
            if _number(m.get(key)) is None:  # a missing or hostile value ("abc") is left out of the index
                continue
            results.append(
                EvalResult(
                    task_type=TASK,
                    task_name="Density estimation",
                    dataset_type=_hub_dataset(m.get("dataset") or dataset) or "unknown",
                    dataset_name=m.get("dataset") or dataset or "unknown",
                    dataset_config=_variant(options),
                    dataset_split=HUB_SPLITS.get(m.get("split") or split, m.get("split") or split),
                    dataset_args={k: v for k, v in options.items() if k not in ("root", "limit")} or None,
                    metric_type=metric_type,
                    metric_name=metric_name,
                    metric_value=round(float(m[key]), 4),
                )
            )
    return ModelCardData(
        library_name="zoo",
        license=card_license(meta, license),
        base_model=_hub_repo_id(meta.get("base_model")),
        tags=["zoo", arch, "generative", "image-generation", "likelihood", *(f"arxiv:{p}" for p in _papers(arch))],
        datasets=[_hub_dataset(dataset)] if dataset else None,
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
    license: str | None = None,
) -> Path:
    """Write ``README.md`` (and the figures it shows) into the model folder; returns the card path.

    ``recipe`` is the exact command that reproduced the weights; it defaults to the ``recipe``
    key of config.json. The sample grid (``samples``) and, for models with a ``complete`` method
    (every autoregressive model; a diffusion model) whose data set can be loaded, the completion figure
    (``completions``, captioned with how the model completes) are drawn with seeded generators,
    so they are reproducible, as are the model's own figures (:meth:`zoo.Model.card_figures`, drawn with the
    sample grid). The training curve is drawn from ``train_result.json`` when the
    folder holds one; training time and ``hardware`` come from there too unless given.
    ``notes`` is a markdown paragraph placed under the results (targets met or missed, caveats).
    Without a ``recipe``, the command that zoo recorded at train time is shown (config.json's or
    train_config.json's ``command``), else the one the card already shows (``zoo card`` re-renders it).
    ``license`` overrides the training data's licence.
    """

    run = RunFolder(folder)
    run.refuse_links(run.RESULT_FILES)  # the card reads and writes only the folder's own files
    folder = run.path
    meta = read_config(folder)
    name = name or folder.resolve().name
    run_config = run.read_json(run.spec_file)
    recipe = recipe or run.recipe(meta)  # what zoo recorded, else what the card already shows
    meta.setdefault("base_model", run_config.get("base_model"))
    meta["license"] = card_license(meta, license)
    model = load_folder(folder)
    if samples:
        labels = torch.arange(n_samples) % model.num_classes if model.conditional else None
        with torch.no_grad():
            extra = {} if labels is None else {"labels": labels}
            images = model.sample(n_samples, generator=torch.Generator().manual_seed(seed), **extra)
        sample_figure(images, model.config.levels, run.samples, name=name, seed=seed, labels=labels)
    result = run.read_json(run.result_file)
    history = result.get("history")
    if not (isinstance(history, list) and all(isinstance(r, dict) for r in history)):
        result.pop("history", None)  # a damaged record only adds to a card: its curve is left out
    if result.get("history") and not run.curves.is_file():
        write_history(folder, result["history"], model=model)
    if completions and callable(getattr(model, "complete", None)) and meta.get("dataset"):
        _completions(model, {**meta, "card_name": name}, run.completions, seed)
    if hardware:
        result["hardware"] = hardware
    own_figures = model.card_figures(folder, name, seed) if samples else []
    has_grid = run.samples.is_file()
    data = card_data(folder, name, license)
    body = _body(
        name,
        meta,
        model,
        recipe,
        description,
        has_grid,
        seed if samples else None,
        result,
        notes,
        run.curves.is_file(),
        run.completions.is_file(),
        own_figures,
    )
    card = ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}")
    path = run.card
    atomic_write_bytes(path, str(card).encode("utf-8"))
    return path


def _completions(model, meta: dict[str, Any], path: Path, seed: int) -> None:
    """The completion figure on the model's own test data; skipped when that data is not on this machine
    or does not fit the model."""

    try:
        data = load_dataset(meta["dataset"], "test", **(meta.get("dataset_options") or {}))
        completion_figure(model, data, path, seed=seed, name=meta.get("card_name"))
    except ZooError:
        return


def read_card(folder) -> ModelCard:
    """The model card of a folder, parsed (metadata in ``.data``, markdown in ``.text``)."""

    path = Path(folder) / CARD_FILE
    if not path.is_file():
        raise WeightsError(f"{path}: no model card (write one with `zoo card {folder}`)")
    return _load_card(path)


def _load_card(path: Path) -> ModelCard:
    """huggingface_hub's parse of a card, its YAML faults as one line (a card may come from anyone)."""
    import yaml

    try:
        return ModelCard.load(path)
    except (ValueError, yaml.YAMLError) as exc:
        reason = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else type(exc).__name__
        raise WeightsError(
            f"{path}: its YAML front matter cannot be read as a mapping ({reason}); write the card again with "
            "`zoo card`"
        ) from None


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
    """A value of config.json as the plain text of a card (escaped: see :mod:`zoo.text`)."""
    if isinstance(value, float):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return "" if value is None else md_cell(value)


def _number(value: Any) -> float | None:
    """``value`` when it is a finite number (not a bool): a field of a downloaded file may be anything."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return value if ok else None


def _dataset_note(dataset: str | None) -> str:
    if not dataset:
        return "the training data set is not recorded in config.json"

    spec = get_registry().datasets.get(dataset)
    desc = f" ({spec.description})" if spec is not None and spec.description else ""
    return f"trained and evaluated on {md_code(dataset)}{md_text(desc)} only"


def install_command(meta: dict[str, Any]) -> str:
    """The ``pip install`` line that provides the model's architecture (its plugin pulls in the core)."""
    from ._version import DISTRIBUTION, install_name

    dist = install_name(meta.get("plugin_distribution") or "", "-") if meta.get("plugin_distribution") else None
    if not dist:
        record = get_registry().plugins.get(meta.get("plugin") or "")
        dist = record.distribution if record is not None and record.source != "run time" else None
    return f"pip install {dist or DISTRIBUTION}"


def usage_lines(load_name: str, meta: dict[str, Any], revision: str | None = None) -> list[str]:
    """The card's "Usage" section: the install line and the load of ``load_name`` (a Hub repo once pushed, at
    the ``revision`` it was pushed to when that is not main)."""
    at = f', revision="{revision}"' if revision not in (None, "main") else ""
    return [
        "## Usage",
        "",
        "```bash",
        install_command(meta),
        "```",
        "",
        "```python",
        "import zoo",
        "",  # as ruff formats it: the cards are checked by `ruff format --check` with the rest of the tree
        f'm = zoo.load("{load_name}"{at})',
        "x = m.sample(16)  # (16, C, H, W) integers in 0..levels-1",
        "```",
        "",
    ]


def _license_note(meta: dict[str, Any]) -> str:
    license = meta.get("license") or DEFAULT_LICENSE
    spec = get_registry().datasets.get(meta.get("dataset") or "")
    if license == DEFAULT_LICENSE and (spec is None or spec.license is None):
        return (
            "No licence is declared for these weights or their training data (`license: other`); "
            "check the data's terms before reuse, or publish with `--license`."
        )
    source = " (the licence of the training data)" if spec is not None and spec.license == license else ""
    return f"The weights are published under {md_code(license)}{source}."


def retarget_card(folder, repo_id: str, license: str | None = None, revision: str | None = None) -> None:
    """Point the card in ``folder`` at the Hub repo it is pushed to: it is named after ``repo_id`` (title and
    model-index), its usage loads ``repo_id`` at ``revision``, it shows only the figures the folder holds,
    and ``license`` (when given) replaces the declared licence. Only the staged upload is edited."""
    path = Path(folder) / CARD_FILE
    card = _load_card(path)
    meta = read_config(folder)
    if license:
        card.data.license = license
    text = card.text
    old_name = card.data.model_name
    if old_name and old_name != repo_id:  # the folder's name (`# ft2`) is not what users load
        card.data.model_name = repo_id
        text = text.replace(f"# {old_name}\n", f"# {repo_id}\n", 1).replace(f"`{old_name}`", f"`{repo_id}`")
    start = text.find("## Usage\n")
    if start >= 0:
        end = text.find("\n## ", start + 1)
        end = len(text) if end < 0 else end + 1
        text = text[:start] + "\n".join(usage_lines(repo_id, meta, revision)) + "\n" + text[end:]
    text = _only_figures_of(Path(folder), text)
    atomic_write_bytes(path, str(ModelCard(f"---\n{card.data.to_yaml()}\n---\n{text}")).encode("utf-8"))


def _completion_method(model) -> str:
    """How the completions were drawn: exact raster-order conditioning, or the first line of the model's own
    ``complete`` docstring (a diffusion model's replacement method, say), which says what it approximates."""
    if model.autoregressive:
        return "Completion in raster order conditions on every known pixel above the hidden half, so it is exact here."
    doc = (type(model).complete.__doc__ or "").strip().split("\n")[0].replace("``", "`")
    return f"Completion by the model's own method: {doc[0].lower() + doc[1:]}" if doc else ""


def _only_figures_of(folder: Path, text: str) -> str:
    """``text`` without the figures ``folder`` lacks: the Samples or Completions section of a missing grid,
    the training-curve image and its paragraph when ``curves.png`` is gone (a card must not link a 404)."""
    for file, heading in ((SAMPLES_FILE, "## Samples\n"), (COMPLETIONS_FILE, "## Completions\n")):
        start = text.find(heading)
        if start >= 0 and not (folder / file).is_file():
            end = text.find("\n## ", start + 1)
            text = text[:start] + ("" if end < 0 else text[end + 1 :])
    image = f"]({CURVES_FILE})"
    at = text.find(image)
    if at >= 0 and not (folder / CURVES_FILE).is_file():
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n\n", text.find("\n\n", at) + 2)  # the image's line and the paragraph under it
        text = text[:start] + ("" if end < 0 else text[end + 2 :])
    return text


def _base_comparison(meta: dict[str, Any], metrics: dict[str, Any], model) -> list[str]:
    """A fine-tune's results beside its base's, measured on the same images before training (``base_metrics``)."""
    base = meta.get("base_metrics")
    if not isinstance(base, dict) or not meta.get("base_model"):
        return []
    rows = []
    for split, m in metrics.items():
        b = base.get(split)
        if not isinstance(b, dict) or not isinstance(m, dict):
            continue
        if not all(isinstance(x.get("nll_nats"), (int, float)) for x in (b, m)):
            continue
        estimator = stored_estimator(m, type(model), model.config)
        change = m["nll_nats"] - b["nll_nats"]
        rows.append(
            f"| {split} | {_fmt(m.get('n_images'))} | {format_nll(b['nll_nats'], estimator, 3)} "
            f"| {format_nll(m['nll_nats'], estimator, 3)} | {change:+.3f} |"
        )
    if not rows:
        return []
    return [
        f"Against the base model `{meta['base_model']}`, measured on the same images before fine-tuning:",
        "",
        "| split | images | base NLL (nats) | this model NLL (nats) | change |",
        "|---|---|---|---|---|",
        *rows,
        "",
    ]


def _body(
    name, meta, model, recipe, description, has_grid, seed, run, notes, has_curves, has_completions, own_figures=()
) -> str:
    cfg = model.config
    arch = meta["architecture"]
    n_params = sum(p.numel() for p in model.parameters())
    estimator = estimator_of(model)
    if estimator is not None:
        kind = f"a model whose `log_prob` is a lower bound on the log-likelihood ({estimator})"
    elif model.autoregressive:
        kind = "an autoregressive model: `log_prob` is the exact log-likelihood"
    else:
        kind = "a model whose `log_prob` is the exact log-likelihood"
    about = description or (type(model).__doc__ or "").strip().split("\n")[0]
    plugin = f" (plugin {md_code(meta['plugin'])})" if meta.get("plugin") else ""
    lines = [
        f"# {md_text(name)}",
        "",
        f"{md_code(name)} is a {md_code(arch)} generative image model for the `zoo` model zoo{plugin}. "
        f"{md_text(about)}".rstrip(),
        "",
        f"It models {cfg.channels}x{cfg.height}x{cfg.width} images with {cfg.levels} intensity levels "
        f"per channel and has {n_params:,} parameters; it is {kind}.",
        "",
        "| config | value |",
        "|---|---|",
        *(f"| {md_code(k, cell=True)} | {_fmt(v)} |" for k, v in meta["config"].items()),
        "",
        "## Training",
        "",
    ]
    options = meta.get("dataset_options") or {}
    if options and isinstance(options, dict):
        shown = ", ".join(md_code(f"{k}={v}") for k, v in options.items())
        lines += [f"Dataset options: {shown}.", ""]
    if meta.get("base_model"):
        lines += [f"Fine-tuned from {md_code(meta['base_model'])}.", ""]
    if recipe:
        body, fence = md_fence(recipe)  # a recipe is shown as it is, inside its block: nothing breaks out
        lines += [RECIPE_INTRO, "", f"{fence}bash", body, fence, ""]
    else:
        lines += ["The training command was not recorded.", ""]
    hardware = md_text(run["hardware"]) if run.get("hardware") else None
    seconds, epochs, steps, best_epoch = (_number(run.get(k)) for k in ("seconds", "epochs", "steps", "best_epoch"))
    if seconds is not None:
        best = f"; the weights are those of epoch {best_epoch}, the best on validation" if best_epoch else ""
        lines += [
            f"Trained for {_fmt(epochs)} epoch{'' if epochs == 1 else 's'} ({_fmt(steps)} steps) in "
            f"{seconds:.0f} s "
            f"on {hardware or 'hardware not recorded'}{best}.",
            "",
        ]
    elif hardware:
        lines += [f"Trained on {hardware}.", ""]
    if has_curves:
        lines += [
            f"![training curve]({CURVES_FILE})",
            "",
            "Bits/dim per epoch: the mean training loss over each epoch's batches, and the validation "
            f"{'NLL' if estimator is None else 'bound'} at the end of each epoch (the legend names each estimator).",
            "",
        ]
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
            extras = m.get("extra") if isinstance(m.get("extra"), dict) else {}
            extra = ", ".join(f"{md_cell(k)}={_fmt(v)}" for k, v in extras.items())
            bound = stored_estimator(m, type(model), model.config)
            nats, bits = _number(m.get("nll_nats")), _number(m.get("bits_per_dim"))
            nll = format_nll(nats, bound, 3) if nats is not None else ""
            lines.append(
                f"| {md_cell(split)} | {_fmt(_number(m.get('n_images')))} | {md_cell(nll)} "
                f"| {'<= ' if bound and bits is not None else ''}{_fmt(bits)} | {extra} |"
            )
        lines.append("")
    else:
        lines += ["No metrics were recorded in config.json (run `zoo eval DIR --save`).", ""]
    lines += _base_comparison(meta, metrics, model)
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
            "Test images with the bottom half hidden (row `occluded`, hidden part tinted blue), three completions "
            f"sampled by the model, and the original (row `original`). {_completion_method(model)}",
            "",
        ]
    for file, heading, caption in own_figures:  # the model's own (Model.card_figures)
        lines += [f"## {heading}", "", f"![{heading.lower()}]({file})", "", caption, ""]
    papers = _papers(arch)
    if papers:
        links = ", ".join(f"[arXiv:{p}](https://arxiv.org/abs/{p})" for p in papers)
        lines += ["## Papers", "", f"The `{arch}` architecture follows {links}.", ""]
    lines += [*usage_lines(name, meta), "## License", "", _license_note(meta), ""]
    lines += [
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
