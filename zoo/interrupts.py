"""SIGTERM and SIGINT during training: finish the step, write a checkpoint, stop with one line.

Shared machines pre-empt jobs with SIGTERM (a scheduler, ``kill``, ``docker stop``) and people press
Ctrl-C. Either one, while :class:`StopOnSignals` is active, only sets a flag; the trainer asks
:meth:`StopOnSignals.requested` after every optimizer step, writes a checkpoint at that exact position
(mid-epoch too, so a run stopped before its first epoch ends still resumes) and raises
:class:`~zoo.errors.Interrupted`. A second Ctrl-C while it is stopping interrupts at once.
"""

from __future__ import annotations

import signal
import threading

import torch

from .distributed import all_gather

__all__ = ["StopOnSignals", "SIGNALS"]

SIGNALS = (signal.SIGTERM, signal.SIGINT)


class StopOnSignals:
    """A context in which SIGTERM/SIGINT ask the run to stop at the next step instead of killing it.

    Handlers can be installed only in the main thread; elsewhere the signals keep their usual
    effect and :meth:`requested` is always False.
    """

    def __init__(self):
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopOnSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def _handle(self, signum, frame) -> None:
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt  # asked twice: stop now, without the checkpoint
        self.received = signum

    def requested(self, world: int = 1, device: torch.device | None = None) -> bool:
        """Whether any process of the run got a signal (all of them stop at the same step)."""
        flag = self.received is not None
        if world > 1:
            flags = all_gather(torch.tensor([float(flag)]), world, device or torch.device("cpu"))
            flag = any(bool(f.item()) for f in flags)
        return flag

    @property
    def name(self) -> str:
        return signal.Signals(self.received).name if self.received is not None else "a signal on another process"
