"""Everything plugins registered: architectures, pretrained entries, datasets, trainers, evaluators."""

from __future__ import annotations

import fnmatch
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict, model_validator

from .errors import unknown_name
from .plugins import PluginRecord, build_plugin_manager, call_each

__all__ = [
    "ModelSpec",
    "DatasetSpec",
    "PretrainedEntry",
    "Registry",
    "get_registry",
    "register_plugin",
    "unregister_plugin",
    "cards_dir",
]


def cards_dir() -> Path:
    """Folder of the bundled pretrained models: ``$ZOO_CARDS`` or ``cards/`` beside the package."""
    env = os.environ.get("ZOO_CARDS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "cards"


@dataclass
class ModelSpec:
    name: str
    cls: type
    plugin: str
    description: str = ""


@dataclass
class DatasetSpec:
    name: str
    loader: Callable[..., Any]
    plugin: str
    description: str = ""
    levels: int | None = None
    shape: tuple[int, int, int] | None = None


class PretrainedEntry(BaseModel):
    """One pretrained model: bundled in ``cards/<bundled>/`` or on the Hub at ``repo_id``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    architecture: str
    dataset: str
    description: str = ""
    bundled: str | None = None
    repo_id: str | None = None
    revision: str = "main"
    sha256: str | None = None
    config_sha256: str | None = None  # pins config.json as sha256 pins model.safetensors
    recipe: str | None = None  # the command that reproduces the weights

    @model_validator(mode="after")
    def _one_location(self):
        if (self.bundled is None) == (self.repo_id is None):
            raise ValueError(f"pretrained entry {self.name!r} needs exactly one of bundled= or repo_id=")
        return self

    @property
    def location(self) -> str:
        if self.bundled:
            return f"bundled: {cards_dir() / self.bundled}"
        return f"hub: {self.repo_id}@{self.revision}"


@dataclass
class Registry:
    """A snapshot of every plugin's registrations; rebuilt when run-time plugins change."""

    models: dict[str, ModelSpec] = field(default_factory=dict)
    pretrained: dict[str, tuple[PretrainedEntry, str]] = field(default_factory=dict)
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    trainers: dict[str, tuple[type, str]] = field(default_factory=dict)
    evaluators: dict[str, tuple[type, str]] = field(default_factory=dict)
    plugins: dict[str, PluginRecord] = field(default_factory=dict)

    # -- lookups with close-match errors -------------------------------------
    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            raise unknown_name("architecture", name, self.models)
        return self.models[name]

    def entry(self, name: str) -> PretrainedEntry:
        if name not in self.pretrained:
            raise unknown_name("pretrained model", name, self.pretrained)
        return self.pretrained[name][0]

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            raise unknown_name("dataset", name, self.datasets)
        return self.datasets[name]

    def trainer(self, name: str) -> type:
        if name not in self.trainers:
            raise unknown_name("trainer", name, self.trainers)
        return self.trainers[name][0]

    def evaluator(self, name: str) -> type:
        if name not in self.evaluators:
            raise unknown_name("evaluator", name, self.evaluators)
        return self.evaluators[name][0]

    def plugin_of(self, cls: type) -> str:
        for spec in self.models.values():
            if spec.cls is cls:
                return spec.plugin
        return ""

    def list_models(self, pattern: str = "*", pretrained: bool = False) -> list[str]:
        names = self.pretrained if pretrained else self.models
        return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def _collect(pm, records) -> Registry:
    from .interfaces import Evaluator, Model, Trainer

    reg = Registry(plugins=records)

    def claim(table: dict, kind: str, name: str, value, plugin: str) -> None:
        if not isinstance(name, str) or not name:
            raise TypeError(f"{kind} name must be a non-empty string, got {name!r}")
        if name in table:
            owner = table[name].plugin if hasattr(table[name], "plugin") else table[name][1]
            records[plugin].errors.append(f"{kind} {name!r} is already registered by {owner}; ignored")
            return
        table[name] = value

    def models(plugin):
        def register(cls, description: str = ""):
            if not (isinstance(cls, type) and issubclass(cls, Model)):
                raise TypeError(f"register() needs a zoo.Model subclass, got {cls!r}")
            claim(reg.models, "architecture", cls.architecture, ModelSpec(cls.architecture, cls, plugin, description or (cls.__doc__ or "").strip().split("\n")[0]), plugin)
        return register

    def pretrained(plugin):
        def register(entry: PretrainedEntry):
            if not isinstance(entry, PretrainedEntry):
                raise TypeError(f"register() needs a zoo.PretrainedEntry, got {entry!r}")
            claim(reg.pretrained, "pretrained model", entry.name, (entry, plugin), plugin)
        return register

    def datasets(plugin):
        def register(name, loader, description: str = "", levels=None, shape=None):
            claim(reg.datasets, "dataset", name, DatasetSpec(name, loader, plugin, description, levels, shape), plugin)
        return register

    def classes(table, kind, base):
        def outer(plugin):
            def register(name, cls):
                if not (isinstance(cls, type) and issubclass(cls, base)):
                    raise TypeError(f"register() needs a {base.__name__} subclass, got {cls!r}")
                claim(table, kind, name, (cls, plugin), plugin)
            return register
        return outer

    call_each(pm, "zoo_register_models", models, records)
    call_each(pm, "zoo_register_pretrained", pretrained, records)
    call_each(pm, "zoo_register_datasets", datasets, records)
    call_each(pm, "zoo_register_trainers", classes(reg.trainers, "trainer", Trainer), records)
    call_each(pm, "zoo_register_evaluators", classes(reg.evaluators, "evaluator", Evaluator), records)
    return reg


_lock = threading.Lock()
_runtime: list[tuple[Any, str]] = []
_current: Registry | None = None


def get_registry() -> Registry:
    """The registry, built on first use from all plugins."""
    global _current
    with _lock:
        if _current is None:
            pm, records = build_plugin_manager(list(_runtime))
            _current = _collect(pm, records)
        return _current


def register_plugin(plugin: Any, name: str | None = None) -> str:
    """Add a plugin (a module or object with ``@hookimpl`` functions) without installing it."""
    global _current
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    with _lock:
        if any(n == name for _, n in _runtime):
            raise ValueError(f"a run-time plugin named {name!r} is already registered")
        _runtime.append((plugin, name))
        _current = None
    return name


def unregister_plugin(name: str) -> None:
    """Remove a plugin added with :func:`register_plugin`."""
    global _current
    with _lock:
        _runtime[:] = [(p, n) for p, n in _runtime if n != name]
        _current = None


def reload() -> None:
    """Forget the registry so the next use rediscovers installed entry points."""
    global _current
    with _lock:
        _current = None
