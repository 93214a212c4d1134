"""The contract that an untrusted model folder costs nothing before it is refused.

A folder from anyone (a Hub repo, a download, an attachment) holds a config.json of a few hundred
bytes that can ask for a model of hundreds of GB. :func:`zoo.load_folder` must size that model on
the meta device and compare it with the safetensors header before it allocates a single weight;
:func:`check_hostile_folder` checks that for one architecture by watching every tensor torch makes
while it loads such a folder.
"""

from __future__ import annotations

import contextlib
import json
import math
import signal
import tempfile
import threading
import time
import tracemalloc
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import torch
from pydantic import ValidationError
from torch.utils._python_dispatch import TorchDispatchMode

from ..errors import WeightsError
from ..registry import get_registry
from ..weights import CONFIG_FILE, FORMAT_VERSION, save_pretrained

__all__ = ["huge_config", "check_hostile_folder", "HOSTILE_BUDGET_BYTES", "HOSTILE_BUDGET_SECONDS"]

HOSTILE_BUDGET_BYTES = 16 << 20  # the most a refusal may allocate: one tensor, or Python objects at their peak
HOSTILE_BUDGET_SECONDS = 10.0  # generous for a loaded 2-core machine; the refusal takes well under a second
UNBOUNDED = 10**9  # what huge_config tries for an integer setting without an upper bound


def _upper_bound(info) -> int | None:
    for item in info.metadata:
        if getattr(item, "le", None) is not None:
            return int(item.le)
        if getattr(item, "lt", None) is not None:
            return int(item.lt) - 1
    return None


def _is_int(annotation) -> bool:
    """``int``, ``int | None`` or ``Annotated[int, ...]``: a setting a hostile config can make huge."""
    if get_origin(annotation) is Annotated:
        return _is_int(get_args(annotation)[0])
    if annotation is int:
        return True
    args = get_args(annotation)
    return get_origin(annotation) in (Union, UnionType) and int in args and set(args) <= {int, type(None)}


def huge_config(arch: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The largest valid config of ``arch`` found by raising each integer setting as far as it validates.

    Starting from ``start`` (default: the config's defaults), each integer field is raised to its upper
    bound, or to ``UNBOUNDED`` (10**9) when it has none, and each list of integers has every item raised
    to 10**9, then 2**16, then 2**12; a value is kept where the config still validates. A field with no
    upper bound is the bug this finds: a constructor that loops over it or draws tensors of its size
    (MADE's ``masks``, before it was bounded) spends minutes and gigabytes before the header is checked.
    """
    config_class = get_registry().model(arch).cls.config_class
    config = config_class(**(start or {})).model_dump(mode="json")
    for name, info in config_class.model_fields.items():
        candidates: list[Any] = []
        if _is_int(info.annotation):
            bound = _upper_bound(info)
            candidates = [bound if bound is not None else UNBOUNDED]
        elif get_origin(info.annotation) is list and _is_int(get_args(info.annotation)[0]):
            length = max(len(config.get(name) or []), 1)
            candidates = [[UNBOUNDED] * length, [2**16] * length, [2**12] * length]
        for value in candidates:
            try:
                config_class.model_validate({**config, name: value})
            except ValidationError:
                continue
            config[name] = value
            break
    return config


class _TensorWatch(TorchDispatchMode):
    """Records the largest tensor made off the meta device; refuses one over budget before it is allocated."""

    def __init__(self, budget: int):
        super().__init__()
        self.budget = budget
        self.largest = 0
        self.largest_op = ""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        device = kwargs.get("device")
        size = args[0] if args and isinstance(args[0], (list, tuple)) else None
        if size is not None and all(isinstance(n, int) for n in size) and str(device) != "meta":
            dtype = kwargs.get("dtype") or torch.get_default_dtype()
            planned = math.prod(size) * dtype.itemsize
            self._record(planned, func)
        out = func(*args, **kwargs)
        for t in out if isinstance(out, (list, tuple)) else (out,):
            if isinstance(t, torch.Tensor) and t.device.type != "meta":
                self._record(t.numel() * t.element_size(), func)
        return out

    def _record(self, nbytes: int, func) -> None:
        if nbytes > self.largest:
            self.largest, self.largest_op = nbytes, str(func)
        if nbytes > self.budget:
            raise AssertionError(f"a tensor of {nbytes:,} bytes ({func}) while loading a hostile folder")


@contextlib.contextmanager
def _deadline(seconds: float, what: str):
    """An AssertionError once ``seconds`` have passed (SIGALRM, in the main thread where there is one), so a
    constructor that loops over a huge setting is a finding, not a hung test."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expire(signum, frame):
        raise AssertionError(f"{what} took more than {seconds:.0f} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds * 3)  # 3x: the budget is asserted precisely afterwards
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _check_loads(arch: str, folder: Path, model: torch.nn.Module) -> None:
    """The honest folder loads, with the same tensors: a model refused on every folder would pass the check."""
    from ..weights import load_folder

    loaded = load_folder(folder)
    want = model.state_dict()
    assert loaded.state_dict().keys() == want.keys(), f"{arch}: the small folder loads other tensors"
    for name, value in loaded.state_dict().items():
        assert torch.equal(value, want[name]), f"{arch}: tensor {name} changed on reload"


def _check_overflowing_cast(arch: str, model: torch.nn.Module) -> None:
    """Weights of 1e6 are finite in float32 and infinite in float16: loading them with ``dtype=float16``
    must be refused in one line, never give NaN likelihoods."""
    from ..weights import load_folder

    with torch.no_grad():
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.fill_(1e6)
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(model, Path(tmp))
        try:
            load_folder(Path(tmp), dtype=torch.float16)
        except WeightsError as exc:
            assert "\n" not in str(exc), f"{arch}: the refusal of an overflowing cast is not one line"
            return
    raise AssertionError(f"{arch}: weights of 1e6 loaded as float16 (infinite) without a word")


def _refusal(arch: str, folder: Path, watch: _TensorWatch, claimed: int) -> str:
    from ..weights import load_folder

    try:
        with watch:
            load_folder(folder)
    except WeightsError as exc:
        return str(exc)
    raise AssertionError(f"{arch}: a config asking for {claimed:,} weights loaded beside tiny weights")


def check_hostile_folder(
    arch: str,
    small: dict[str, Any] | None = None,
    huge: dict[str, Any] | None = None,
    budget_bytes: int = HOSTILE_BUDGET_BYTES,
    budget_seconds: float = HOSTILE_BUDGET_SECONDS,
) -> dict[str, Any]:
    """``load_folder`` of a folder whose config.json asks for a huge ``arch`` beside the tiny weights of a
    small one allocates nothing big, stays within ``budget_seconds`` and ends in one WeightsError line;
    the same folder with its honest config loads; its weights set to 1e6 are refused as float16.

    ``small`` builds the real (tiny) weights, ``huge`` is the config that claims them (default
    :func:`huge_config`). Every tensor torch makes off the meta device is watched, and Python's own
    allocations are traced; returns what was measured (bytes, seconds, the message, the claimed size).
    """
    from ..building import meta_model, tensor_elements

    spec = get_registry().model(arch)
    small_model = spec.cls(spec.cls.config_class(**(small or {})))
    huge = huge if huge is not None else huge_config(arch, small)
    started = time.perf_counter()
    try:
        with _deadline(budget_seconds, f"{arch}: building the huge config on the meta device"):
            claimed = tensor_elements(meta_model(spec.cls, spec.cls.config_class.model_validate(huge)))
    except AssertionError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding
        raise AssertionError(
            f"{arch}: cannot be built on the meta device ({type(exc).__name__}: {exc}); load_folder needs that "
            "to size an untrusted config before allocating (read no tensor values in the constructor)"
        ) from None
    sizing = time.perf_counter() - started
    assert sizing <= budget_seconds, f"{arch}: sizing the huge config on the meta device took {sizing:.1f} s"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        save_pretrained(small_model, folder)
        _check_loads(arch, folder, small_model)  # also imports what loading needs, which is not counted below
        meta = {"format_version": FORMAT_VERSION, "library": "zoo", "architecture": arch, "config": huge}
        (folder / CONFIG_FILE).write_text(json.dumps(meta))
        watch = _TensorWatch(budget_bytes)
        _refusal(arch, folder, watch, claimed)
        tracemalloc.start()
        start = time.perf_counter()
        try:
            with _deadline(budget_seconds, f"{arch}: refusing a hostile folder"):
                message = _refusal(arch, folder, watch, claimed)
        finally:
            seconds = time.perf_counter() - start
            _, python_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
    _check_overflowing_cast(arch, small_model)
    assert "\n" not in message and message, f"{arch}: the refusal is not one line: {message!r}"
    assert watch.largest <= budget_bytes, f"{arch}: made a tensor of {watch.largest:,} bytes ({watch.largest_op})"
    assert python_peak <= budget_bytes, f"{arch}: Python allocated {python_peak:,} bytes at its peak"
    assert seconds <= budget_seconds, f"{arch}: refusing a hostile folder took {seconds:.1f} s"
    return {
        "claimed_weights": claimed,
        "largest_tensor_bytes": watch.largest,
        "python_peak_bytes": python_peak,
        "seconds": seconds,
        "message": message,
    }
