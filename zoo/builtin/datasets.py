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

Files live in ``data_dir()/<name>/``; ``zoo download NAME`` fetches them on a machine that is online,
over https only, each file checked against a pinned sha256. Every reader is bounded by what the
format promises (an IDX header's dimensions, CIFAR's record count, the .amat row count), so a
gzip file that inflates past it costs no more memory than the promise before it is refused.
"""

from __future__ import annotations

import gzip
import hashlib
import math
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
from ..options import DatasetOption
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


# The most any dataset file may hold once decompressed; the released files are 79 MB at most.
MAX_FILE_BYTES = 1 << 30
_CHUNK = 1 << 20


def _open(path: Path):
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def _read_bytes(path: Path, what: str, limit: int | None = None) -> bytes:
    """The (decompressed) bytes of ``path``, read in chunks and never more than ``limit`` + 1 of them.

    A gzip file of a few MB can inflate to many GB: reading stops one byte past what the format
    allows (``limit``, else :data:`MAX_FILE_BYTES`), so such a file costs at most that much memory
    and ends in one line.
    """
    limit = MAX_FILE_BYTES if limit is None else limit
    out = bytearray()
    try:
        with _open(path) as f:
            while len(out) <= limit:
                chunk = f.read(min(_CHUNK, limit + 1 - len(out)))
                if not chunk:
                    break
                out += chunk
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: truncated or corrupt gzip file ({exc}); {what}") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc}); {what}") from None
    if len(out) > limit:
        raise DatasetError(f"{path}: holds more than the {limit:,} bytes its format allows here; {what}")
    return bytes(out)


MAX_IDX_DIMS = 8  # dimensions of an IDX file zoo reads (numpy's arrays stop at 64; a header may say 255)


def _read_idx_header(path: Path, hint: str) -> tuple[int, tuple[int, ...]]:
    """(header length, dimensions) of an IDX file, read from its first bytes only."""
    try:
        with _open(path) as f:
            head = f.read(4)
            ndim = head[3] if len(head) == 4 else 0
            dims_bytes = f.read(4 * ndim)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: truncated or corrupt gzip file ({exc}); {hint}") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror or exc}); {hint}") from None
    if len(head) < 4 or head[0] != 0 or head[1] != 0:
        raise DatasetError(f"{path}: not an IDX file (bad magic number); {hint}")
    if head[2] != 0x08:
        raise DatasetError(f"{path}: IDX element type 0x{head[2]:02x} is not unsigned byte (0x08); {hint}")
    if ndim == 0 or ndim > MAX_IDX_DIMS:
        raise DatasetError(
            f"{path}: IDX header declares {ndim} dimensions (1 to {MAX_IDX_DIMS} are read; MNIST's files have 1 or 3); "
            f"{hint}"
        )
    if len(dims_bytes) < 4 * ndim:
        raise DatasetError(f"{path}: truncated IDX header ({ndim} dimensions declared); {hint}")
    return 4 + 4 * ndim, struct.unpack(f">{ndim}I", dims_bytes)


def read_idx(path: Path | str, hint: str = "") -> np.ndarray:
    """Read an unsigned-byte IDX file (MNIST's format), gzip'd or not, checking it is complete.

    The header is read first and bounds the rest: a file that inflates beyond what its dimensions
    promise is refused once one byte more has been read, and dimensions asking for more than
    :data:`MAX_FILE_BYTES` are refused before any data is read.
    """
    path = Path(path)
    head, dims = _read_idx_header(path, hint)
    want = math.prod(dims)
    if want > MAX_FILE_BYTES:
        raise DatasetError(
            f"{path}: IDX header {dims} asks for {want:,} bytes, more than the {MAX_FILE_BYTES:,} a dataset file "
            f"may hold; {hint}"
        )
    data = _read_bytes(path, hint, limit=head + want)
    got = len(data) - head
    if got != want:
        state = "truncated" if got < want else "longer than its header says"
        raise DatasetError(f"{path}: {state}: {got} data bytes, the header {dims} needs {want}; {hint}")
    return np.frombuffer(data, dtype=np.uint8, offset=head).reshape(dims)


def read_amat(path: Path | str, hint: str = "", width: int = 784, rows: int | None = None) -> np.ndarray:
    """Read a binarized-MNIST ``.amat`` file: one image per line, ``width`` values 0/1 separated by spaces.

    With ``rows`` (the images expected) the read stops at four bytes a value: a released line is
    two (a digit and a space).
    """
    path = Path(path)
    buf = np.frombuffer(_read_bytes(path, hint, None if rows is None else 4 * width * rows), dtype=np.uint8)
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
    size = 1 + 3 * 32 * 32
    data = _read_bytes(path, hint, None if records is None else records * size)
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

# Downloads are https only (a plain-http copy can be altered on the way; yann.lecun.com serves
# only http, so it is no mirror here) and each file is checked against its sha256 (TensorFlow
# Datasets pins the same files: binarized MNIST at its http address, the same bytes as https).
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MNIST_FILES = {
    "train-images": "train-images-idx3-ubyte.gz",
    "train-labels": "train-labels-idx1-ubyte.gz",
    "test-images": "t10k-images-idx3-ubyte.gz",
    "test-labels": "t10k-labels-idx1-ubyte.gz",
}
# sha256 of each MNIST file *decompressed*: the mirrors gzip the same IDX bytes differently.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte.gz": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte.gz": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte.gz": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_MAX_BYTES = 32 << 20  # a gzip'd file (the largest is 9.9 MB)
AMAT_URL = "https://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
AMAT_FILES = {s: f"binarized_mnist_{f}.amat" for s, f in (("train", "train"), ("val", "valid"), ("test", "test"))}
AMAT_SHA256 = {
    "binarized_mnist_train.amat": "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d",
    "binarized_mnist_valid.amat": "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2",
    "binarized_mnist_test.amat": "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
}
AMAT_MAX_BYTES = 100 << 20  # the largest is 78.4 MB
CIFAR_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz"
CIFAR_SHA256 = "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"
CIFAR_MAX_BYTES = 200 << 20  # 170 MB
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
        + (
            "; or binarize MNIST instead with --data-option dynamic=true (dynamic=True), which needs only mnist/"
            if name == "binarized-mnist"
            else ""
        )
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
    # the cache is keyed by the folder itself: with root=None it would outlive a change of $ZOO_DATA
    root = str(Path(root).expanduser() if root else data_dir())
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
    rows = read_amat(path, hint, rows=AMAT_ROWS[split])
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


def _content_sha256(path: Path, hint: str) -> str:
    """sha256 of a gzip file's decompressed bytes, streamed (bounded by MAX_FILE_BYTES)."""
    digest, size = hashlib.sha256(), 0
    try:
        with _open(path) as f:
            for chunk in iter(lambda: f.read(_CHUNK), b""):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise DatasetError(f"{path}: inflates past {MAX_FILE_BYTES:,} bytes; {hint}")
                digest.update(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise DatasetError(f"{path}: truncated or corrupt gzip file ({exc}); {hint}") from None
    return digest.hexdigest()


def download_mnist(folder: Path, force: bool = False) -> None:
    hint = _how_to_get("mnist")
    for filename in MNIST_FILES.values():
        if force or not (folder / filename).is_file():
            fetch([m + filename for m in MNIST_MIRRORS], folder / filename, max_bytes=MNIST_MAX_BYTES)
            expected, actual = MNIST_SHA256[filename], _content_sha256(folder / filename, hint)
            if actual != expected:
                (folder / filename).unlink()
                raise DatasetError(
                    f"{folder / filename}: decompressed sha256 {actual}, expected {expected}: an altered or broken "
                    "copy, removed; retry, or fetch the file by hand"
                )
        read_idx(folder / filename, hint)


def download_binarized_mnist(folder: Path, force: bool = False) -> None:
    for split, filename in AMAT_FILES.items():
        if force or not (folder / filename).is_file():
            fetch([AMAT_URL + filename], folder / filename, sha256=AMAT_SHA256[filename], max_bytes=AMAT_MAX_BYTES)
        read_amat(folder / filename, _how_to_get("binarized-mnist"), rows=AMAT_ROWS[split])


def download_cifar10(folder: Path, force: bool = False) -> None:
    if force or not all((folder / f).is_file() for f in CIFAR_FILES):
        archive = folder / "cifar-10-binary.tar.gz"
        fetch([CIFAR_URL], archive, sha256=CIFAR_SHA256, max_bytes=CIFAR_MAX_BYTES)
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                base = Path(member.name).name
                if member.isfile() and (base in CIFAR_FILES or base == "batches.meta.txt"):
                    atomic_write_bytes(folder / base, tar.extractfile(member).read())
        archive.unlink()
    for filename in CIFAR_FILES:
        read_cifar_bin(folder / filename, _how_to_get("cifar10"), CIFAR_RECORDS)


ROOT = DatasetOption(
    "root", Path, None, "folder holding <name>/ (default $ZOO_DATA or ~/.cache/zoo/data)", recorded=False
)
DYNAMIC = DatasetOption(
    "dynamic", bool, False, "binarize MNIST's grey values afresh each epoch instead of reading the static .amat set"
)
SEED = DatasetOption(
    "seed", int, 0, "seed of the dynamic binarization (dynamic=true only)", minimum=0, maximum=2**32 - 1
)

BUILTIN_DATASETS: dict[str, dict[str, Any]] = {
    "digits": dict(
        loader=load_digits,
        options=[],
        levels=17,
        shape=(1, 8, 8),
        description="scikit-learn 8x8 digits, 17 levels, ships with scikit-learn (1257/180/360)",
        license="cc-by-4.0",  # UCI's Optical Recognition of Handwritten Digits
    ),
    "digits-binarized": dict(
        loader=load_digits_binarized,
        options=[],
        levels=2,
        shape=(1, 8, 8),
        description="scikit-learn digits thresholded at >= 8, ships with scikit-learn",
        license="cc-by-4.0",
    ),
    "mnist": dict(
        loader=load_mnist,
        options=[ROOT],
        files=tuple(MNIST_FILES.values()),
        levels=256,
        shape=(1, 28, 28),
        download=download_mnist,
        description="MNIST from the IDX files, 256 levels (50k/10k/10k)",
        license="cc-by-sa-3.0",  # as LeCun, Cortes and Burges publish it
        hub_dataset="ylecun/mnist",
    ),
    "binarized-mnist": dict(
        loader=load_binarized_mnist,
        options=[ROOT, DYNAMIC, SEED],
        files=tuple(AMAT_FILES.values()),
        levels=2,
        shape=(1, 28, 28),
        download=download_binarized_mnist,
        description="static binarized MNIST (Larochelle); dynamic=True resamples",
        license="cc-by-sa-3.0",  # derived from MNIST
        hub_dataset="ylecun/mnist",  # the images it binarizes
    ),
    "cifar10": dict(
        loader=load_cifar10,
        options=[ROOT],
        files=tuple(CIFAR_FILES),
        levels=256,
        shape=(3, 32, 32),
        download=download_cifar10,
        description="CIFAR-10 binary version, 256 levels (45k/5k/10k)",
        hub_dataset="uoft-cs/cifar10",
    ),
}
