"""Everything plugins registered: architectures, pretrained entries, datasets, trainers, evaluators."""

from __future__ import annotations

import fnmatch
import sys
import threading
import types
import warnings
from dataclasses import dataclass, field
from typing import Any

from .config import ModelConfig
from .errors import PluginError, unknown_name
from .interfaces import Evaluator, Model, Trainer
from .options import check_declared, options_of_loader
from .plugins import BUILTIN, PluginRecord, build_plugin_manager, call_each, paused_gc
from .specs import (
    BUNDLED_DIR,
    SPLITS,
    ClassSpec,
    DatasetSpec,
    DeferredEntry,
    ModelSpec,
    PretrainedEntry,
    PretrainedSpec,
)

__all__ = [
    "ModelSpec",
    "DatasetSpec",
    "PretrainedEntry",
    "PretrainedSpec",
    "ClassSpec",
    "PluginConflictWarning",
    "Registry",
    "get_registry",
    "register_plugin",
    "unregister_plugin",
    "BUNDLED_DIR",
]


@dataclass
class Registry:
    """A snapshot of every plugin's registrations; rebuilt when run-time plugins change."""

    models: dict[str, ModelSpec] = field(default_factory=dict)
    pretrained: dict[str, PretrainedSpec] = field(default_factory=dict)
    datasets: dict[str, DatasetSpec] = field(default_factory=dict)
    trainers: dict[str, ClassSpec] = field(default_factory=dict)
    evaluators: dict[str, ClassSpec] = field(default_factory=dict)
    plugins: dict[str, PluginRecord] = field(default_factory=dict)

    # -- lookups with close-match errors -------------------------------------
    def model(self, name: str) -> ModelSpec:
        if name not in self.models:
            raise unknown_name("architecture", name, self.models)
        return self.models[name]

    def entry(self, name: str) -> PretrainedEntry:
        if name not in self.pretrained:
            raise unknown_name("pretrained model", name, self.pretrained)
        return self.pretrained[name].entry

    def dataset(self, name: str) -> DatasetSpec:
        if name not in self.datasets:
            raise unknown_name("dataset", name, self.datasets)
        return self.datasets[name]

    def trainer(self, name: str) -> type:
        if name not in self.trainers:
            raise unknown_name("trainer", name, self.trainers)
        return self.trainers[name].cls

    def evaluator(self, name: str) -> type:
        if name not in self.evaluators:
            raise unknown_name("evaluator", name, self.evaluators)
        return self.evaluators[name].cls

    def plugin_of(self, cls: type) -> str:
        for spec in self.models.values():
            if spec.cls is cls:
                return spec.plugin
        return ""

    def list_models(self, pattern: str = "*", pretrained: bool = False) -> list[str]:
        names = self.pretrained if pretrained else self.models
        return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def _package_of(plugin: Any) -> str | None:
    """The import name of the package a plugin (a module or an object) comes from."""
    name = plugin.__name__ if isinstance(plugin, types.ModuleType) else type(plugin).__module__
    module = sys.modules.get(name)
    if module is not None and not hasattr(module, "__path__"):  # a plain module: its package
        return module.__package__ or None
    return name


def _not_a_model(cls: Any) -> str | None:
    """Why ``cls`` cannot be registered as an architecture, in one line; None when it is a ``zoo.Model`` subclass."""
    if not isinstance(cls, type):
        return f"register() needs a zoo.Model subclass, got {cls!r}, which is not a class"
    if not issubclass(cls, Model):
        return (
            f"register() needs a zoo.Model subclass, got the class {cls.__module__}.{cls.__qualname__}, "
            "which does not derive from zoo.Model (subclass zoo.Model or zoo.AutoregressiveModel)"
        )
    return None


def _collect(pm, records) -> Registry:
    reg = Registry(plugins=records)
    owners: dict[tuple[str, str], str] = {}  # (kind, name) -> plugin that keeps it

    def claim(table: dict, kind: str, name: str, value, plugin: str, rightful=None) -> None:
        """Who keeps a name two plugins register (documented in CONTRIBUTING.md): the built-in plugin
        keeps its own; otherwise the ``rightful`` plugin (a pretrained model: the plugin of its
        architecture; an architecture: the plugin named like it) takes it; otherwise the first in
        plugin order (by distribution name) keeps it. The plugin that loses it is told why.
        ``rightful`` may be a function, called only for a contested name (a deferred pretrained entry
        reads its folder to learn its architecture only then)."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"{kind} name must be a non-empty string, got {name!r}")
        if name in table:
            rightful = rightful() if callable(rightful) else rightful
            owner = owners[kind, name]
            if plugin == rightful and owner not in (plugin, BUILTIN):
                _contested(records, kind, name, keeper=plugin, loser=owner, why=f"the name belongs to {plugin}")
            else:
                why = (
                    "the built-in plugin keeps its names"
                    if owner == BUILTIN
                    else f"the name belongs to {owner}"
                    if owner == rightful
                    else "first in plugin order, by distribution name"
                )
                _contested(records, kind, name, keeper=owner, loser=plugin, why=why)
                return
        table[name] = value
        owners[kind, name] = plugin

    def models(plugin):
        def register(cls, description: str = ""):
            problem = _not_a_model(cls)
            if problem:
                raise TypeError(problem)
            config_class = getattr(cls, "config_class", None)
            if not (isinstance(config_class, type) and issubclass(config_class, ModelConfig)):
                raise TypeError(f"{cls.__name__}.config_class must be a zoo.ModelConfig subclass, got {config_class!r}")
            about = description or (cls.__doc__ or "").strip().split("\n")[0]
            arch = cls.architecture
            named_like_it = arch == plugin or (isinstance(arch, str) and arch.startswith(plugin + "-"))
            claim(
                reg.models,
                "architecture",
                arch,
                ModelSpec(arch, cls, plugin, about),
                plugin,
                rightful=plugin if named_like_it else None,
            )

        return register

    def pretrained(plugin):
        def register(entry: PretrainedEntry | DeferredEntry):
            if isinstance(entry, DeferredEntry):  # zoo.bundled_entry: its folder is read on first use, not here
                if not entry.package:  # bundled files sit in the registering plugin's package
                    entry = entry.in_package(_package_of(pm.get_plugin(plugin)))
            elif not isinstance(entry, PretrainedEntry):
                raise TypeError(f"register() needs a zoo.PretrainedEntry (or zoo.bundled_entry(...)), got {entry!r}")
            elif entry.bundled and not entry.package:
                entry = entry.model_copy(update={"package": _package_of(pm.get_plugin(plugin))})
            spec = PretrainedSpec(entry, plugin)

            def rightful() -> str | None:  # asked only when a second plugin registers the name
                arch = reg.models.get(spec.entry.architecture)
                return arch.plugin if arch else None

            claim(reg.pretrained, "pretrained model", entry.name, spec, plugin, rightful=rightful)

        return register

    def datasets(plugin):
        def register(
            name,
            loader,
            description: str = "",
            levels=None,
            shape=None,
            download=None,
            options=None,
            splits=SPLITS,
            files=(),
            license=None,
            hub_dataset=None,
        ):
            if not callable(loader):
                raise TypeError(f"dataset {name!r}: the loader must be callable, got {loader!r}")
            if download is not None and not callable(download):
                raise TypeError(f"dataset {name!r}: download must be callable, got {download!r}")
            if license is not None and not (isinstance(license, str) and license):
                raise TypeError(f"dataset {name!r}: license must be a Hub licence id such as 'mit', got {license!r}")
            if not isinstance(description, str):
                raise TypeError(f"dataset {name!r}: description must be a string, got {type(description).__name__}")
            if levels is not None and (isinstance(levels, bool) or not isinstance(levels, int) or levels < 2):
                raise TypeError(f"dataset {name!r}: levels must be an integer of at least 2, got {levels!r:.40}")
            if shape is not None:
                ok = isinstance(shape, (tuple, list)) and len(shape) == 3
                if not ok or not all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape):
                    raise TypeError(f"dataset {name!r}: shape must be (channels, height, width), got {shape!r:.60}")
                shape = tuple(shape)
            if hub_dataset is not None and not (isinstance(hub_dataset, str) and hub_dataset.count("/") == 1):
                raise TypeError(f"dataset {name!r}: hub_dataset must be a Hub dataset id ORG/NAME, got {hub_dataset!r}")
            open_ended = False
            if options is None:  # declared nothing: what the loader's signature takes
                options, open_ended = options_of_loader(loader)
            declared = check_declared(name, options)
            bad_splits = [s for s in splits if s not in SPLITS]
            if not splits or bad_splits:
                raise TypeError(f"dataset {name!r}: splits must be some of {', '.join(SPLITS)}, got {splits!r}")
            spec = DatasetSpec(
                name,
                loader,
                plugin,
                description,
                levels,
                shape,
                download,
                declared,
                open_ended,
                tuple(splits),
                tuple(files),
                license,
                hub_dataset,
            )
            claim(reg.datasets, "dataset", name, spec, plugin)

        return register

    def classes(table, kind, base):
        def outer(plugin):
            def register(name, cls):
                if not (isinstance(cls, type) and issubclass(cls, base)):
                    raise TypeError(f"{kind} {name!r}: register() needs a zoo.{base.__name__} subclass, got {cls!r}")
                claim(table, kind, name, ClassSpec(name, cls, plugin), plugin)

            return register

        return outer

    call_each(pm, "zoo_register_models", models, records)
    call_each(pm, "zoo_register_pretrained", pretrained, records)
    call_each(pm, "zoo_register_datasets", datasets, records)
    call_each(pm, "zoo_register_trainers", classes(reg.trainers, "trainer", Trainer), records)
    call_each(pm, "zoo_register_evaluators", classes(reg.evaluators, "evaluator", Evaluator), records)
    return reg


def _contested(records: dict[str, PluginRecord], kind: str, name: str, keeper: str, loser: str, why: str) -> None:
    """Record a name two plugins claim on the plugin that lost it, and warn Python users too."""
    message = f"{kind} {name!r} is also registered by {keeper}, which keeps it ({why}); ignored"
    records[loser].errors.append(message)
    warnings.warn(f"zoo plugin {loser}: {message}", PluginConflictWarning, stacklevel=2)


class PluginConflictWarning(UserWarning):
    """Two plugins registered the same name; ``zoo plugins`` shows which one keeps it."""


_lock = threading.RLock()
_building = threading.local()
_runtime: list[tuple[Any, str]] = []
_current: Registry | None = None


def get_registry() -> Registry:
    """The registry, built on first use from all plugins.

    A plugin that asks for the registry while the registry is being built (at import or in a hook)
    gets a :class:`~zoo.errors.PluginError`; it is recorded against that plugin and the others load.
    """
    global _current
    if getattr(_building, "active", False):
        raise PluginError(
            "a plugin used the zoo registry while plugins are loading (at import or in a hook); "
            "look names up when your code runs, not when zoo loads it"
        )
    with _lock:
        if _current is None:
            _building.active = True
            try:
                with paused_gc():  # importing every plugin: see paused_gc
                    pm, records = build_plugin_manager(list(_runtime))
                    _current = _collect(pm, records)
            finally:
                _building.active = False
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
