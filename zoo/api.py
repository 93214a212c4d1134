"""The front door: every function that takes a *name* (of an architecture, a pretrained model, a
data set, a trainer, an evaluator) and resolves it through the registry.

The workers below (:mod:`zoo.training`, :mod:`zoo.evaluation`, :mod:`zoo.weights`, :mod:`zoo.hub`)
receive objects: a model, an :class:`~zoo.data.ImageSet`, a config. ``zoo/__init__.py`` only
re-exports what is here, so imports run one way: ``zoo`` -> ``zoo.api`` -> workers -> leaves.

Nothing here imports the Hub stack (:mod:`zoo.hub`, :mod:`zoo.publish`, huggingface_hub and its HTTP
client) at import time, so ``import zoo`` and a local load start fast: :func:`push_to_hub`, which takes
objects, is :mod:`zoo.publish`'s, handed out on first use by the module ``__getattr__`` below.
"""

from __future__ import annotations

import sys
import typing
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError

from ._version import __version__
from .arguments import count as check_count
from .building import check_model_size
from .data import data_dir, load_dataset, recorded_options
from .data import dataset_options as dataset_options_of
from .distributed import finish as finish_distributed
from .distributed import rank
from .errors import (
    ArgumentError,
    ConfigError,
    ZooError,
    unknown_name,
    validation_problems,
)
from .evaluation import EvalResult
from .folders import ModelFolder, RunFolder, RunSpec
from .interfaces import Model
from .loading import load_model
from .options import LIMIT
from .recipes import Recipe
from .registry import get_registry
from .sources import names_a_model
from .specs import PretrainedEntry
from .train_config import split_settings, validated
from .weights import read_config
from .weights import save_pretrained as save_folder

#: the names this module hands out from a module imported on first use (see ``__getattr__``)
LAZY = {"push_to_hub": "zoo.publish"}

__all__ = [
    "list_models",
    "model_info",
    "create",
    "load",
    "load_dataset",
    "evaluate",
    "train",
    "save_pretrained",
    "plugins",
]  # and push_to_hub, from zoo.publish on first use (LAZY)


def __getattr__(name: str) -> Any:
    """``zoo.api.push_to_hub``: zoo.publish (and huggingface_hub) imported when it is first asked for."""
    if name in LAZY:
        import importlib

        return getattr(importlib.import_module(LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Names of known architectures matching a shell wildcard; with ``pretrained=True`` (timm's meaning) the
    pretrained models that load: bundled, or published on the Hub. ``zoo list --pretrained`` also shows the
    entries whose weights are not published yet, with their recipes."""
    reg = get_registry()
    names = reg.list_models(pattern, pretrained)
    return [n for n in names if reg.pretrained[n].entry.available] if pretrained else names


def model_info(name: str) -> dict[str, Any]:
    """What is known about an architecture or a pretrained model, as a plain dict.

    For a pretrained model: its real config (from the bundled config.json, or else what its recipe
    builds on its dataset), its recorded metrics, where its weights are and, when bundled, the
    paths of its model card and sample grid.
    """
    reg = get_registry()
    if name in reg.pretrained:
        spec = reg.pretrained[name]
        entry, plugin = spec.entry, spec.plugin
        info = {
            "kind": "pretrained",
            "plugin": plugin,
            "location": entry.location,
            "where": _where(entry),
            **entry.model_dump(),
            # on the Hub, with weights: an entry with no repo is not published, whatever its default says
            "published": bool(entry.repo_id) and entry.published,
        }
        meta = _bundled_config(entry)
        if meta is not None:
            folder = ModelFolder(entry.folder)
            info.update(
                config=meta.get("config"),
                metrics=meta.get("metrics") or {},
                card=str(folder.card),
                samples=str(folder.samples),
            )
        else:
            info.update(config=_recipe_config(entry), metrics={})
        return info
    spec = reg.models.get(name)
    if spec is None:
        raise unknown_name("model", name, list(reg.models) + list(reg.pretrained))
    return {
        "kind": "architecture",
        "name": name,
        "plugin": spec.plugin,
        "description": spec.description,
        "autoregressive": spec.cls.autoregressive,
        "config_fields": _fields(spec.cls.config_class),
        "pretrained": sorted(n for n, p in reg.pretrained.items() if p.entry.architecture == name),
    }


def dataset_info(name: str) -> dict[str, Any]:
    """What is known about a registered dataset: levels, image shape, splits, options with their
    defaults, and where its files are looked for (``data_dir()/<name>/``, or ``root=``)."""
    spec = get_registry().dataset(name)
    return {
        "kind": "dataset",
        "name": name,
        "plugin": spec.plugin,
        "description": spec.description,
        "levels": spec.levels,
        "shape": list(spec.shape) if spec.shape else None,
        "splits": list(spec.splits),
        "options": [
            {"name": o.name, "type": o.type.__name__, "default": o.default, "description": o.description}
            | ({"choices": list(o.choices)} if o.choices else {})
            | ({"minimum": o.minimum} if o.minimum is not None else {})
            | ({"maximum": o.maximum} if o.maximum is not None else {})
            for o in (*spec.options, LIMIT)
        ],
        "files": [str(data_dir() / name / f) for f in spec.files],
        "folder": str(data_dir() / name) if spec.files or spec.download else None,
        "download": f"zoo download {name}" if spec.download else None,
    }


def folder_info(folder: str | Path) -> dict[str, Any]:
    """What a saved model folder (or a downloaded Hub snapshot) says about itself, from its config.json:
    architecture, config, the data it was trained on, its metrics, the files it holds."""
    folder = Path(folder)
    meta = read_config(folder)
    return {
        "kind": "folder",
        "folder": str(folder),
        "architecture": meta["architecture"],
        "plugin": meta.get("plugin"),
        "dataset": meta.get("dataset"),
        "dataset_options": meta.get("dataset_options") or {},
        "config": meta["config"],
        "metrics": meta.get("metrics") or {},
        "files": sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")),
    }


def best_bundled(max_dims: int | None = None) -> str | None:
    """The bundled pretrained model ``zoo demo`` samples from, chosen by a rule rather than by name, so the
    core names no plugin: of the autoregressive models (an exact test NLL, comparable between them) whose
    images have at most ``max_dims`` values (:data:`CARD_FIGURE_DIMS`: naive sampling takes a moment),
    the one on the most intensity levels, then with the lowest recorded test NLL. None when none is installed.
    """
    max_dims = CARD_FIGURE_DIMS if max_dims is None else max_dims
    reg = get_registry()
    ranked = []
    for name, spec in reg.pretrained.items():
        entry = spec.entry
        arch = reg.models.get(entry.architecture)
        meta = _bundled_config(entry)
        if arch is None or meta is None or not arch.cls.autoregressive:
            continue
        config = meta.get("config") or {}
        shape = [config.get(k) for k in ("channels", "height", "width", "levels")]
        test = (meta.get("metrics") or {}).get("test")
        nll = test.get("nll_nats") if isinstance(test, dict) else None
        if not all(isinstance(v, int) for v in shape) or not isinstance(nll, (int, float)):
            continue  # a folder that records no shape or no test NLL cannot be ranked
        if shape[0] * shape[1] * shape[2] <= max_dims:
            ranked.append((-shape[3], nll, name))
    return min(ranked)[2] if ranked else None


def _where(entry: PretrainedEntry) -> str:
    """bundled / hub / not published, as ``zoo list --pretrained`` shows it."""
    if entry.bundled:
        return "bundled" + (" + hub" if entry.repo_id and entry.published else "")
    return "hub" if entry.published else "not published"


def _bundled_config(entry: PretrainedEntry) -> dict[str, Any] | None:
    """config.json of a bundled entry, or None when the entry is not bundled or its files are missing."""
    if not entry.bundled:
        return None
    try:
        return read_config(entry.folder)
    except (ZooError, ValueError, ModuleNotFoundError):
        return None


def _recipe_config(entry: PretrainedEntry) -> dict[str, Any] | None:
    """The config an unpublished entry's recipe builds: its ``--set`` model fields on its dataset's shape."""
    reg = get_registry()
    if not entry.recipe or entry.architecture not in reg.models or entry.dataset not in reg.datasets:
        return None
    settings = Recipe.parse(entry.recipe).settings
    config_class = reg.model(entry.architecture).cls.config_class
    data = reg.dataset(entry.dataset)
    fields = {k: v for k, v in settings.items() if k in config_class.model_fields}
    if data.shape is not None:
        fields.update(zip(("channels", "height", "width"), data.shape))
    if data.levels is not None:
        fields["levels"] = data.levels
    try:
        return config_class(**fields).model_dump(mode="json")
    except ValueError:
        return None


def _fields(config_class) -> dict[str, dict[str, Any]]:
    return {
        k: {"default": f.get_default(call_default_factory=True), "description": f.description or ""}
        | ({"choices": list(choices)} if (choices := literal_choices(f.annotation)) else {})
        for k, f in config_class.model_fields.items()
    }


def literal_choices(annotation) -> tuple[Any, ...]:
    """The values of a ``Literal[...]`` field (also inside ``Optional``), for help texts; () otherwise."""
    if typing.get_origin(annotation) is typing.Literal:
        return typing.get_args(annotation)
    return tuple(c for arg in typing.get_args(annotation) for c in literal_choices(arg))


def create(arch: str, pretrained: bool = False, **config_overrides: Any) -> Model:
    """A freshly initialised model of architecture ``arch``; keyword arguments set config fields.

    ``pretrained=True`` (timm's ``create_model(name, pretrained=True)``) is :func:`load` of the pretrained
    name ``arch``; an architecture's name then says which pretrained models it has. A pretrained model's
    config is its own: only :func:`load`'s arguments (``device=``, ``dtype=`` ...) are taken then.
    """
    if pretrained:
        reg = get_registry()
        if arch in reg.models and arch not in reg.pretrained:
            names = sorted(n for n, p in reg.pretrained.items() if p.entry.architecture == arch and p.entry.available)
            raise ArgumentError(
                f"{arch!r} is an architecture; pretrained=True takes a pretrained model's name"
                + (f": {', '.join(names)}" if names else f" (none of {arch} is published yet)")
            )
        load_options = {"revision", "device", "map_location", "dtype", "torch_dtype", "cache_dir", "token"}
        load_options |= {"local_files_only", "force_download"}
        fields = sorted(set(config_overrides) - load_options)
        if fields:
            raise ConfigError(f"a pretrained model's config is its own; cannot set {', '.join(fields)}")
        return load(arch, **config_overrides)
    spec = get_registry().model(arch)
    fields = spec.cls.config_class.model_fields
    for key in config_overrides:
        if key not in fields:  # pydantic says only "Extra inputs are not permitted"
            hint = str(unknown_name("config field", key, fields)).removeprefix(f"unknown config field {key!r}")
            raise ConfigError(f"invalid config for {arch}: {key}: Extra inputs are not permitted{hint}")
    try:
        config = spec.cls.config_class(**config_overrides)
    except ValidationError as exc:
        raise ConfigError(f"invalid config for {arch}: {validation_problems(exc)}") from None
    check_model_size(spec.cls, config, arch)
    return spec.cls(config)


def load(
    name_or_path: str | Path,
    revision: str | None = None,
    device: str | torch.device | None = None,
    map_location: str | torch.device | None = None,
    *,
    dtype: torch.dtype | str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    token: str | bool | None = None,
    torch_dtype: torch.dtype | str | None = None,
) -> Model:
    """A ready model with weights, on ``device`` (``map_location`` is an alias; default the CPU).

    ``name_or_path`` is looked up in this order (:mod:`zoo.sources`): ``hf://org/name``, always the Hub
    repo; an existing local model folder; a pretrained name; a Hub repo ``org/name``. A local folder that
    shadows a pretrained name or the Hub repo of one wins, with a warning. A path whose parent folder
    exists locally (``runs/nothere``) is taken for a missing folder, not for a Hub repo.

    The rest follows ``from_pretrained`` elsewhere: ``dtype`` casts the floating-point weights
    (``torch.bfloat16``, ``"float16"``, ``"auto"`` for the stored dtype; float32 by default, whatever
    the file holds); ``cache_dir``, ``local_files_only``, ``force_download`` and ``token`` apply to Hub
    downloads as in huggingface_hub. ``torch_dtype`` is diffusers' and transformers' name for ``dtype``.
    :meth:`zoo.Model.from_pretrained` does the same for one class. The model's ``pretrained_cfg`` says where
    it came from (name, source, revision, sha256, data, metrics, recipe), as timm's does.
    """
    if device is not None and map_location is not None and str(device) != str(map_location):
        raise ArgumentError(f"device={device!r} and map_location={map_location!r} disagree; give one of them")
    device = device if device is not None else map_location if map_location is not None else "cpu"
    return load_model(
        name_or_path,
        revision=revision,
        dtype=dtype,
        torch_dtype=torch_dtype,
        device=device,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        force_download=force_download,
        token=token,
    )


def save_pretrained(
    model: Model, folder: str | Path, *, push_to_hub: bool = False, repo_id: str | None = None, **kwargs: Any
) -> Path:
    """Write ``model`` to ``folder`` as config.json + model.safetensors (:func:`zoo.weights.save_pretrained`'s
    ``dataset=``, ``metrics=`` ...); ``push_to_hub=True`` then publishes it to ``repo_id`` (default: the
    folder's name), as diffusers' and transformers' ``save_pretrained`` do."""
    return model.save_pretrained(folder, push_to_hub=push_to_hub, repo_id=repo_id, **kwargs)


def plugins() -> list[dict[str, Any]]:
    """Every plugin with its version, source and errors (an empty list when it works)."""
    return [
        {
            "name": r.name,
            "distribution": r.distribution,
            "version": r.version,
            "source": r.source,
            "errors": list(r.errors),
            "import_seconds": r.import_seconds,
        }
        for r in get_registry().plugins.values()
    ]


def evaluate(
    model: Model | str | Path,
    dataset: str,
    split: str = "test",
    batch_size: int = 256,
    evaluator: str = "default",
    progress: bool = False,
    k: int | None = None,
    **options: Any,
) -> EvalResult:
    """Evaluate ``model`` (a Model, a saved folder or a pretrained name) on a dataset split.

    ``options`` go to :func:`load_dataset` (``limit=``, ``dynamic=`` ...) and are recorded
    in the result, so a stored figure says exactly which images it was measured on. ``root=`` says
    only where the files are and is not recorded. ``progress`` shows a progress bar over the batches.
    ``k`` sets the samples of a latent-variable model's importance-weighted bound (the result's ``k``).
    """
    check_count(batch_size, "batch_size")
    options = dataset_options_of(dataset, options)
    if not isinstance(model, Model):
        model = load(model)
    data = load_dataset(dataset, split, **options)
    extra = {"progress": True} if progress else {}  # evaluators that take no progress= keep working
    if k is not None:
        extra["k"] = k
    result = get_registry().evaluator(evaluator)().evaluate(model, data, batch_size=batch_size, **extra)
    return result.model_copy(update={"options": {**result.options, **recorded_options(dataset, options)}})


def train(
    arch_or_model: str | Model,
    dataset: str | None,
    out: str | Path,
    settings: dict[str, Any] | None = None,
    epochs: int | None = None,
    resume: bool = False,
    dataset_options: dict[str, Any] | None = None,
    trainer: str = "default",
    overwrite: bool = False,
    command: str | None = None,
    final_eval: bool = False,
) -> Path:
    """Train an architecture (or a given model) on ``dataset`` and save the best model in ``out``.

    ``settings`` keys go to the architecture's config when it has that field, else to the settings of
    the ``trainer`` (its ``config_class``; the default trainer's is :class:`~zoo.training.TrainConfig`).
    The image shape and levels come from the dataset. ``out`` receives
    ``config.json`` + ``model.safetensors`` (the best-validation weights, with their val
    metrics), ``train_config.json`` and ``checkpoints/``. With ``resume=True`` the settings
    stored in ``out/train_config.json`` are the defaults and the run continues where it stopped.
    ``out`` must be empty unless ``resume`` or ``overwrite`` is set, and is locked for the run
    (see :meth:`zoo.folders.RunFolder.claim`), so two runs never interleave their files.

    Provenance: ``command`` (the command line that made the run; by default the ``zoo train`` command
    equivalent to this call) is recorded in train_config.json and config.json, where ``zoo card`` finds it,
    and a fine-tune records the model it started from as ``base_model`` (its Hub repo when it has one).

    **Fine-tuning** (``arch_or_model`` a pretrained name, a model folder, a Hub repo or a loaded model): the
    base's dataset (``dataset=None``) and its data options (when ``dataset`` is the base's own; ``limit`` is a
    run's, never inherited) are the defaults that ``dataset_options`` override; unless ``settings`` give any of
    ``lr``, ``schedule`` or ``warmup`` (then exactly what is given, with the from-scratch defaults for the rest),
    the run uses the fine-tune schedule (:func:`fine_tune_defaults`: a tenth of the trainer's default lr, a
    cosine decay and a short warm-up); and the base is measured on the same validation (and with
    ``final_eval``, test) data before training, so the card shows base and result side by side.

    ``final_eval=True`` (the default of ``zoo train``) ends with a complete model folder: the best model
    is measured once on the test split (when the dataset has one) through the registry's evaluator,
    stored under ``metrics["test"]``, and the card (README.md) is written with the run's command, so
    ``zoo card`` only re-renders it. The card draws its sample and completion grids only for images of
    at most :data:`CARD_FIGURE_DIMS` values (naive sampling at 28x28 takes a minute); it reuses the
    training curve the trainer wrote, and ``zoo card`` draws the grids of larger images.
    """
    named = arch_or_model  # what the recorded command trains: the name or folder given, even once it is loaded
    if dataset is None:  # a fine-tune's base names its data
        arch_or_model, dataset = _base_dataset(arch_or_model, out, resume)
    dataset_options = dataset_options_of(dataset, dataset_options)  # refused before the folder is touched
    if command is None and isinstance(named, (str, Path)):  # what `zoo train` would have been typed
        command = Recipe(
            architecture=str(named),
            dataset=dataset,
            settings=dict(settings or {}),
            dataset_options={k: str(v) if isinstance(v, Path) else v for k, v in (dataset_options or {}).items()},
            epochs=epochs,
            out=str(out),
            resume=resume,  # final_eval is left out: it changes what is measured, not the weights
        ).command()
    with RunFolder(out).claim(overwrite=overwrite, resume=resume, lock=rank() == 0):
        return _train(
            arch_or_model, dataset, out, settings, epochs, resume, dataset_options, trainer, command, final_eval
        )


#: the largest image (channels x height x width) whose sample and completion grids ``zoo train`` draws for
#: its card: 8x8 digits take a fraction of a second, 28x28 MNIST a minute with a naive sampler
CARD_FIGURE_DIMS = 256


def _write_card(model: Model, out: Path) -> None:
    """The card at the end of a run, from what the folder holds (the recipe is the RunSpec's command)."""
    from .cards import write_model_card  # huggingface_hub's card module: only a run's end and `zoo card` need it

    quick = _figures_are_quick(model)
    write_model_card(out, samples=quick, completions=quick)


def _figures_are_quick(model: Model) -> bool:
    """Whether the card's sample and completion grids take a moment to draw: small images, a model that
    samples in one pass (not autoregressive), or an autoregressive one with a fast sampler (all the bundled
    families: 16 samples at 28x28 in about a second); a naive sampler at 28x28 takes a minute."""
    cfg = model.config
    if cfg.channels * cfg.height * cfg.width <= CARD_FIGURE_DIMS or not model.autoregressive:
        return True
    labels = torch.zeros(1, dtype=torch.long) if model.conditional else None
    with torch.no_grad():
        return model.incremental_sampler(1, labels) is not None


#: the fine-tune schedule replaces the from-scratch defaults of these training fields unless one of them is given
FINE_TUNE_FIELDS = ("lr", "schedule", "warmup")
#: the fine-tune learning rate is the trainer's default divided by this
FINE_TUNE_LR_DIVISOR = 10
#: the fine-tune warm-up: this share of the run's steps, at most FINE_TUNE_WARMUP_MAX steps
FINE_TUNE_WARMUP_SHARE, FINE_TUNE_WARMUP_MAX = 0.05, 100


def fine_tune_defaults(settings_class, given: dict[str, Any], steps_per_epoch: int) -> dict[str, Any]:
    """The training fields a fine-tune uses unless ``given`` sets one of :data:`FINE_TUNE_FIELDS`.

    A pretrained model sits near a minimum that the from-scratch learning rate shakes it out of (a Row LSTM
    on binarized MNIST went from 91 to 154 nats in two steps at lr 1e-3): a tenth of the trainer's default
    lr, decayed to 0 by a cosine over the run, after a linear warm-up of 5% of the steps (at most 100), so
    the first steps, taken with a fresh optimizer whose moment estimates are still empty, are small.
    ``given`` setting any of lr, schedule or warmup turns the whole default off: a command that names its
    learning rate or schedule means exactly what it meant before fine-tune defaults existed.
    """
    fields = settings_class.model_fields
    if any(k in given for k in FINE_TUNE_FIELDS) or not all(k in fields for k in FINE_TUNE_FIELDS):
        return {}
    epochs = given.get("epochs", fields["epochs"].default if "epochs" in fields else None)
    max_steps = given.get("max_steps")
    total = [n for n in (epochs * steps_per_epoch if isinstance(epochs, int) else None, max_steps) if n]
    warmup = int(min(total) * FINE_TUNE_WARMUP_SHARE) if total else FINE_TUNE_WARMUP_MAX
    return {
        "lr": fields["lr"].default / FINE_TUNE_LR_DIVISOR,
        "schedule": "cosine",
        "warmup": max(1, min(FINE_TUNE_WARMUP_MAX, warmup)),
    }


def model_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """The data options that describe a model's data: all but ``limit``, which says how much of it a run used."""
    return {k: v for k, v in (options or {}).items() if k != LIMIT.name}


def _base_dataset(arch_or_model, out, resume: bool) -> tuple[str | Model, str]:
    """The dataset a run names none of: a resumed run's own, else the one its base model records
    (a pretrained name or folder is loaded here, once, and handed on as the model)."""
    if resume and RunFolder(out).spec_file.is_file():
        return arch_or_model, RunFolder(out).read_spec().dataset
    if isinstance(arch_or_model, (str, Path)):
        reg = get_registry()
        if str(arch_or_model) in reg.models:
            raise ArgumentError(f"training the architecture {str(arch_or_model)!r} from scratch needs a dataset")
        if not names_a_model(str(arch_or_model)):
            raise unknown_name("architecture or pretrained model", str(arch_or_model), [*reg.models, *reg.pretrained])
        arch_or_model = load(arch_or_model)
    dataset = (arch_or_model.pretrained_info or {}).get("dataset")
    if not isinstance(dataset, str) or not dataset:
        raise ArgumentError("the model to fine-tune records no dataset: name one (--dataset)")
    return arch_or_model, dataset


def _base_metrics(model: Model, info: dict[str, Any], sets: dict[str, Any], evaluator, batch_size: int) -> dict:
    """The base model's results on the data the fine-tune is measured on, before training changes it:
    the base's recorded result where it was measured on exactly these images, else measured now."""
    options = sets.pop("options")
    recorded = info.get("metrics") or {}
    metrics = {}
    for split, data in sets.items():
        result = recorded.get(split)
        same = isinstance(result, dict) and result.get("options", {}) == options and result.get("n_images") == len(data)
        if not same:
            result = evaluator.evaluate(model, data, batch_size=batch_size)
            result.options = options
            result = result.model_dump()
        metrics[split] = result
    return metrics


def _base_model(model: Model) -> str | None:
    """The name a fine-tune records for the model it started from: its Hub repo when it has one."""
    name = (model.pretrained_info or {}).get("name")
    reg = get_registry()
    if name in reg.pretrained:
        entry = reg.entry(name)
        return entry.repo_id if entry.repo_id and entry.published else name
    return name


def _train(
    arch_or_model, dataset, out, settings, epochs, resume, dataset_options, trainer, command=None, final_eval=False
) -> Path:
    """The body of :func:`train`, run while ``out`` is claimed."""
    out = Path(out)
    settings = dict(settings or {})
    given_options = dict(dataset_options or {})
    dataset_options = given_options
    stored_options = None
    folder = RunFolder(out)
    run_file = folder.spec_file
    stored = folder.read_spec() if resume else None  # the claim made sure a resumed run has a checkpoint
    if stored is not None:
        if stored.dataset != dataset:
            raise ZooError(f"{run_file}: this run trained on {stored.dataset!r}, not {dataset!r}")
        try:
            stored_options = dataset_options_of(dataset, stored.dataset_options)
        except ZooError as exc:
            raise ConfigError(f"{run_file}: {exc}") from None
        dataset_options = {**stored_options, **given_options}

    reg = get_registry()
    trainer_class = reg.trainer(trainer)
    settings_class = trainer_class.config_class  # the trainer's settings: TrainConfig for the default one
    if stored is not None and isinstance(arch_or_model, (str, Path)) and str(arch_or_model) not in reg.models:
        # a fine-tune resumes from its checkpoint alone: the model is built from the recorded config
        # (its weights come from the checkpoint), so the source folder or name is no longer needed
        arch_or_model = stored.architecture
    if (
        isinstance(arch_or_model, (str, Path))
        and str(arch_or_model) not in reg.models
        and names_a_model(str(arch_or_model))
    ):
        arch_or_model = load(arch_or_model)  # fine-tuning: a pretrained name, a saved model folder or a Hub repo
    elif isinstance(arch_or_model, (str, Path)) and str(arch_or_model) not in reg.models:
        known = [*reg.models, *reg.pretrained]  # what `zoo train NAME` takes: either kind, so suggest both
        raise unknown_name("architecture or pretrained model", str(arch_or_model), known)
    base_model = None
    base_info = None  # a fine-tune's base, as loaded (None: from scratch, or a resumed run)
    if isinstance(arch_or_model, Model):
        base_model = _base_model(arch_or_model)
        if stored is None and arch_or_model.pretrained_info:
            base_info = dict(arch_or_model.pretrained_info)
            if base_info.get("dataset") == dataset:  # the base's data, unless the run names other options
                inherited = dataset_options_of(dataset, model_options(base_info.get("dataset_options")))
                dataset_options = {**inherited, **given_options}
        model = arch_or_model
        arch = model.architecture
        config_class = type(model).config_class
        model_settings, train_settings = split_settings(config_class, settings, settings_class)
        fixed = sorted(set(model_settings) - set(config_class.loss_settings))
        if fixed:
            may = (
                f" (a fine-tune may set {', '.join(config_class.loss_settings)})" if config_class.loss_settings else ""
            )
            raise ConfigError(f"the model is already built; cannot set {', '.join(fixed)}{may}")
        if model_settings:  # the loss and evaluation settings of a fine-tune: the parameters stay as they are
            model.config = validated(
                config_class, {**model.config.model_dump(), **model_settings}, f"config for {arch}"
            )
    else:
        arch = arch_or_model
        model = None
    config_class = reg.model(arch).cls.config_class if model is None else type(model).config_class
    if stored is not None:
        if stored.architecture != arch:
            raise ZooError(f"{run_file}: this run trained {stored.architecture!r}, not {arch!r}")
        validated(settings_class, stored.train_settings, f"training settings in {run_file}")
        if stored.model_settings is not None and model is None:  # a field added since the run began had its default
            full = validated(config_class, stored.model_settings, f"model config in {run_file}")
            stored = stored.model_copy(update={"model_settings": full.model_dump(mode="json")})
        settings = {**(stored.model_settings or {}), **stored.train_settings, **settings}
    model_settings, train_settings = split_settings(config_class, settings, settings_class)
    if epochs is not None:
        train_settings["epochs"] = epochs
    cfg = validated(settings_class, train_settings, "training settings")

    train_set = load_dataset(dataset, "train", **dataset_options)
    val_set = load_dataset(dataset, "val", **dataset_options)
    if base_info is not None:
        steps = -(-len(train_set) // getattr(cfg, "batch_size", 1))
        defaults = fine_tune_defaults(settings_class, train_settings, steps)
        if defaults:
            cfg = validated(settings_class, {**train_settings, **defaults}, "training settings")
            if rank() == 0 and getattr(cfg, "progress", True):
                print(
                    f"fine-tuning with lr={cfg.lr:g}, a cosine schedule and {cfg.warmup} warm-up steps "
                    f"(--set {'/'.join(FINE_TUNE_FIELDS)} replaces this default)",
                    file=sys.stderr,
                )
    if model is None:
        from_data = dict(zip(("channels", "height", "width"), train_set.shape), levels=train_set.levels)
        conflicts = {k: v for k, v in model_settings.items() if k in from_data and v != from_data[k]}
        if conflicts:
            raise ConfigError(
                f"dataset {dataset!r} has {', '.join(f'{k}={from_data[k]}' for k in conflicts)}; "
                f"remove the conflicting setting(s) {', '.join(f'{k}={v}' for k, v in conflicts.items())}"
            )
        model_config = validated(config_class, {**model_settings, **from_data}, f"config for {arch}")
        check_model_size(reg.model(arch).cls, model_config, arch)
        torch.manual_seed(getattr(cfg, "seed", 0))  # the initialisation is part of the seeded run
        model = reg.model(arch).cls(model_config)

    spec = RunSpec(
        architecture=arch,
        dataset=dataset,
        dataset_options={k: str(v) if isinstance(v, Path) else v for k, v in dataset_options.items()},
        model_settings=model.config.model_dump(mode="json"),
        train_settings=cfg.model_dump(mode="json"),
        zoo_version=__version__,
        command=command,
        base_model=base_model,
    )
    if stored is not None:  # refuse before touching the stored settings
        typed = {"dataset_options": recorded_options(dataset, stored_options)}
        stored.model_copy(update=typed).check_resumable(
            run_file,
            spec.model_copy(update={"dataset_options": recorded_options(dataset, dataset_options)}),
            settings_class().model_dump(mode="json"),
        )
        # a resumed run keeps the command that started it and lists the resumes
        spec.command, spec.base_model = stored.command, stored.base_model or base_model
        spec.resumed_with = [*(stored.resumed_with or []), *([command] if command else [])]
        spec = RunSpec.model_validate({**stored.to_json(), **spec.to_json()})  # keeps fields a newer zoo wrote
    provenance = {k: v for k, v in (("command", spec.command), ("base_model", spec.base_model)) if v}
    if rank() == 0:
        folder.write_spec(spec)
    eval_batch_size = getattr(cfg, "eval_batch_size", 256)
    if base_info is not None and rank() == 0:  # measured before fit changes the weights in place
        sets = {"val": val_set, "options": recorded_options(dataset, dataset_options)}
        if final_eval and "test" in reg.dataset(dataset).splits:
            sets["test"] = load_dataset(dataset, "test", **dataset_options)
        provenance["base_metrics"] = _base_metrics(model, base_info, sets, reg.evaluator("default")(), eval_batch_size)
    result = trainer_class().fit(model, train_set, val_set, cfg, out=out, resume=resume)
    if rank() == 0:  # the process group's rank once fit has joined it
        evaluator = reg.evaluator("default")()
        val_result = evaluator.evaluate(model, val_set, batch_size=eval_batch_size)
        val_result.options = recorded_options(dataset, dataset_options)
        metrics = {"val": val_result.model_dump()}
        if final_eval and "test" in reg.dataset(dataset).splits:
            test_set = load_dataset(dataset, "test", **dataset_options)
            test_result = evaluator.evaluate(model, test_set, batch_size=eval_batch_size)
            test_result.options = val_result.options
            metrics[test_result.key] = test_result.model_dump()
        folder.write_result(result.model_dump(mode="json"))
        save_folder(
            model,
            out,
            dataset=dataset,
            dataset_options=model_options(val_result.options),  # what the model is; the limit was the run's
            metrics=metrics,
            extra=provenance,
        )
        if final_eval:
            _write_card(model, out)
    finish_distributed()
    return out
