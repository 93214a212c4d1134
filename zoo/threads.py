"""How many CPU threads sampling and evaluation use: sized to the work and to the cores that are free.

torch starts one thread per core. When another process is busy on one of them (another run, another
helper), every parallel region waits for the thread whose core is taken: sampling a Row LSTM took
13.4 s at two threads against 0.47 s at one with one core busy. Sampling runs one small step per
pixel, too small to split; evaluation's batches are large enough to use every free core. So
``auto`` gives small work one thread and large work the cores nobody else is using, by the
1-minute load average; ``--threads N`` (``threads=N``) overrides.
"""

from __future__ import annotations

import os

import torch

from .errors import ArgumentError

__all__ = ["SMALL_WORK", "MAX_THREADS", "free_cores", "max_threads", "pick_threads", "use_threads"]

SMALL_WORK = 64 * 28 * 28 * 64  # image values x hidden maps of one step below which splitting costs more than it gains


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


MAX_THREADS = 1024  # the most threads ever asked of torch, whatever the machine (libgomp aborts at 4096 here)


def max_threads() -> int:
    """The most threads ``--threads`` may ask for: 4 per core this process may use, at most MAX_THREADS."""
    return min(MAX_THREADS, 4 * _cores())


def free_cores() -> int:
    """The cores this process may use that no other process is keeping busy (at least one)."""
    cores = _cores()
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):
        return cores
    return max(1, min(cores, cores - int(busy + 0.5) + 1))  # + 1: the load may be this process's own


def pick_threads(requested: int | str | None, work: int, what: str = "threads") -> int:
    """``requested`` (a positive int), or for ``None``/``"auto"`` one thread for small ``work``, else the free cores."""
    if requested not in (None, "auto"):
        if isinstance(requested, str) and requested.isascii() and requested.isdigit() and len(requested) <= 6:
            requested = int(requested)  # isascii: str.isdigit also accepts '²' and '①', which int() refuses
        if isinstance(requested, bool) or not isinstance(requested, int) or requested < 1:
            raise ArgumentError(f"{what} must be a positive integer or auto, got {requested!r:.40}")
        if requested > max_threads():
            raise ArgumentError(
                f"{what}={requested} is more than {max_threads()} (4 per core of this machine, at most "
                f"{MAX_THREADS}); torch's thread pool aborts the process with thousands of threads"
            )
        return requested
    return 1 if work < SMALL_WORK else free_cores()


def use_threads(requested: int | str | None, work: int) -> int:
    """Set torch's intra-op thread count by :func:`pick_threads`; returns it."""
    n = pick_threads(requested, work)
    torch.set_num_threads(n)
    return n
