"""Dataset options: what a dataset declares it takes, and how a given value is read against that.

A dataset registers its options (:class:`DatasetOption`: name, type, default, description) so that
``--data-option dynamic=False`` is read by the declared type (the boolean False, not the string),
an unknown key or a bad value is refused where it enters, and ``zoo info DATASET`` can list them.
A dataset that declares none gets them from its loader's signature (older plugins keep working).
A leaf module: the registry, :mod:`zoo.data` and the command line all read options through it.
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import DataOptionError

__all__ = [
    "DatasetOption",
    "LIMIT",
    "RESERVED",
    "parse_bool",
    "options_of_loader",
    "check_declared",
    "coerce_options",
    "recorded",
]

TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")
TYPES = (bool, int, float, str, Path)
#: Names a dataset option may not take: they are parameters of ``load_dataset`` and ``evaluate``
#: and would collide with them ("got multiple values for keyword argument"). ``limit`` is the one
#: option every dataset has (see :data:`LIMIT`), read here and applied by ``load_dataset``.
RESERVED = ("name", "split", "progress", "batch_size", "evaluator", "dataset", "model")


@dataclass(frozen=True)
class DatasetOption:
    """One option of a dataset: ``--data-option NAME=VALUE`` on the command line, ``NAME=`` in Python.

    ``type`` is bool, int, float, str or Path; ``minimum``/``maximum`` bound numbers, ``choices``
    lists the allowed values. ``recorded=False`` marks an option that says only where files are
    (``root``): it is not part of what a figure was measured on, so it is not stored with results.
    """

    name: str
    type: type = str
    default: Any = None
    description: str = ""
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    recorded: bool = True

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name.isidentifier():
            raise TypeError(f"dataset option name must be a Python identifier, got {self.name!r}")
        if self.type not in TYPES:
            raise TypeError(f"dataset option {self.name!r}: type must be one of bool, int, float, str, Path")

    def read(self, value: Any, dataset: str) -> Any:
        """``value`` (typed, or a string from the command line) as this option's type, or one DatasetError."""
        where = f"dataset {dataset!r} option {self.name}"
        kind = self.type
        try:
            if kind is bool:
                out = parse_bool(value)
            elif kind is int:
                out = _parse_int(value)
            elif kind is float:
                out = _parse_float(value)
            elif kind is Path:
                if not isinstance(value, (str, Path)) or not str(value):
                    raise ValueError("a path")
                out = Path(value).expanduser()
            else:
                if not isinstance(value, str):
                    raise ValueError("a string")
                out = value
        except ValueError as exc:
            raise DataOptionError(f"{where} must be {exc}, got {value!r:.60}") from None
        if self.minimum is not None and out < self.minimum or self.maximum is not None and out > self.maximum:
            bounds = f"{_num(self.minimum) if self.minimum is not None else ''}..{_num(self.maximum) or ''}"
            raise DataOptionError(f"{where} must be in {bounds}, got {out!r}")
        if self.choices is not None and out not in self.choices:
            raise DataOptionError(f"{where} must be one of {', '.join(map(str, self.choices))}, got {out!r}")
        return out

    def describe(self) -> str:
        """``dynamic=False (bool): resample ...`` for ``zoo info`` and ``zoo list --datasets``."""
        kind = self.type.__name__.lower()
        if self.choices:
            kind = "|".join(map(str, self.choices))
        elif self.minimum is not None or self.maximum is not None:
            lo = _num(self.minimum) if self.minimum is not None else ""
            hi = _num(self.maximum) if self.maximum is not None else ""
            kind += f" {lo}..{hi}"
        return f"{self.name}={self.default} ({kind}){': ' + self.description if self.description else ''}"


LIMIT = DatasetOption(
    "limit",
    int,
    None,
    "keep the first N images of each split (quick runs; replayed wherever the run's data is used)",
    minimum=1,
)


def _num(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


def parse_bool(value: Any) -> bool:
    """True/False, 1/0, or the words true/false/1/0/yes/no in any case; anything else is a ValueError."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
    raise ValueError("true or false (also 1/0, yes/no)")


def _parse_int(value: Any) -> int:
    if isinstance(value, bool):
        raise ValueError("an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("an integer")


def _parse_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("a number")
    try:
        out = (
            float(value.strip()) if isinstance(value, str) else float(value) if isinstance(value, int | float) else None
        )
    except ValueError:
        out = None
    if out is None or not math.isfinite(out):
        raise ValueError("a finite number")
    return out


def check_declared(dataset: str, declared: Sequence[DatasetOption]) -> tuple[DatasetOption, ...]:
    """A plugin's declared options, checked at registration: DatasetOptions with free, distinct names."""
    seen = set()
    for o in declared:
        if not isinstance(o, DatasetOption):
            raise TypeError(f"dataset {dataset!r}: options must be zoo.DatasetOption objects, got {o!r:.60}")
        if o.name in RESERVED or o.name == "limit" or o.name in seen:
            why = "is declared twice" if o.name in seen else "is a parameter of load_dataset/evaluate"
            raise TypeError(f"dataset {dataset!r}: option name {o.name!r} {why}; pick another name")
        seen.add(o.name)
        try:  # `zoo list --datasets` shows every default: one that cannot be shown breaks no other dataset
            str(o.default)
        except Exception as exc:  # noqa: BLE001 - whatever the plugin's object raises
            raise TypeError(
                f"dataset {dataset!r}: the default of option {o.name!r} cannot be shown ({type(exc).__name__})"
            ) from None
    return tuple(declared)


def options_of_loader(loader: Callable[..., Any]) -> tuple[list[DatasetOption], bool]:
    """What a loader without declared options takes, read from its signature; and whether it takes ``**kwargs``.

    Each keyword parameter (but ``split``) becomes an option whose type is that of its default
    (str when the default is None or of another type).
    """
    try:
        params = inspect.signature(loader).parameters
    except (TypeError, ValueError):
        return [], True
    found, open_ended = [], False
    for key, p in list(params.items())[1:] if params else []:
        if p.kind is p.VAR_KEYWORD:
            open_ended = True
        elif p.kind is not p.VAR_POSITIONAL and key not in RESERVED and key != "limit" and key.isidentifier():
            default = None if p.default is p.empty else p.default
            kind = type(default) if type(default) in TYPES else Path if key == "root" else str
            found.append(DatasetOption(key, kind, default, recorded=key != "root"))
    return found, open_ended


def coerce_options(
    dataset: str, declared: Sequence[DatasetOption], given: Mapping[str, Any], open_ended: bool = False
) -> dict[str, Any]:
    """``given`` read against ``declared`` (plus :data:`LIMIT`): typed values, or one DatasetError.

    An unknown key is refused, naming the dataset's options; a reserved name (``split``, ...) says
    which argument to use instead. With ``open_ended`` (a ``**kwargs`` loader) undeclared keys pass,
    their strings read as JSON where they parse, as the command line always read them. A None value
    means the option's default and is dropped.
    """
    table = {o.name: o for o in (*declared, LIMIT)}
    out: dict[str, Any] = {}
    for key, value in given.items():
        if key in RESERVED:
            instead = {"split": "--split / split=", "progress": "progress=", "name": "the dataset name"}.get(
                key, f"{key}="
            )
            raise DataOptionError(f"{key!r} is not an option of dataset {dataset!r}: give it as {instead}")
        if value is None:
            continue
        if key in table:
            out[key] = table[key].read(value, dataset)
        elif open_ended and isinstance(key, str) and key.isidentifier():
            out[key] = _json_or_text(value)
        else:
            names = ", ".join(o.name for o in table.values())
            raise DataOptionError(
                f"dataset {dataset!r} has no option {key!r}; its options: {names} (see zoo info {dataset})"
            )
    return out


def recorded(declared: Sequence[DatasetOption], options: Mapping[str, Any]) -> dict[str, Any]:
    """The options that describe the data (all but ``root``-like ones), JSON-ready, for config files and results."""
    hidden = {o.name for o in declared if not o.recorded}
    return {k: str(v) if isinstance(v, Path) else v for k, v in options.items() if k not in hidden and k != "root"}


def _json_or_text(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value
