"""TensorBoard events of a training run: the per-epoch scalars of ``history.csv``, for ``tensorboard --logdir``.

Written only when ``tensorboard`` is installed (``pip install genzoo[tensorboard]``); without it the
run is the same and ``history.csv``/``curves.png`` remain the way to watch it. The trainer opens
one :class:`EventLog` per ``fit`` on rank 0, writes each epoch's history record as it is made, with
the epoch number as the step, and flushes it at once, so a run that is killed loses nothing the
CSV has.

A resumed run writes a new event file beside the old ones, starting with a purge at the first
epoch it will write again (``SummaryWriter(purge_step=...)``): epochs the killed run logged after
its last checkpoint are hidden by TensorBoard instead of drawn twice. A fresh run purges from
epoch 1, which also hides the events of an earlier run in a folder reused with ``--overwrite``.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from .errors import WriteError
from .folders import EVENTS_DIR

__all__ = ["EVENTS_DIR", "EventLog", "open_event_log", "scalar_tag"]

log = logging.getLogger("zoo.events")


def scalar_tag(key: str) -> str:
    """The TensorBoard tag of a history column: ``train_bits_per_dim`` -> ``bits_per_dim/train``.

    Measure first, split second, so TensorBoard's sections put train and val of one measure side
    by side; other columns (``lr``, ``step``) keep their names.
    """
    split, _, measure = key.partition("_")
    return f"{measure}/{split}" if split in ("train", "val") and measure else key


class EventLog:
    """Per-epoch scalars into one event file; a no-op when ``writer`` is None (disabled or not installed)."""

    def __init__(self, writer=None):
        self.writer = writer

    def write(self, record: dict[str, Any]) -> None:
        """Every finite number of one history record, at step ``record["epoch"]``.

        A failure to write (the disk fills, the folder goes away) is one warning, and the log turns
        itself off: TensorBoard is a view of the run, and history.csv still has every number.
        """
        if self.writer is None:
            return
        epoch = int(record["epoch"])
        try:
            for key, value in record.items():
                number = isinstance(value, (int, float)) and not isinstance(value, bool)
                if key != "epoch" and number and math.isfinite(value):
                    self.writer.add_scalar(scalar_tag(key), value, epoch)
            self.writer.flush()
        except Exception as exc:  # noqa: BLE001 - whatever the writer raises, the run goes on
            self._failed(exc)

    def close(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            try:
                writer.close()
            except Exception as exc:  # noqa: BLE001
                self._failed(exc)

    def _failed(self, exc: BaseException) -> None:
        text = str(exc).strip()
        reason = getattr(exc, "strerror", None) or (text.splitlines()[0][:200] if text else "")
        log.warning(
            "TensorBoard events are off for the rest of this run: writing them failed (%s: %s); "
            "training goes on and history.csv keeps every epoch",
            type(exc).__name__,
            reason,
        )
        self.writer = None


def _after_existing_files(folder: Path) -> None:
    """Wait, at most a second, until a new event file's name sorts after every file already in ``folder``.

    TensorBoard reads a folder's event files in name order, and a name is
    ``events.out.tfevents.<seconds>.<host>.<pid>.<counter>``: a run resumed within the second its killed
    run started, in the same process, could get a counter that sorts first (``.10`` before ``.9``), and its
    purge would then come before the events it is meant to hide.
    """
    import time

    newest = 0
    for path in folder.glob("events.out.tfevents.*") if folder.is_dir() else ():
        stamp = path.name.split(".")[3]
        newest = max(newest, int(stamp)) if stamp.isdigit() else newest
    deadline = time.monotonic() + 1.1  # a file stamped in the future (a skewed clock) costs no more than this
    while int(time.time()) <= newest and time.monotonic() < deadline:
        time.sleep(0.05)


def open_event_log(run_folder: str | Path | None, next_epoch: int, enabled: bool = True) -> EventLog:
    """An :class:`EventLog` writing to ``run_folder/tensorboard``, whose first record is ``next_epoch``.

    A no-op log when ``enabled`` is false, there is no run folder, or tensorboard cannot be
    imported (the optional extra is not installed: that is silent; a broken install is logged).
    """
    if not enabled or run_folder is None:
        return EventLog()
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return EventLog()
    except Exception as exc:  # noqa: BLE001 - a broken tensorboard install must not stop training
        log.warning(
            "TensorBoard events are off: importing torch.utils.tensorboard failed (%s: %s)", type(exc).__name__, exc
        )
        return EventLog()
    folder = Path(run_folder) / EVENTS_DIR
    _after_existing_files(folder)
    try:
        return EventLog(SummaryWriter(str(folder), purge_step=next_epoch))
    except OSError as exc:
        raise WriteError(
            f"{folder}: cannot write TensorBoard events ({exc.strerror or exc}); "
            "make it writable or train with --set tensorboard=false"
        ) from None
