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

import torch

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
    from .cli import recipe_settings  # the CLI module imports nothing heavy at its top

    reg = get_registry()
    if not entry.recipe or entry.architecture not in reg.models or entry.dataset not in reg.datasets:
        return None
    settings = recipe_settings(entry.recipe)
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


def load(
    name_or_path: str | Path, revision: str | None = None, device: str | torch.device | None = None,
    map_location: str | torch.device | None = None,
) -> Model:
    """A ready model with weights, on ``device`` (``map_location`` is an alias; default the CPU).

    ``name_or_path`` is looked up in this order: an existing local model folder, a pretrained
    name, a Hub repo ``org/name``. A local folder that shadows a pretrained name or the Hub repo
    of one wins, with a warning. A path whose parent folder exists locally (``runs/nothere``) is taken
    for a missing folder, not for a Hub repo.
    """
    import warnings

    if device is not None and map_location is not None and str(device) != str(map_location):
        raise ValueError(f"device={device!r} and map_location={map_location!r} disagree; give one of them")
    device = device if device is not None else map_location if map_location is not None else "cpu"
    path = Path(name_or_path)
    name = str(name_or_path)
    reg = get_registry()
    if _is_dir(path):
        if name in reg.pretrained or any(spec.entry.repo_id == name for spec in reg.pretrained.values()):
            warnings.warn(f"loading the local folder {path}, not the pretrained model or Hub repo named {name!r}",
                          stacklevel=2)
        return load_folder(path, device)
    if name in reg.pretrained:
        from .hub import resolve_entry

        return load_folder(resolve_entry(reg.entry(name), revision=revision), device)
    if _looks_like_repo(name) and not _is_dir(path.parent):
        from .hub import download_repo

        return load_folder(download_repo(name, revision=revision), device)
    if _exists(path):
        raise WeightsError(f"{path}: not a zoo model folder")
    if len(path.parts) > 1:
        raise WeightsError(f"{path}: no such model folder")
    from .errors import unknown_name

    raise unknown_name("pretrained model", name, reg.pretrained)


def _looks_like_repo(name: str) -> bool:
    return name.count("/") == 1 and not name.startswith((".", "/")) and not name.endswith("/")


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system is no folder
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


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
