"""The plugin manager: the core's built-in plugin, the ``zoo`` entry-point group, run-time plugins.

A plugin that fails to import is recorded with its error and skipped; the others load.
"""

from __future__ import annotations

import importlib.metadata
import traceback
from dataclasses import dataclass, field
from typing import Any

import pluggy

from . import hookspecs

__all__ = ["PluginRecord", "build_plugin_manager", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP = "zoo"
BUILTIN = "zoo-builtin"


@dataclass
class PluginRecord:
    """What ``zoo plugins`` shows for one plugin."""

    name: str
    distribution: str = ""
    version: str = ""
    source: str = "entry point"  # "built-in", "entry point" or "run time"
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _one_line(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]


def build_plugin_manager(runtime: list[tuple[Any, str]]) -> tuple[pluggy.PluginManager, dict[str, PluginRecord]]:
    """A fresh manager with the built-in plugin, every installed entry point and ``runtime``."""
    from . import builtin

    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    records: dict[str, PluginRecord] = {}

    import zoo

    pm.register(builtin, name=BUILTIN)
    records[BUILTIN] = PluginRecord(BUILTIN, "zoo", getattr(zoo, "__version__", ""), "built-in")

    seen: set[str] = set()
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in seen:  # the same distribution visible twice on sys.path
            continue
        seen.add(ep.name)
        dist = ep.dist.metadata["Name"] if ep.dist is not None else ""
        version = ep.dist.version if ep.dist is not None else ""
        record = records[ep.name] = PluginRecord(ep.name, dist, version)
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as exc:  # a broken plugin must never break the others
            record.errors.append(f"failed to load {ep.value}: {_one_line(exc)}")

    for obj, name in runtime:
        records[name] = PluginRecord(name, "", "", "run time")
        try:
            pm.register(obj, name=name)
        except Exception as exc:
            records[name].errors.append(f"failed to register: {_one_line(exc)}")
    return pm, records


def call_each(pm: pluggy.PluginManager, hook_name: str, make_register, records: dict[str, PluginRecord]) -> None:
    """Call ``hook_name`` on every plugin separately, so one that raises is recorded, not fatal."""
    hook = getattr(pm.hook, hook_name)
    for impl in hook.get_hookimpls():  # registration order: built-in first
        name = impl.plugin_name
        try:
            impl.function(register=make_register(name))
        except Exception as exc:
            records.setdefault(name, PluginRecord(name)).errors.append(f"{hook_name} raised {_one_line(exc)}")
