"""Datasets by name, all with one contract: integer images ``(N, C, H, W)`` with declared ``levels``.

Plugins register datasets through the ``zoo_register_datasets`` hook (the core's own, ``digits``,
``mnist``, ``binarized-mnist``, ``cifar10`` ..., are in :mod:`zoo.builtin.datasets`). This module
holds what every dataset shares: :class:`ImageSet`, :func:`load_dataset` by name, where files live
(``data_dir()/<name>/``: ``$ZOO_DATA`` or ``~/.cache/zoo/data``) and :func:`download`, which
runs a dataset's own ``download`` on a machine that is online.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
import urllib.error
import urllib.parse
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
from .weights import short_path

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


# Bounded waits of `zoo download` (see :func:`fetch`), settable for slow links and for tests.
FETCH_SETTINGS = (
    ("ZOO_DOWNLOAD_TIMEOUT", 60.0, "seconds"),  # a server that never answers costs this long
    ("ZOO_DOWNLOAD_MIN_RATE", 10_000.0, "bytes per second"),  # measured over each window below
    ("ZOO_DOWNLOAD_RATE_WINDOW", 10.0, "seconds"),
)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _fetch_setting(env: str, default: float, unit: str) -> float:
    raw = os.environ.get(env, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not (0 < value < float("inf")):
        raise DatasetError(f"{env}={raw[:40]!r}: must be a positive number of {unit}")
    return value


def fetch(urls: list[str], dest: Path, sha256: str | None = None, max_bytes: int | None = None) -> None:
    """Stream the first of ``urls`` that answers to ``dest``; a dataset's ``download`` uses it.

    The body goes to a temporary file beside ``dest`` (renamed into place when complete, removed
    otherwise), so memory stays flat whatever the size. Bounded: a deadline
    (``ZOO_DOWNLOAD_TIMEOUT`` seconds, extended by the time the bytes received need at the minimum
    rate), a minimum rate (``ZOO_DOWNLOAD_MIN_RATE`` bytes/s over each ``ZOO_DOWNLOAD_RATE_WINDOW``
    seconds), and ``max_bytes``; with ``sha256`` the file must have that hash. Only ``https://``
    URLs are fetched (plain ``http://`` only from this machine: a local mirror or a test), since
    a plain-text download can be altered on the way. A failed mirror is tried no further; a full
    disk stops at once and says so.
    """
    timeout, min_rate, window = (_fetch_setting(*setting) for setting in FETCH_SETTINGS)
    errors = []
    for url in urls:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
            errors.append(f"{url}: refused (only https:// downloads, or http:// from this machine)")
            continue
        try:
            _stream(url, dest, sha256, max_bytes, timeout, min_rate, window)
            return
        except _FetchFailed as exc:
            errors.append(f"{url}: {exc}")
        except urllib.error.HTTPError as exc:
            errors.append(f"{url}: HTTP {exc.code} {exc.reason}")
        except OSError as exc:  # no connection, a refused or timed-out connect (URLError), a reset
            reason = getattr(exc, "reason", None) or exc.strerror or exc
            errors.append(f"{url}: {reason}")
    raise DatasetError(f"could not download {dest.name}: " + "; ".join(errors))


class _FetchFailed(Exception):
    """One mirror's download failed in a way the next mirror may not: a limit, a bad hash, a short body."""


def _stream(url: str, dest: Path, sha256, max_bytes, timeout: float, min_rate: float, window: float) -> None:
    start = time.monotonic()
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name[:100]}.", suffix=".part")
    except OSError as exc:
        raise _write_failed(dest, exc) from None
    digest, received = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=min(timeout, window)) as response:
            declared = response.headers.get("Content-Length")
            if max_bytes is not None and declared and declared.isdigit() and int(declared) > max_bytes:
                raise _FetchFailed(
                    f"the server announces {int(declared):,} bytes, more than the {max_bytes:,} expected"
                )
            window_start, window_bytes = time.monotonic(), 0
            while True:
                chunk = response.read1(1 << 16)  # what has arrived: read() would wait for all 64 KiB
                now = time.monotonic()
                if chunk:
                    received += len(chunk)
                    window_bytes += len(chunk)
                    if max_bytes is not None and received > max_bytes:
                        raise _FetchFailed(f"more than the {max_bytes:,} bytes expected; stopped")
                    digest.update(chunk)
                    try:
                        out.write(chunk)
                    except OSError as exc:
                        raise _write_failed(dest, exc) from None
                if now - start > timeout + received / min_rate:
                    raise _FetchFailed(f"not complete within the deadline ({now - start:.1f} s; ZOO_DOWNLOAD_TIMEOUT)")
                if now - window_start >= window:
                    rate = window_bytes / (now - window_start)
                    if rate < min_rate:
                        raise _FetchFailed(
                            f"{rate:.0f} bytes/s over {now - window_start:.1f} s, below the minimum of "
                            f"{min_rate:g} (ZOO_DOWNLOAD_MIN_RATE)"
                        )
                    window_start, window_bytes = now, 0
                if not chunk:
                    break
            if declared and declared.isdigit() and received != int(declared):
                raise _FetchFailed(f"the body ended after {received:,} of the {int(declared):,} bytes announced")
            try:
                out.flush()
                os.fsync(out.fileno())
            except OSError as exc:
                raise _write_failed(dest, exc) from None
        if sha256 is not None and digest.hexdigest() != sha256:
            raise _FetchFailed(f"sha256 {digest.hexdigest()}, expected {sha256}: an altered or broken copy")
        os.chmod(tmp, 0o644)
        os.replace(tmp, dest)
    except TimeoutError:
        raise _FetchFailed(f"no data for {min(timeout, window):g} s") from None
    finally:
        Path(tmp).unlink(missing_ok=True)


def _write_failed(dest: Path, exc: OSError) -> DatasetError:
    """A local write failure (a full disk, no permission): no mirror can fix it, so it ends the download."""
    return DatasetError(f"{dest}: cannot write the download ({exc.strerror or exc}); nothing was kept")


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
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # --root or ZOO_DATA naming a file, a read-only folder, a name too long
        where = "--root" if root else "ZOO_DATA"
        raise DatasetError(
            f"{short_path(folder)}: cannot make the data folder ({exc.strerror or exc}); {where} must name a "
            "folder zoo may write to"
        ) from None
    spec.download(folder, force)
    return folder
