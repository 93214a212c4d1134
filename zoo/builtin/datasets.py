"""The core's datasets, registered by the built-in plugin.

``digits``
    scikit-learn's bundled 8x8 handwritten digits: 1,797 images, 1 channel, 17 grey levels
    (0..16), with labels. Works offline. The split is fixed: the images are permuted with
    ``numpy.random.RandomState(0).permutation(1797)`` (a frozen NumPy stream), then the
    first 360 are **test**, the next 180 **val** and the remaining 1,257 **train**.
``digits-binarized``
    The same images and split, with level ``>= 8`` mapped to 1 and the rest to 0 (levels = 2).
``mnist``
    MNIST from the released IDX files (gzip'd), 28x28x1, 256 levels, with labels. The last
    10,000 images of the training file are **val**, the first 50,000 **train**; the 10,000
    t10k images are **test**.
``binarized-mnist``
    The static binarization of Larochelle & Murray (2011), read from the released ``.amat``
    files (50,000 train / 10,000 valid / 10,000 test, levels = 2), the set the PixelRNN and
    VAE papers report on. ``dynamic=True`` instead binarizes MNIST's grey values: each
    training epoch draws fresh pixels ``~ Bernoulli(grey / 255)`` from ``(seed, epoch)``, while
    val and test are one fixed draw from ``(seed, split)``. Numbers from the two variants are
    not interchangeable; say which one you used.
``cifar10``
    CIFAR-10 from the released *binary* version (``data_batch_1..5.bin``, ``test_batch.bin``,
    records of 1 label byte + 3,072 pixel bytes, R then G then B planes), 32x32x3, 256 levels,
    with labels. The last 5,000 training images are **val**, the first 45,000 **train**.

Files live in ``data_dir()/<name>/``; ``zoo download NAME`` fetches them on a machine that is online.
"""

from __future__ import annotations

import gzip
import struct
import tarfile
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..data import ImageSet, data_dir, fetch
from ..errors import DatasetError
from ..weights import atomic_write_bytes

__all__ = ["BUILTIN_DATASETS", "read_idx", "read_amat", "read_cifar_bin"]

# Sizes of the released files; module constants so tests can shrink them for small fixtures.
MNIST_VAL = 10_000  # the last images of the MNIST training file form the val split
AMAT_ROWS = {"train": 50_000, "val": 10_000, "test": 10_000}
CIFAR_RECORDS = 10_000  # records in each CIFAR-10 batch file
CIFAR_VAL = 5_000  # the last CIFAR-10 training images form the val split

DIGITS_TEST, DIGITS_VAL = 360, 180


# -- digits (scikit-learn, bundled) --------------------------------------------------------------


def _digits_table() -> np.ndarray:
    """scikit-learn's ``datasets/data/digits.csv.gz`` (64 pixels + label per row).

    Read straight from the installed package, without importing sklearn (1-2 s); through
    ``sklearn.datasets.load_digits`` if the file has moved.
    """
    import importlib.util

    spec = importlib.util.find_spec("sklearn")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            with gzip.open(path, "rt") as f:
                return np.loadtxt(f, delimiter=",", dtype=np.int64)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return np.concatenate([bunch.data.astype(np.int64), bunch.target[:, None]], axis=1)


@lru_cache(maxsize=1)
def _digits_arrays() -> tuple[torch.Tensor, torch.Tensor, dict[str, np.ndarray]]:
    table = _digits_table()
    if table.shape != (1797, 65):
        raise DatasetError(f"scikit-learn's digits table has shape {table.shape}, expected (1797, 65)")
    images = torch.from_numpy(table[:, :64].astype(np.uint8)).reshape(-1, 1, 8, 8)  # 0..16
    labels = torch.from_numpy(table[:, 64].copy())
    order = np.random.RandomState(0).permutation(len(images))
    parts = {
        "test": order[:DIGITS_TEST],
        "val": order[DIGITS_TEST : DIGITS_TEST + DIGITS_VAL],
        "train": order[DIGITS_TEST + DIGITS_VAL :],
    }
    return images, labels, parts


def load_digits(split: str = "train") -> ImageSet:
    """scikit-learn's 8x8 digits, 17 levels; the fixed split of the module docstring."""
    images, labels, parts = _digits_arrays()
    idx = torch.from_numpy(np.sort(parts[split]))
    return ImageSet(images[idx].clone(), labels[idx].clone(), 17, "digits", split)


def load_digits_binarized(split: str = "train") -> ImageSet:
    """The digits split with level >= 8 (of 0..16) as 1, else 0."""
    d = load_digits(split)
    return ImageSet((d.images >= 8).to(torch.uint8), d.labels, 2, "digits-binarized", split)


# -- file readers -------------------------------------------------------------------------------


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: truncated or corrupt gzip file ({exc}); {what}") from None


def read_idx(path: Path | str, hint: str = "") -> np.ndarray:
    """Read an unsigned-byte IDX file (MNIST's format), gzip'd or not, checking it is complete."""
    path = Path(path)
    data = _read_bytes(path, hint)
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number); {hint}")
    if data[2] != 0x08:
        raise DatasetError(f"{path}: IDX element type 0x{data[2]:02x} is not unsigned byte (0x08); {hint}")
    ndim = data[3]
    head = 4 + 4 * ndim
    if len(data) < head:
        raise DatasetError(f"{path}: truncated IDX header; {hint}")
    dims = struct.unpack(f">{ndim}I", data[4:head])
    want = int(np.prod(dims)) if dims else 1
    got = len(data) - head
    if got != want:
        state = "truncated" if got < want else "longer than its header says"
        raise DatasetError(f"{path}: {state}: {got} data bytes, the header {dims} needs {want}; {hint}")
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(dims)


def read_amat(path: Path | str, hint: str = "", width: int = 784) -> np.ndarray:
    """Read a binarized-MNIST ``.amat`` file: one image per line, ``width`` values 0/1 separated by spaces."""
    path = Path(path)
    buf = np.frombuffer(_read_bytes(path, hint), dtype=np.uint8)
    digit = (buf == ord("0")) | (buf == ord("1"))
    space = np.isin(buf, np.frombuffer(b" \t\r\n", dtype=np.uint8))
    if not np.all(digit | space):
        bad = int(np.argmax(~(digit | space)))
        raise DatasetError(
            f"{path}: unexpected character {chr(buf[bad])!r} at byte {bad} (values must be 0 or 1); {hint}"
        )
    # each value must be one character: a digit followed by another digit would be e.g. "10"
    if np.any(digit[1:] & digit[:-1]):
        raise DatasetError(f"{path}: values must be single 0/1 characters separated by spaces; {hint}")
    lines = [ln for ln in bytes(buf).split(b"\n") if ln.strip()]
    counts = {len(ln.split()) for ln in lines}
    if counts - {width}:
        raise DatasetError(
            f"{path}: every line must have {width} values, found lines with {sorted(counts - {width})} "
            f"(truncated file?); {hint}"
        )
    return (buf[digit] - ord("0")).reshape(len(lines), width)


def read_cifar_bin(path: Path | str, hint: str = "", records: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Read a CIFAR-10 binary batch: records of 1 label byte + 3,072 pixel bytes (R, G, B planes of 32x32)."""
    path = Path(path)
    data = _read_bytes(path, hint)
    size = 1 + 3 * 32 * 32
    if len(data) % size:
        raise DatasetError(
            f"{path}: {len(data)} bytes is not a whole number of {size}-byte records (truncated?); {hint}"
        )
    n = len(data) // size
    if records is not None and n != records:
        raise DatasetError(f"{path}: {n} records, expected {records} (truncated?); {hint}")
    arr = np.frombuffer(data, dtype=np.uint8).reshape(n, size)
    labels = arr[:, 0].astype(np.int64)
    if labels.size and labels.max() > 9:
        raise DatasetError(f"{path}: label {labels.max()} is not a CIFAR-10 class (0..9); {hint}")
    return arr[:, 1:].reshape(n, 3, 32, 32), labels


# -- file-based datasets ------------------------------------------------------------------------

MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
MNIST_FILES = {
    "train-images": "train-images-idx3-ubyte.gz",
    "train-labels": "train-labels-idx1-ubyte.gz",
    "test-images": "t10k-images-idx3-ubyte.gz",
    "test-labels": "t10k-labels-idx1-ubyte.gz",
}
AMAT_URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
AMAT_FILES = {s: f"binarized_mnist_{f}.amat" for s, f in (("train", "train"), ("val", "valid"), ("test", "test"))}
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR_FILES = [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]


def _how_to_get(name: str) -> str:
    source = {
        "mnist": MNIST_MIRRORS[0],
        "binarized-mnist": AMAT_URL,
        "cifar10": CIFAR_URL + " (the binary version)",
    }[name]
    return (
        f"get it with `zoo download {name}` (or zoo.data.download({name!r})) on a machine that is online "
        f"(source: {source}), or set ZOO_DATA to the folder that holds {name}/"
    )


def _find(root: Path | None, name: str, filename: str) -> Path:
    folder = (Path(root).expanduser() if root else data_dir()) / name
    candidates = [folder / filename]
    if filename.endswith(".gz"):
        candidates.append(folder / filename[:-3])  # accept an unpacked copy too
    for c in candidates:
        if c.is_file():
            return c
    raise DatasetError(f"{name}: file {filename} not found, expected at {candidates[0]}; {_how_to_get(name)}")


def _split_train_val(arr, split: str, n_val: int):
    if len(arr) <= n_val:
        raise DatasetError(f"training file has {len(arr)} images, fewer than the {n_val} of the val split")
    return arr[:-n_val] if split == "train" else arr[-n_val:]


@lru_cache(maxsize=4)
def _mnist_arrays(root: str | None, part: str) -> tuple[np.ndarray, np.ndarray]:
    root_path = Path(root) if root else None
    hint = _how_to_get("mnist")
    images = read_idx(_find(root_path, "mnist", MNIST_FILES[f"{part}-images"]), hint)
    labels = read_idx(_find(root_path, "mnist", MNIST_FILES[f"{part}-labels"]), hint)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DatasetError(f"mnist {part} images have shape {images.shape}, expected (N, 28, 28); {hint}")
    if labels.shape != (len(images),):
        raise DatasetError(f"mnist {part} labels have shape {labels.shape}, expected ({len(images)},); {hint}")
    return images, labels


def _mnist_split(split: str, root) -> tuple[np.ndarray, np.ndarray]:
    root = str(root) if root else None
    if split == "test":
        return _mnist_arrays(root, "test")
    images, labels = _mnist_arrays(root, "train")
    return _split_train_val(images, split, MNIST_VAL), _split_train_val(labels, split, MNIST_VAL)


def load_mnist(split: str = "train", root: str | Path | None = None) -> ImageSet:
    """MNIST, 28x28x1, 256 levels, with labels."""
    images, labels = _mnist_split(split, root)
    return ImageSet(
        torch.from_numpy(images.copy()).unsqueeze(1),
        torch.from_numpy(labels.astype(np.int64)),
        256,
        "mnist",
        split,
    )


def _bernoulli(grey: torch.Tensor, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(grey.shape, generator=g) * 255 < grey.float()).to(torch.uint8)


def load_binarized_mnist(
    split: str = "train", root: str | Path | None = None, dynamic: bool = False, seed: int = 0
) -> ImageSet:
    """Binarized MNIST: static (the released .amat files) or ``dynamic=True`` (Bernoulli draws from MNIST)."""
    if dynamic:
        grey = torch.from_numpy(_mnist_split(split, root)[0].copy()).unsqueeze(1)
        tag = {"train": 0, "val": 1, "test": 2}[split]
        if split == "train":
            resample = lambda epoch: _bernoulli(grey, seed * 1_000_003 + 7919 * (epoch + 1))  # noqa: E731
            return ImageSet(resample(0), None, 2, "binarized-mnist", split, resample)
        return ImageSet(_bernoulli(grey, seed * 1_000_003 + tag), None, 2, "binarized-mnist", split)
    if seed != 0:
        raise DatasetError("binarized-mnist: seed= only applies with dynamic=True (the static set is fixed)")
    hint = _how_to_get("binarized-mnist")
    path = _find(Path(root) if root else None, "binarized-mnist", AMAT_FILES[split])
    rows = read_amat(path, hint)
    if len(rows) != AMAT_ROWS[split]:
        raise DatasetError(f"{path}: {len(rows)} images, expected {AMAT_ROWS[split]} (truncated?); {hint}")
    return ImageSet(torch.from_numpy(rows.reshape(-1, 1, 28, 28).copy()), None, 2, "binarized-mnist", split)


def load_cifar10(split: str = "train", root: str | Path | None = None) -> ImageSet:
    """CIFAR-10 binary version, 32x32x3, 256 levels, with labels."""
    hint = _how_to_get("cifar10")
    root = Path(root) if root else None
    files = ["test_batch.bin"] if split == "test" else CIFAR_FILES[:5]
    parts = [read_cifar_bin(_find(root, "cifar10", f), hint, CIFAR_RECORDS) for f in files]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    if split != "test":
        images, labels = _split_train_val(images, split, CIFAR_VAL), _split_train_val(labels, split, CIFAR_VAL)
    return ImageSet(torch.from_numpy(images.copy()), torch.from_numpy(labels), 256, "cifar10", split)


# -- download: each file is read back with its reader, so a bad download is reported at once ------


def download_mnist(folder: Path, force: bool = False) -> None:
    for filename in MNIST_FILES.values():
        if force or not (folder / filename).is_file():
            fetch([m + filename for m in MNIST_MIRRORS], folder / filename)
        read_idx(folder / filename, _how_to_get("mnist"))


def download_binarized_mnist(folder: Path, force: bool = False) -> None:
    for filename in AMAT_FILES.values():
        if force or not (folder / filename).is_file():
            fetch([AMAT_URL + filename], folder / filename)
        read_amat(folder / filename, _how_to_get("binarized-mnist"))


def download_cifar10(folder: Path, force: bool = False) -> None:
    if force or not all((folder / f).is_file() for f in CIFAR_FILES):
        archive = folder / "cifar-10-binary.tar.gz"
        fetch([CIFAR_URL], archive)
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                base = Path(member.name).name
                if member.isfile() and (base in CIFAR_FILES or base == "batches.meta.txt"):
                    atomic_write_bytes(folder / base, tar.extractfile(member).read())
        archive.unlink()
    for filename in CIFAR_FILES:
        read_cifar_bin(folder / filename, _how_to_get("cifar10"), CIFAR_RECORDS)


BUILTIN_DATASETS: dict[str, dict[str, Any]] = {
    "digits": dict(
        loader=load_digits,
        levels=17,
        shape=(1, 8, 8),
        description="scikit-learn 8x8 digits, 17 levels, ships with scikit-learn (1257/180/360)",
        license="cc-by-4.0",  # UCI's Optical Recognition of Handwritten Digits
    ),
    "digits-binarized": dict(
        loader=load_digits_binarized,
        levels=2,
        shape=(1, 8, 8),
        description="scikit-learn digits thresholded at >= 8, ships with scikit-learn",
        license="cc-by-4.0",
    ),
    "mnist": dict(
        loader=load_mnist,
        levels=256,
        shape=(1, 28, 28),
        download=download_mnist,
        description="MNIST from the IDX files, 256 levels (50k/10k/10k)",
        license="cc-by-sa-3.0",  # as LeCun, Cortes and Burges publish it
    ),
    "binarized-mnist": dict(
        loader=load_binarized_mnist,
        levels=2,
        shape=(1, 28, 28),
        download=download_binarized_mnist,
        description="static binarized MNIST (Larochelle); dynamic=True resamples",
        license="cc-by-sa-3.0",  # derived from MNIST
    ),
    "cifar10": dict(
        loader=load_cifar10,
        levels=256,
        shape=(3, 32, 32),
        download=download_cifar10,
        description="CIFAR-10 binary version, 256 levels (45k/5k/10k)",
    ),
}
