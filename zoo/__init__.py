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
    """What is known about an architecture or a pretrained model, as a plain dict."""
    reg = get_registry()
    if name in reg.pretrained:
        entry, plugin = reg.pretrained[name]
        spec = reg.model(entry.architecture) if entry.architecture in reg.models else None
        return {
            "kind": "pretrained",
            "plugin": plugin,
            "location": entry.location,
            **entry.model_dump(),
            "config_fields": _fields(spec.cls.config_class) if spec else {},
        }
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
        "pretrained": sorted(n for n, (e, _) in reg.pretrained.items() if e.architecture == name),
    }


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
        {"name": r.name, "distribution": r.distribution, "version": r.version, "source": r.source, "errors": list(r.errors)}
        for r in get_registry().plugins.values()
    ]
