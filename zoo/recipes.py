"""Recipes as data: the ``zoo train`` command that makes a model, and the ``--set KEY=VALUE`` settings in it.

A :class:`Recipe` is one ``zoo train`` command with its parts named (what it trains, on which data and
options, with which settings). ``Recipe.parse`` reads a recorded command (a pretrained entry's recipe, a
run's ``command``) and ``Recipe.command`` writes one, so the registry's listings, the testing kit, the
run records and the command line read and write recipes one way instead of splitting shell strings
where each needs a part. A leaf module: it knows no registry, so it does not tell model fields from
training fields (``zoo.training.split_settings`` does, given the architecture's config class).
"""

from __future__ import annotations

import json
import shlex
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .errors import ConfigError

__all__ = ["CHAIN", "MAX_COMMAND_CHARS", "Recipe", "check_command_length", "parse_settings"]

#: what joins the commands of a recipe (``zoo train ... && zoo eval ... --save``)
CHAIN = " && "


MAX_COMMAND_CHARS = 1 << 16  # a recorded command: a few hundred characters; shlex slows past a few MB per word


def check_command_length(text: str, what: str = "command") -> None:
    """Refuse a command longer than :data:`MAX_COMMAND_CHARS`: zoo records every command it runs in the run
    folder and reads recipes back with ``shlex``, whose time grows faster than a word's length (a 5 MB word
    ran past 60 s)."""
    if len(text) > MAX_COMMAND_CHARS:
        raise ConfigError(
            f"{what} of {len(text):,} characters, more than {MAX_COMMAND_CHARS:,}; "
            "put long values in a file zoo reads (a model folder, a data set)"
        )


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
        except RecursionError:
            raise ConfigError(f"{option} {key.strip()}: a value nested too deeply to be a setting") from None
        except ValueError as exc:  # an integer of thousands of digits: Python refuses to convert it
            raise ConfigError(f"{option} {key.strip()}: {str(exc).splitlines()[0][:120]}") from None
    return settings


def _word(value: Any) -> str:
    """A setting's value as ``parse_settings`` reads it back: plain text for a string it would not retype."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except json.JSONDecodeError:
            return value
    return json.dumps(value)


class Recipe(BaseModel):
    """One ``zoo train`` command as data: ``Recipe.parse(text).command()`` is the same command.

    ``architecture`` is what the command trains: an architecture, or the pretrained name, Hub repo or
    model folder a fine-tune starts from. ``settings`` are the ``--set`` pairs, typed as the command line
    types them (model-config fields and training fields together, as they are typed). ``then`` keeps the
    commands chained after the first with ``&&`` (``zoo eval OUT --save``, a second training stage) as
    they were written: a recipe records how weights were made, and only its first command is read.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: str
    dataset: str
    dataset_options: dict[str, Any] = Field(default_factory=dict)
    settings: dict[str, Any] = Field(default_factory=dict)
    epochs: int | None = None
    out: str | None = None
    resume: bool = False
    overwrite: bool = False
    final_eval: bool = True
    then: str | None = None

    def words(self) -> list[str]:
        """The first command's words, each ``--set``/``--data-option`` value written to be read back typed."""
        words = ["zoo", "train", self.architecture, "--dataset", self.dataset]
        for key, value in self.settings.items():
            words += ["--set", f"{key}={_word(value)}"]
        for key, value in self.dataset_options.items():
            words += ["--data-option", f"{key}={_word(value)}"]
        if self.epochs is not None:
            words += ["--epochs", str(self.epochs)]
        if self.out is not None:
            words += ["--out", self.out]
        words += ["--resume"] * self.resume + ["--overwrite"] * self.overwrite
        return words + ["--no-final-eval"] * (not self.final_eval)

    def command(self) -> str:
        """The command line, quoted for a POSIX shell, with the chained commands after it."""
        return shlex.join(self.words()) + (CHAIN + self.then if self.then else "")

    @classmethod
    def parse(cls, text: str) -> Recipe:
        """Read a recorded command whose first part is ``zoo train`` (what ``zoo train --help`` takes).

        The chain is split at the first ``&&`` between words, so a quoted value of the first command must
        not hold `` && ``. Anything that is not a ``zoo train`` option is refused with the word it stopped
        at: a recipe that cannot be read back cannot be checked or re-run.
        """
        check_command_length(text, "recipe")
        first, _, then = text.partition(CHAIN.strip())
        try:
            words = shlex.split(first)
        except ValueError as exc:
            raise ConfigError(f"recipe {text[:60]!r}: {exc}") from None
        if words[:2] != ["zoo", "train"] or len(words) < 3 or words[2].startswith("-"):
            raise ConfigError(f"recipe {text[:60]!r}: not a `zoo train ARCH ...` command")
        fields: dict[str, Any] = {"architecture": words[2], "then": then.strip() or None}
        pairs: dict[str, list[str]] = {"--set": [], "--data-option": []}
        flags = {"--resume": ("resume", True), "--overwrite": ("overwrite", True)}
        flags.update({"--final-eval": ("final_eval", True), "--no-final-eval": ("final_eval", False)})
        values = {"--dataset": "dataset", "--out": "out", "--epochs": "epochs"}
        rest = iter(words[3:])
        for word in rest:
            option, eq, inline = word.partition("=") if word.startswith("--") else (word, "", "")
            if option in flags and not eq:
                key, value = flags[option]
                fields[key] = value
                continue
            if option not in pairs and option not in values:
                raise ConfigError(f"recipe {text[:60]!r}: {word!r} is not a `zoo train` option")
            value = inline if eq else next(rest, None)
            if value is None:
                raise ConfigError(f"recipe {text[:60]!r}: {option} needs a value")
            if option in pairs:
                pairs[option].append(value)
            else:
                fields[values[option]] = value
        if "dataset" not in fields:
            raise ConfigError(f"recipe {text[:60]!r}: no --dataset")
        fields["settings"] = parse_settings(pairs["--set"])
        fields["dataset_options"] = parse_settings(pairs["--data-option"], "--data-option")
        try:
            return cls(**fields)
        except ValueError as exc:  # --epochs that is no number
            raise ConfigError(f"recipe {text[:60]!r}: {exc}") from None
