"""zoo: a plugin-based model zoo for generative image models.

    import zoo
    zoo.list_models("pixel*")               # architectures plugins registered
    model = zoo.load("pixelcnn-digits")     # pretrained weights, bundled or from the Hub
    fresh = zoo.create("pixelcnn", levels=2)
"""

from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path
from typing import Any

from .errors import (
    DatasetError,
    HubError,
    ImageError,
    PluginError,
    UnknownNameError,
    WeightsError,
    ZooError,
)
from .hookspecs import hookimpl
from .interfaces import AutoregressiveModel, Evaluator, Model, ModelConfig, Trainer
from .registry import PretrainedEntry, get_registry, register_plugin, unregister_plugin
from .weights import load_folder, save_pretrained

__all__ = [
    "__version__",
    "hookimpl",
    "Model",
    "AutoregressiveModel",
    "ModelConfig",
    "Trainer",
    "Evaluator",
    "PretrainedEntry",
    "list_models",
    "model_info",
    "create",
    "load",
    "save_pretrained",
    "push_to_hub",
    "plugins",
    "register_plugin",
    "unregister_plugin",
    "ZooError",
    "ImageError",
    "UnknownNameError",
    "WeightsError",
    "PluginError",
    "DatasetError",
    "HubError",
]


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Names of known architectures (or pretrained models) matching a shell wildcard."""
    return get_registry().list_models(pattern, pretrained)


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
        info = {"kind": "pretrained", "plugin": plugin, "location": entry.location, "where": _where(entry),
                **entry.model_dump()}
        meta = _bundled_config(entry)
        if meta is not None:
            folder = entry.folder
            info.update(config=meta.get("config"), metrics=meta.get("metrics") or {},
                        card=str(folder / "README.md"), samples=str(folder / "samples.png"))
        else:
            info.update(config=_recipe_config(entry), metrics={})
        return info
    spec = reg.models.get(name)
    if spec is None:
        from .errors import unknown_name

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


def _where(entry: PretrainedEntry) -> str:
    """bundled / hub / not published, as ``zoo list --pretrained`` shows it."""
    if entry.bundled:
        return "bundled" + (" + hub" if entry.repo_id and entry.published else "")
    return "hub" if entry.published else "not published"


def _bundled_config(entry: PretrainedEntry) -> dict[str, Any] | None:
    """config.json of a bundled entry, or None when the entry is not bundled or its files are missing."""
    from .weights import read_config

    if not entry.bundled:
        return None
    try:
        return read_config(entry.folder)
    except (ZooError, ValueError, ModuleNotFoundError):
        return None


def _recipe_config(entry: PretrainedEntry) -> dict[str, Any] | None:
    """The config an unpublished entry's recipe builds: its ``--set`` model fields on its dataset's shape."""
    import json
    import shlex

    reg = get_registry()
    if not entry.recipe or entry.architecture not in reg.models or entry.dataset not in reg.datasets:
        return None
    words = shlex.split(entry.recipe.split("&&")[0])
    settings = {}
    for k, word in enumerate(words[:-1]):
        if word == "--set":
            key, _, value = words[k + 1].partition("=")
            try:
                settings[key] = json.loads(value)
            except ValueError:
                settings[key] = value
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
        for k, f in config_class.model_fields.items()
    }


def create(arch: str, **config_overrides: Any) -> Model:
    """A freshly initialised model of architecture ``arch``; keyword arguments set config fields."""
    from pydantic import ValidationError

    from .errors import validation_problems

    spec = get_registry().model(arch)
    try:
        config = spec.cls.config_class(**config_overrides)
    except ValidationError as exc:
        raise ValueError(f"invalid config for {arch}: {validation_problems(exc)}") from None
    return spec.cls(config)


def load(name_or_path: str | Path, revision: str | None = None, map_location: str = "cpu") -> Model:
    """A ready model with weights: a saved folder, a pretrained name, or a Hub repo ``org/name``."""
    path = Path(name_or_path)
    if path.is_dir():
        return load_folder(path, map_location)
    name = str(name_or_path)
    reg = get_registry()
    if name in reg.pretrained:
        from .hub import resolve_entry

        return load_folder(resolve_entry(reg.entry(name), revision=revision), map_location)
    if name.count("/") == 1 and not path.exists() and not name.startswith((".", "/")):
        from .hub import download_repo

        return load_folder(download_repo(name, revision=revision), map_location)
    if path.exists():
        raise WeightsError(f"{path}: not a zoo model folder")
    from .errors import unknown_name

    raise unknown_name("pretrained model", name, reg.pretrained)


def push_to_hub(model_or_folder, repo_id: str, private: bool = False, revision: str | None = None, **kwargs):
    """Publish a model (or a saved folder) to the Hub in one commit; see :mod:`zoo.hub`."""
    from .hub import push_to_hub as _push

    return _push(model_or_folder, repo_id, private=private, revision=revision, **kwargs)


def plugins() -> list[dict[str, Any]]:
    """Every plugin with its version, source and errors (an empty list when it works)."""
    return [
        {"name": r.name, "distribution": r.distribution, "version": r.version, "source": r.source,
         "errors": list(r.errors), "import_seconds": r.import_seconds}
        for r in get_registry().plugins.values()
    ]
