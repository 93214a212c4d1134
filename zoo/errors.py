"""Every error zoo raises on bad input: one class per kind, one clear line per message."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "ZooError",
    "ImageError",
    "UnknownNameError",
    "WeightsError",
    "PluginError",
    "DatasetError",
    "HubError",
    "DataOptionError",
    "ArgumentError",
    "ConfigError",
    "ConfigFileError",
    "WriteError",
    "Interrupted",
    "unknown_name",
    "validation_problems",
]


class ZooError(Exception):
    """Base class of zoo's own errors.

    ``exit_code`` is the command line's exit status for it, as Unix tools use them: 2 for a usage error (a
    bad argument, setting or name: what was typed is wrong), 1 for a runtime error (a file, the Hub, the
    data, the disk: the world is not as the command needs it).
    """

    exit_code = 1


class ImageError(ZooError, ValueError):
    """An image tensor breaks the contract: integer (B, C, H, W) with values in 0..levels-1."""


class UnknownNameError(ZooError, LookupError):
    """A model, dataset, trainer or evaluator name that no plugin registered."""

    exit_code = 2

    def __str__(self) -> str:  # LookupError would quote the message like a dict key
        return str(self.args[0]) if self.args else ""


class WeightsError(ZooError, ValueError):
    """A saved model folder is missing a file, has a corrupt file, or does not match its config."""


class PluginError(ZooError):
    """A plugin failed to import or to register."""


class DatasetError(ZooError):
    """A dataset file is missing, truncated or malformed."""


class DataOptionError(DatasetError, ValueError):
    """A dataset option that the dataset does not take, or a value of the wrong type or out of range: what was
    typed is wrong (a usage error), not the data."""

    exit_code = 2


class HubError(ZooError):
    """Downloading from or publishing to the Hugging Face Hub failed."""


class ArgumentError(ZooError, ValueError):
    """An argument of a call has the wrong type or is out of range (a sample count, a temperature)."""

    exit_code = 2


class ConfigError(ZooError, ValueError):
    """A config or a setting is invalid: a model config (``zoo.create``, ``--set``), training settings,
    a ``--set`` pair that is not ``key=value``. The one class for a bad config, whichever door it came
    through; a ValueError too, as pydantic users expect."""

    exit_code = 2


class ConfigFileError(ConfigError, WeightsError):
    """A model folder's config.json holds a config its architecture rejects: a bad config
    (:class:`ConfigError`) found in a saved model (:class:`WeightsError`): the file's fault, a runtime error."""

    exit_code = 1


class WriteError(ZooError, OSError):
    """A file could not be written (disk full, name too long, no permission); what was there is intact.

    An OSError too, so code that catches OSError keeps working; a ZooError, so the command line
    prints it as one line.
    """


class Interrupted(ZooError):
    """Training stopped on SIGTERM or SIGINT after writing a checkpoint; ``exit_code`` is 128 + the signal."""

    def __init__(self, message: str, signum: int | None = None):
        super().__init__(message)
        self.exit_code = 128 + signum if signum else 130


def unknown_name(kind: str, name: str, known: Iterable[str]) -> UnknownNameError:
    """Build the error for an unknown `name`, listing the closest known names."""
    known = sorted(set(known))
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    if not close:
        close = [k for k in known if name.lower() in k.lower() or k.lower() in name.lower()][:3]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else "."
    listing = f" Known: {', '.join(known)}." if known and len(known) <= 20 else ""
    if not known:
        listing = f" No {kind} is registered."
    return UnknownNameError(f"unknown {kind} {name!r}{hint}{listing}")


def validation_problems(exc) -> str:
    """A pydantic ValidationError as one line: ``field: message; other: message``."""
    parts = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e["loc"])
        msg = e["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {msg}" if where else msg)
    return "; ".join(parts)
