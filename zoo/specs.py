"""What plugins register, as plain types: a leaf module that every other part of zoo may import.

One type per registry table: :class:`ModelSpec` (architectures), :class:`PretrainedSpec` (a
:class:`PretrainedEntry` with the plugin that registered it), :class:`DatasetSpec`, and
:class:`ClassSpec` (trainers and evaluators). Where a bundled model's files live is decided here too, and
:class:`DeferredEntry` is a pretrained entry declared now whose files are read on first use.
"""

from __future__ import annotations

import importlib.resources
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator

from .options import DatasetOption

__all__ = [
    "BUNDLED_DIR",
    "SPLITS",
    "ModelSpec",
    "PretrainedSpec",
    "ClassSpec",
    "DatasetSpec",
    "PretrainedEntry",
    "DeferredEntry",
]

BUNDLED_DIR = "pretrained"  # a bundled model lives in <package>/pretrained/<name>/ (package data)
SPLITS = ("train", "val", "test")


@dataclass
class ModelSpec:
    name: str
    cls: type
    plugin: str
    description: str = ""


@dataclass
class PretrainedSpec:
    """A pretrained entry under the plugin that registered it. ``declared`` is what the plugin registered:
    a :class:`PretrainedEntry`, or a :class:`DeferredEntry` whose files are read the first time
    :attr:`entry` is asked for, so that building the registry reads no model folder."""

    declared: PretrainedEntry | DeferredEntry
    plugin: str

    @property
    def entry(self) -> PretrainedEntry:
        declared = self.declared
        return declared.resolve() if isinstance(declared, DeferredEntry) else declared

    @property
    def repo_id(self) -> str | None:
        """The Hub repo the entry names, known without reading its folder."""
        return self.declared.repo_id


@dataclass
class ClassSpec:
    """A trainer or an evaluator class under its name."""

    name: str
    cls: type
    plugin: str


@dataclass
class DatasetSpec:
    name: str
    loader: Callable[..., Any]
    plugin: str
    description: str = ""
    levels: int | None = None
    shape: tuple[int, int, int] | None = None
    # fetches the files into a root folder: ``download(root, force) -> Path``; ``zoo download NAME``
    download: Callable[..., Path] | None = None
    # what ``--data-option`` takes (declared, or read from the loader's signature); see zoo.options
    options: tuple[DatasetOption, ...] = ()
    open_ended: bool = False  # the loader takes **kwargs and declared nothing: undeclared keys pass
    splits: tuple[str, ...] = SPLITS
    files: tuple[str, ...] = ()  # the file names the loader looks for in data_dir()/<name>/, for `zoo info`
    # the Hub licence id (``cc-by-sa-3.0``) of the data, which a model card inherits; None: not declared
    license: str | None = None
    # the data's id on the Hugging Face Hub (``ylecun/mnist``), which model cards list so the Hub links it
    hub_dataset: str | None = None


class PretrainedEntry(BaseModel):
    """One pretrained model: bundled with the plugin that registers it, and/or on the Hub at ``repo_id``.

    A bundled model is package data of the registering plugin, ``<package>/pretrained/<bundled>/``,
    so it travels inside the plugin's wheel and is found with :mod:`importlib.resources` wherever
    the plugin is installed. ``package`` defaults to the module of the registering plugin. A bundled
    copy is what loads (offline); ``repo_id`` then names where the model is published.
    ``published=False`` marks a Hub repo that holds no weights yet: loading it says so at once,
    with the recipe, instead of asking the Hub. ``dataset_options`` are the options of the data
    the model was trained and evaluated on (``{"dynamic": True}`` for dynamically binarized MNIST).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    architecture: str
    dataset: str
    description: str = ""
    bundled: str | None = None
    repo_id: str | None = None
    revision: str = "main"
    sha256: str | None = None  # of model.safetensors, checked before the weights are used
    config_sha256: str | None = None  # pins a Hub config.json as sha256 pins model.safetensors
    recipe: str | None = None  # the command that reproduces the weights
    package: str | None = None  # import name of the package holding a bundled model
    dataset_options: dict[str, Any] = {}
    published: bool = True  # False: the Hub repo is named, but no weights are there yet

    @model_validator(mode="after")
    def _a_location(self):
        if self.bundled is None and self.repo_id is None:
            raise ValueError(f"pretrained entry {self.name!r} needs bundled= or repo_id= (or both)")
        return self

    def python(self) -> str:
        """The entry as Python to paste into a plugin's ``zoo_register_pretrained`` hook: the fields it was
        given, one a line, each value as ``repr`` writes it (what ``zoo push`` prints)."""
        fields = "".join(f"\n    {key}={value!r}," for key, value in self.model_dump(exclude_unset=True).items())
        return f"zoo.PretrainedEntry({fields}\n)"

    @property
    def available(self) -> bool:
        """Whether weights can be had: a bundled copy, or a published Hub repo."""
        return bool(self.bundled) or self.published

    @property
    def folder(self) -> Path:
        """Where a bundled model's files are (the package need not be imported by the caller)."""
        if not self.bundled:
            raise ValueError(f"pretrained model {self.name!r} is not bundled (it lives at {self.location})")
        if not self.package:
            raise ValueError(f"bundled pretrained model {self.name!r} names no package")
        return self.bundled_folder(self.package, self.bundled)

    @staticmethod
    def bundled_folder(package: str, bundled: str) -> Path:
        """``<package>/pretrained/<bundled>/``, found with :mod:`importlib.resources` (works from a wheel)."""
        return Path(str(importlib.resources.files(package) / BUNDLED_DIR / bundled))

    @property
    def location(self) -> str:
        hub = f"hub: {self.repo_id}@{self.revision}" if self.repo_id else ""
        if hub and not self.published:
            hub += " (not published yet)"
        if self.bundled:
            return f"bundled: {self.folder}" + (f"; {hub}" if hub else "")
        return hub


class DeferredEntry:
    """A pretrained entry as a plugin declares it, whose other fields come from files read on first use.

    ``name``, ``repo_id`` and ``package`` are known when it is declared; :meth:`resolve` calls
    ``read(package)`` once, which returns the full :class:`PretrainedEntry` (``zoo.bundled_entry`` reads
    the architecture, dataset and recipe from the bundled folder), and keeps it. So registering every
    plugin reads no file, and only the entry a command uses is read. Any other attribute is the resolved
    entry's (``deferred.architecture`` reads the folder), so code written for a ``PretrainedEntry`` works.
    """

    def __init__(
        self,
        name: str,
        read: Callable[[str | None], PretrainedEntry],
        *,
        repo_id: str | None = None,
        package: str | None = None,
    ):
        self.name, self.repo_id, self.package = name, repo_id, package
        self._read = read
        self._entry: PretrainedEntry | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "read" if self._entry is not None else "not read yet"
        return f"{type(self).__name__}({self.name!r}, package={self.package!r}, {state})"

    def in_package(self, package: str | None) -> DeferredEntry:
        """The same declaration with its files in ``package`` (the registering plugin's, by default)."""
        return DeferredEntry(self.name, self._read, repo_id=self.repo_id, package=package)

    def resolve(self) -> PretrainedEntry:
        with self._lock:
            if self._entry is None:
                entry = self._read(self.package)
                if entry.name != self.name:
                    raise ValueError(f"deferred pretrained entry {self.name!r} read as {entry.name!r}")
                self._entry = entry
            return self._entry

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("_"):  # never resolve for copy, pickle or a half-built object
            raise AttributeError(attribute)
        return getattr(self.resolve(), attribute)
