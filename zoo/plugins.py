"""The plugin manager: the core's built-in plugin, the ``zoo`` entry-point group, run-time plugins.

A plugin that fails to import (``SystemExit`` included), implements a hook zoo does not have (a
misspelt name), or raises in a hook is recorded with its error and skipped; the others load.

Order, which decides who keeps a contested name: the built-in plugin first, then the entry-point
plugins sorted by distribution name (then entry-point name), then run-time plugins in the order
they were added. The order does not depend on ``sys.path`` or on the order of installation.

Code never runs from the current folder: Python puts it on ``sys.path`` (``''`` for ``python -c``, the
folder itself for ``python -m``), so a downloaded model folder holding ``x.dist-info/entry_points.txt``
and ``mod.py`` would otherwise run ``mod.py`` on ``cd F; python -c "import zoo; zoo.load('.')"``.
Distributions found in the current folder, or in a model folder named to :func:`distrust_folder` before
the registry is built (a folder being loaded), are skipped with one warning naming them.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import importlib.metadata
import os
import site
import time
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pluggy

import zoo.hookspecs as hookspecs  # the module itself: pluggy reads the specs from it

from ._version import DISTRIBUTION, __version__

__all__ = [
    "PluginRecord",
    "UntrustedPluginWarning",
    "build_plugin_manager",
    "call_each",
    "distrust_folder",
    "paused_gc",
    "ENTRY_POINT_GROUP",
    "SLOW_IMPORT_SECONDS",
]

ENTRY_POINT_GROUP = "zoo"
BUILTIN = "zoo-builtin"
# The built-in plugin is named, not imported, as pytest names its own: the manager depends on no plugin,
# and the built-in plugin (which needs the trainer, the evaluator, the datasets) sits above the core it uses.
BUILTIN_MODULE = "zoo.builtin"
SLOW_IMPORT_SECONDS = 1.0  # `zoo plugins` flags a plugin whose import takes longer


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while zoo and its plugins are imported; the collector's state is restored.

    After ``import torch`` the collector tracks about a million objects, and each full collection that
    the allocations of importing modules trigger walks them all: about 0.1 s each on a 2-core CPU, a
    third of what ``import zoo`` and building the registry took (benchmarks/startup.py). Importing
    makes almost no cyclic garbage, so nothing is lost by collecting once afterwards instead.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class PluginRecord:
    """What ``zoo plugins`` shows for one plugin."""

    name: str
    distribution: str = ""
    version: str = ""
    source: str = "entry point"  # "built-in", "entry point" or "run time"
    errors: list[str] = field(default_factory=list)
    import_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.errors


class UntrustedPluginWarning(UserWarning):
    """A plugin distribution found in the current folder or a model folder was not loaded."""


_distrusted: list[Path] = []  # model folders being loaded: a plugin found there is never imported


def distrust_folder(folder: str | Path) -> None:
    """Never load a plugin distribution found in ``folder`` (a model folder about to be loaded)."""
    try:
        resolved = Path(folder).resolve()
    except (OSError, RuntimeError):
        return
    if resolved not in _distrusted:
        _distrusted.append(resolved)


def _untrusted_places() -> set[Path]:
    """The current folder and the distrusted model folders, less the interpreter's own site folders
    (a shell that happens to stand in site-packages keeps its installed plugins)."""
    places = set(_distrusted)
    try:
        places.add(Path(os.getcwd()).resolve())
    except OSError:  # the current folder was removed: nothing is found through it either
        pass
    sites = [*site.getsitepackages(), site.getusersitepackages()] if hasattr(site, "getsitepackages") else []
    return places - {Path(p).resolve() for p in sites}


def _location(ep: importlib.metadata.EntryPoint) -> Path | None:
    """The folder that holds ``ep``'s distribution (the parent of its ``.dist-info``)."""
    if ep.dist is None:
        return None
    try:
        return Path(str(ep.dist.locate_file(""))).resolve()
    except (OSError, RuntimeError, NotImplementedError):
        return None


def _one_line(exc: BaseException) -> str:
    lines = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()
    return lines[-1] if lines else type(exc).__name__


def _entry_points() -> list[importlib.metadata.EntryPoint]:
    """The ``zoo`` entry points, one per name, sorted by distribution name then entry-point name;
    those of a distribution in an untrusted place (see the module's docstring) left out, with a warning."""
    unique: dict[str, importlib.metadata.EntryPoint] = {}
    untrusted = _untrusted_places()
    skipped: dict[str, Path] = {}
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        where = _location(ep)
        if where is not None and where in untrusted:
            skipped.setdefault(_dist_name(ep) or ep.name, where)
            continue
        unique.setdefault(ep.name, ep)  # the same distribution visible twice on sys.path: the first copy
    if skipped:
        names = ", ".join(f"{name!r} in {where}" for name, where in sorted(skipped.items()))
        warnings.warn(
            f"zoo did not load plugin distribution(s) {names}: plugins found in the current folder or in a "
            "model folder are never run; install a plugin (pip install) to use it",
            UntrustedPluginWarning,
            stacklevel=2,
        )
    dist = lambda ep: (ep.dist.metadata["Name"] or "").lower() if ep.dist is not None else ""  # noqa: E731
    return sorted(unique.values(), key=lambda ep: (dist(ep), ep.name))


def _dist_name(ep: importlib.metadata.EntryPoint) -> str:
    return (ep.dist.metadata["Name"] or "") if ep.dist is not None else ""


def build_plugin_manager(runtime: list[tuple[Any, str]]) -> tuple[pluggy.PluginManager, dict[str, PluginRecord]]:
    """A fresh manager with the built-in plugin, every installed entry point and ``runtime``."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    records: dict[str, PluginRecord] = {}

    pm.register(importlib.import_module(BUILTIN_MODULE), name=BUILTIN)
    records[BUILTIN] = PluginRecord(BUILTIN, DISTRIBUTION, __version__, "built-in")

    for ep in _entry_points():
        dist = ep.dist.metadata["Name"] if ep.dist is not None else ""
        version = ep.dist.version if ep.dist is not None else ""
        record = records[ep.name] = PluginRecord(ep.name, dist, version)
        start = time.perf_counter()
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit too: a broken plugin must never end or break the others
            record.errors.append(f"failed to load {ep.value}: {_one_line(exc)}")
        record.import_seconds = time.perf_counter() - start

    for obj, name in runtime:
        records[name] = PluginRecord(name, "", "", "run time")
        try:
            pm.register(obj, name=name)
        except Exception as exc:
            records[name].errors.append(f"failed to register: {_one_line(exc)}")
    _drop_unknown_hooks(pm, records)
    return pm, records


def _drop_unknown_hooks(pm: pluggy.PluginManager, records: dict[str, PluginRecord]) -> None:
    """pluggy's ``check_pending``, one plugin at a time: a plugin implementing a hook zoo does not
    have (``zoo_register_model`` for ``zoo_register_models``) is recorded and taken out."""
    known = ", ".join(sorted(n for n in dir(hookspecs) if n.startswith("zoo_")))
    while True:
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or str(exc.plugin)
            unknown = (
                sorted(n for n in dir(exc.plugin) if n.startswith("zoo_") and not hasattr(hookspecs, n))
                if exc.plugin is not None
                else []
            )
            what = ", ".join(unknown) or _one_line(exc)
            records.setdefault(name, PluginRecord(name)).errors.append(
                f"implements unknown hook(s) {what}; zoo's hooks are {known}"
            )
            pm.unregister(exc.plugin)


def call_each(pm: pluggy.PluginManager, hook_name: str, make_register, records: dict[str, PluginRecord]) -> None:
    """Call ``hook_name`` through pluggy on every plugin separately, in registration order (pluggy
    itself calls the last registered first), so one that raises is recorded, not fatal."""
    hook = getattr(pm.hook, hook_name)
    order = [plugin for _, plugin in pm.list_name_plugin()]
    implementers = [impl.plugin for impl in hook.get_hookimpls()]
    for plugin in sorted(implementers, key=order.index):
        name = pm.get_name(plugin)
        only = pm.subset_hook_caller(hook_name, remove_plugins=[p for p in implementers if p is not plugin])
        try:
            only(register=make_register(name))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            records.setdefault(name, PluginRecord(name)).errors.append(f"{hook_name} raised {_one_line(exc)}")
