"""The ``--set KEY=VALUE`` settings of the command line and of the recipes that pretrained entries record.

A leaf module: the registry's listings, the testing kit and the command line read recipes the same way.
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from .errors import ConfigError

__all__ = ["parse_settings", "recipe_settings", "train_command"]


def parse_settings(pairs: list[str] | None, option: str = "--set", typed: bool = True) -> dict[str, Any]:
    """``["hidden=64", "hidden_sizes=[400,400]", "optimizer=adam"]`` -> typed dict (JSON where it parses).

    ``typed=False`` keeps every value the string it was typed as, for options that are read by a
    declared type instead (``--data-option``: see :mod:`zoo.options`).
    """
    settings: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{option} expects key=value, got {pair!r}")
        if not typed:
            settings[key.strip()] = value
            continue
        try:
            settings[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            settings[key.strip()] = value
    return settings


def recipe_settings(recipe: str, option: str = "--set") -> dict[str, Any]:
    """The ``option KEY=VALUE`` pairs of a recipe's first command (``zoo train ... && zoo eval ...``), typed."""
    words = shlex.split(recipe.split("&&")[0])
    return parse_settings([words[k + 1] for k, w in enumerate(words[:-1]) if w == option], option)


def _word(value: Any) -> str:
    """A setting's value as ``parse_settings`` reads it back: plain text for a string it would not retype."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value)


def train_command(
    source: str,
    dataset: str,
    out: str,
    settings: dict[str, Any],
    dataset_options: dict[str, Any],
    epochs: int | None = None,
) -> str:
    """The ``zoo train`` command line equivalent to a :func:`zoo.train` call, recorded as the run's provenance.

    Each ``--set`` and ``--data-option`` value is written so that :func:`parse_settings` gives it back
    with its type, so the command reproduces the call (``zoo train --help`` has the same fields).
    """
    words = ["zoo", "train", source, "--dataset", dataset]
    for key, value in settings.items():
        words += ["--set", f"{key}={_word(value)}"]
    for key, value in dataset_options.items():
        words += ["--data-option", f"{key}={_word(value)}"]
    if epochs is not None:
        words += ["--epochs", str(epochs)]
    return shlex.join([*words, "--out", out])
