"""Datasets by name, all with one contract: integer images ``(N, C, H, W)`` with declared ``levels``.

Plugins register datasets through the ``zoo_register_datasets`` hook (the core's own, ``digits``,
``mnist``, ``binarized-mnist``, ``cifar10`` ..., are in :mod:`zoo.builtin.datasets`). This module
holds what every dataset shares: :class:`ImageSet`, :func:`load_dataset` by name, where files live
(``data_dir()/<name>/``: ``$ZOO_DATA`` or ``~/.cache/zoo/data``) and :func:`download`, which
runs a dataset's own ``download`` on a machine that is online.
"""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .errors import DatasetError
from .options import coerce_options, recorded
from .registry import get_registry
from .specs import SPLITS
from .weights import atomic_write_bytes

__all__ = [
    "SPLITS",
    "ImageSet",
    "check_compatible",
    "dataset_options",
    "recorded_options",
    "load_dataset",
    "data_dir",
    "download",
    "fetch",
]

# Sizes of the released files; module constants so tests can shrink them for small fixtures.
MNIST_VAL = 10_000  # the last images of the MNIST training file form the val split
AMAT_ROWS = {"train": 50_000, "val": 10_000, "test": 10_000}
CIFAR_RECORDS = 10_000  # records in each CIFAR-10 batch file
CIFAR_VAL = 5_000  # the last CIFAR-10 training images form the val split

DIGITS_TEST, DIGITS_VAL = 360, 180


@dataclass
class ImageSet:
    """Integer images ``(N, C, H, W)`` (uint8, values in 0..levels-1), optional labels ``(N,)``.

    ``resample(epoch)`` (optional) gives the training images of an epoch, for datasets whose
    training images change every epoch (dynamic binarization); the trainer calls
    :meth:`epoch_images`, which falls back to ``images``.
    """

    images: torch.Tensor
    labels: torch.Tensor | None
    levels: int
    name: str
    split: str
    resample: Callable[[int], torch.Tensor] | None = field(default=None, repr=False)

    def __post_init__(self):
        x = self.images
        if not isinstance(x, torch.Tensor) or x.dtype != torch.uint8 or x.dim() != 4:
            got = f"{x.dtype} {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__
            raise DatasetError(f"{self.name}/{self.split}: images must be a uint8 tensor (N, C, H, W), got {got}")
        if not 2 <= self.levels <= 256:
            raise DatasetError(f"{self.name}/{self.split}: levels must be in 2..256, got {self.levels}")
        if x.numel() and int(x.max()) >= self.levels:
            raise DatasetError(
                f"{self.name}/{self.split}: pixel value {int(x.max())} is out of range for levels={self.levels}"
            )
        if self.labels is not None and tuple(self.labels.shape) != (len(x),):
            raise DatasetError(
                f"{self.name}/{self.split}: labels must have shape ({len(x)},), got {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image."""
        return tuple(self.images.shape[1:])

    @property
    def dims(self) -> int:
        c, h, w = self.shape
        return c * h * w

    def epoch_images(self, epoch: int) -> torch.Tensor:
        """The images to train on in ``epoch`` (the same every epoch unless the set resamples)."""
        return self.images if self.resample is None else self.resample(epoch)

    def subset(self, n: int) -> ImageSet:
        """The first ``n`` images (for quick runs)."""
        resample = None
        if self.resample is not None:
            full = self.resample
            resample = lambda epoch: full(epoch)[:n]  # noqa: E731
        labels = None if self.labels is None else self.labels[:n]
        return ImageSet(self.images[:n], labels, self.levels, self.name, self.split, resample)


def check_compatible(model, data: ImageSet) -> None:
    """A clear error when the data's shape or levels differ from what the model was built for."""
    cfg = model.config
    if tuple(data.shape) != tuple(cfg.shape) or data.levels != cfg.levels:
        raise DatasetError(
            f"{data.name}/{data.split} has images {tuple(data.shape)} with {data.levels} levels, but the "
            f"{model.architecture} model was built for {tuple(cfg.shape)} with {cfg.levels} levels"
        )
    if model.conditional and data.labels is None:
        raise DatasetError(
            f"{data.name}/{data.split} has no labels, but this {model.architecture} is class-conditional"
        )


def data_dir() -> Path:
    """Where dataset files live: ``$ZOO_DATA`` or ``~/.cache/zoo/data``."""
    env = os.environ.get("ZOO_DATA")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "zoo" / "data"


def dataset_options(name: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``options`` read against what dataset ``name`` declares: typed values, or one DatasetError.

    Booleans accept true/false/1/0/yes/no in any case (``dynamic=False`` is False); numbers are
    checked against their bounds; an unknown key is refused at once, naming the dataset's options.
    ``limit`` (keep the first N images) is an option of every dataset. Every door calls this where
    the options enter (``zoo train``, ``zoo eval``, :func:`load_dataset`, recorded runs replayed),
    so a bad option never reaches a loader or a run folder.
    """
    spec = get_registry().dataset(name)
    return coerce_options(name, spec.options, dict(options or {}), spec.open_ended)


def recorded_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options to store with a run or a result: all but those that say only where files are (``root``)."""
    return recorded(get_registry().dataset(name).options, options)


def load_dataset(name: str, split: str = "train", limit: int | None = None, **options: Any) -> ImageSet:
    """Load split ``split`` of the registered dataset ``name``; ``limit`` keeps the first images.

    Other keyword options go to the dataset's loader (``root=``, ``dynamic=``, ``seed=`` ...),
    read by the types the dataset declares (:func:`dataset_options`); an option it does not take
    is an error naming the ones it does.
    """

    spec = get_registry().dataset(name)
    if split not in spec.splits:
        raise DatasetError(f"unknown split {split!r} for dataset {name!r}; use one of {', '.join(spec.splits)}")
    options = dataset_options(name, {**options, "limit": limit})
    limit = options.pop("limit", None)
    data = spec.loader(split, **options)
    if not isinstance(data, ImageSet):
        raise DatasetError(f"dataset {name!r} loader returned {type(data).__name__}, not a zoo.data.ImageSet")
    if limit is not None:
        data = data.subset(limit)
    return data


# -- download -----------------------------------------------------------------------------------


def fetch(urls: list[str], dest: Path) -> None:
    """Write the first of ``urls`` that answers to ``dest`` (atomically); a dataset's ``download`` uses it."""
    errors = []
    for url in urls:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                atomic_write_bytes(dest, response.read())
            return
        except OSError as exc:
            errors.append(f"{url}: {exc}")
    raise DatasetError(f"could not download {dest.name}: " + "; ".join(errors))


def download(name: str, root: str | Path | None = None, force: bool = False) -> Path:
    """Fetch the released files of dataset ``name`` into ``root/<name>/`` (default :func:`data_dir`).

    Any registered dataset whose plugin gives it a ``download`` can be fetched (the built-in
    ``mnist``, ``binarized-mnist`` and ``cifar10`` do). Needs internet access; files already
    present are kept unless ``force``, and each is read back, so a bad download is reported here.
    Returns the dataset folder.
    """
    reg = get_registry()
    spec = reg.dataset(name)
    if spec.download is None:
        known = ", ".join(sorted(n for n, d in reg.datasets.items() if d.download is not None)) or "none"
        raise DatasetError(
            f"no download for dataset {name!r} ({spec.description or 'its plugin gives none'}); downloadable: {known}"
        )
    folder = (Path(root).expanduser() if root else data_dir()) / name
    folder.mkdir(parents=True, exist_ok=True)
    spec.download(folder, force)
    return folder
