"""Output folders of `zoo create` and `zoo train`: one run at a time, and results never replaced by accident.

:func:`claim_output` takes a lock on the folder for the whole run and refuses a folder that
already holds something, unless the caller asked to resume it or to overwrite it. The lock is an
``fcntl.flock`` on ``OUT/.zoo.lock``: the kernel drops it when the process ends however it ends,
so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Iterator
from pathlib import Path

from .checkpoint import BEST, CHECKPOINT_DIR, LATEST
from .errors import ZooError
from .events import EVENTS_DIR
from .figures import COMPLETIONS_FILE, CURVES_FILE, HISTORY_FILE
from .weights import CARD_FILE, CONFIG_FILE, WEIGHTS_FILE, short_path, write_error

try:
    import fcntl
except ImportError:  # Windows: no advisory locks here; the emptiness check still protects results
    fcntl = None

__all__ = ["claim_output", "LOCK_FILE", "RESULT_FILES"]

LOCK_FILE = ".zoo.lock"
#: what zoo writes into a model or run folder: --overwrite removes exactly these (and the checkpoints)
RESULT_FILES = (
    CONFIG_FILE,
    WEIGHTS_FILE,
    CARD_FILE,
    "samples.png",
    "train_config.json",
    "train_result.json",
    HISTORY_FILE,
    CURVES_FILE,
    COMPLETIONS_FILE,
)
CHECKPOINT_FILES = (LATEST, BEST, "ckpt-*.safetensors", ".*.tmp")
TEMP_FILES = tuple(f".{name}.*.tmp" for name in RESULT_FILES)  # atomic writes killed half-way
EVENT_FILES = ("events.out.tfevents.*",)  # in EVENTS_DIR: what torch's SummaryWriter writes


@contextlib.contextmanager
def claim_output(out, *, overwrite: bool = False, resume: bool = False, lock: bool = True) -> Iterator[Path]:
    """Hold ``out`` for one run: locked against other runs, and empty unless resuming or overwriting.

    ``resume=True`` accepts whatever is there (the trainer checks it). ``overwrite=True`` removes
    the files zoo wrote there before (model, card, samples, run settings, checkpoints), so an
    old card never stays beside new weights; files zoo did not write are left alone.
    ``lock=False`` is for the processes of a distributed run other than rank 0: they neither lock,
    check nor clear (rank 0 does), since rank 0 may already have written its first file.

    A start that fails (an error or an interrupt before the run commits its first checkpoint: a
    fine-tune on data with other levels, a full disk) takes back what it wrote, and the folder if it
    made it, so the corrected command runs as if the failed one had never been typed. A run with a
    checkpoint is kept: ``--resume`` continues it.
    """
    out = Path(out)
    if overwrite and resume:
        raise ZooError("--overwrite and --resume exclude each other: resume the run, or replace it")
    made = not _exists(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ZooError(f"{short_path(out)}: exists and is not a folder") from None
    except OSError as exc:
        raise write_error(out, exc) from None
    if not lock:
        yield out
        return
    fd = _lock(out) if fcntl is not None else None
    claimed = undo = False
    try:
        if not resume:
            _check_empty(out, overwrite)
            claimed = True
        yield out
    except BaseException:
        undo = claimed and not (out / CHECKPOINT_DIR / LATEST).is_file()
        if undo:
            with contextlib.suppress(OSError, ZooError):
                _clear(out)
        raise
    finally:
        if fd is not None:
            _unlock(out, fd)
        if undo and made:
            with contextlib.suppress(OSError):
                out.rmdir()  # only if the failed start left it empty


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


def _lock(out: Path) -> int:
    path = out / LOCK_FILE
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise write_error(path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise ZooError(
                f"{short_path(out)} is in use by another zoo run (process {holder}); "
                "wait for it to end or use another folder"
            ) from None
        # The run before us removes the file as it ends: if it did so after we opened it, our lock is
        # on a file nobody else will open. Lock the file that is at the path now.
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _unlock(out: Path, fd: int) -> None:
    """Remove the lock file while still holding the lock (see :func:`_lock`), then release it."""
    with contextlib.suppress(OSError):
        (out / LOCK_FILE).unlink()
    os.close(fd)


def _check_empty(out: Path, overwrite: bool) -> None:
    entries = sorted(p.name for p in out.iterdir() if p.name != LOCK_FILE)
    if not entries:
        return
    if not overwrite:
        where = short_path(out)
        if (out / CHECKPOINT_DIR / LATEST).is_file():
            raise ZooError(
                f"{where} already holds a training run; resume it (--resume), replace it (--overwrite) "
                "or use a new folder"
            )
        model = [name for name in (CONFIG_FILE, WEIGHTS_FILE) if name in entries]
        if model:
            raise ZooError(
                f"{where} already holds a model ({', '.join(model)}); replace it with --overwrite or use a new folder"
            )
        raise ZooError(
            f"{where} is not empty ({len(entries)} entries, e.g. {entries[0][:60]!r}); "
            "use a new folder, or --overwrite to write into it"
        )
    _clear(out)


def _clear(out: Path) -> None:
    """Remove what zoo writes in a model or run folder (and nothing else), the commit point first."""
    checkpoints = out / CHECKPOINT_DIR
    try:
        (checkpoints / LATEST).unlink(missing_ok=True)  # the commit point goes first
        for folder, patterns in ((checkpoints, CHECKPOINT_FILES), (out / EVENTS_DIR, EVENT_FILES)):
            if folder.is_dir():
                for path in folder.iterdir():
                    if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in patterns):
                        path.unlink()
                with contextlib.suppress(OSError):
                    folder.rmdir()  # only if nothing else is in it
        for name in RESULT_FILES:
            (out / name).unlink(missing_ok=True)
        for path in out.iterdir():
            if any(fnmatch.fnmatchcase(path.name, pattern) for pattern in TEMP_FILES):
                path.unlink()
    except OSError as exc:
        raise write_error(out, exc) from None
