"""Counts, sizes, seeds and devices, checked once where they enter (the command line and the Python API).

Each check returns the value (normalised) or raises one :class:`~zoo.errors.ArgumentError` naming the
argument, what it must be and what it got, before any model is loaded or any work is done: ``--n 0``
would otherwise end in ``range() arg 3 must not be zero``, a huge seed in ``Overflow when unpacking
long long``, ``--device meta`` far away in a forward pass and ``device="cuda"`` on a CPU-only torch
in a raw AssertionError. The command line wraps the same checks as argparse types.
"""

from __future__ import annotations

import re
from typing import Any

import torch

from .errors import ArgumentError

__all__ = ["MAX_SEED", "MAX_REVISION", "count", "seed", "device", "revision"]

MAX_SEED = 2**32 - 1  # NumPy's range; torch takes these too, with room for the offsets zoo adds per rank and split
_DEVICE = re.compile(r"(cpu|cuda|cuda:[0-9]+|auto)")
MAX_REVISION = 256  # characters; a Hub branch or tag name is a git ref name, far shorter in practice
# One component of a git ref name as the Hub accepts them: letters, digits and . _ - + (no leading dot).
_REF_PART = re.compile(r"[A-Za-z0-9_+\-][A-Za-z0-9._+\-]*")


def count(value: Any, what: str, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer in ``minimum..maximum`` (a number of images, a batch size, a limit)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"{what} must be an integer, got {value!r:.40}")
    if value < minimum or maximum is not None and value > maximum:
        span = f"at least {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        raise ArgumentError(f"{what} must be {span}, got {value}")
    return value


def seed(value: Any, what: str = "seed") -> int:
    """A seed: an integer in 0..MAX_SEED."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ArgumentError(f"{what} must be an integer in 0..{MAX_SEED}, got {value!r:.40}")
    if not 0 <= value <= MAX_SEED:
        raise ArgumentError(f"{what} must be an integer in 0..{MAX_SEED}, got {value}")
    return value


def device(value: Any, what: str = "device") -> torch.device:
    """cpu, cuda, cuda:N or auto (CUDA when there is one) as a torch.device that exists here.

    zoo's models, sampling and training run on the CPU and on CUDA; other backends (mps, xpu, meta)
    are refused here rather than failing inside a kernel.
    """
    text = str(value) if isinstance(value, (str, torch.device)) else None
    if text is None or not _DEVICE.fullmatch(text):
        raise ArgumentError(f"{what} must be cpu, cuda, cuda:N or auto, got {value!r:.40}")
    if text == "auto":
        text = "cuda" if torch.cuda.is_available() else "cpu"
    target = torch.device(text)
    if target.type == "cuda":
        if not torch.cuda.is_available():
            raise ArgumentError(f"{what} {text}: no CUDA device is available here (this torch sees none); use cpu")
        if target.index is not None and target.index >= torch.cuda.device_count():
            raise ArgumentError(f"{what} {text}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return target


def revision(value: Any, what: str = "revision") -> str:
    """A Hub revision: a commit (hex), a branch or a tag, as git names refs, and never a path.

    huggingface_hub writes a revision's commit to ``refs/<revision>`` in its cache, so ``../../x`` would
    write outside the cache: every revision is checked here where it enters, before any request is made.
    Slash-separated names (``refs/pr/1``, ``release/v1``) stay inside the cache's ``refs`` folder and are
    kept; ``.``/``..`` components, a leading dot, ``.lock`` endings, backslashes, control characters and
    the characters git forbids (space ``~ ^ : ? * [ @{``) are refused.
    """
    if not isinstance(value, str):
        raise ArgumentError(f"{what} must be a branch, tag or commit name, got {type(value).__name__}")
    shown = ascii(value[:60]) + ("..." if len(value) > 60 else "")
    if not value or len(value) > MAX_REVISION:
        raise ArgumentError(f"{what} must be 1..{MAX_REVISION} characters, got {len(value)}: {shown}")
    parts = value.split("/")
    if not all(_REF_PART.fullmatch(part) and not part.endswith(".lock") for part in parts) or ".." in value:
        raise ArgumentError(
            f"{what} {shown} is not a branch, tag or commit name (letters, digits and . _ - + in "
            "'/'-separated parts, none empty, none starting with a dot, no '..'); a revision is never a path"
        )
    return value
