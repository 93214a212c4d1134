"""The contract that an untrusted model folder costs nothing before it is refused.

A folder from anyone (a Hub repo, a download, an attachment) holds a config.json of a few hundred
bytes that can ask for a model of hundreds of GB. :func:`zoo.load_folder` must size that model on
the meta device and compare it with the safetensors header before it allocates a single weight;
:func:`check_hostile_folder` checks that for one architecture by watching every tensor torch makes
while it loads such a folder.
"""

from __future__ import annotations

import json
import math
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any, get_args, get_origin

import torch
from pydantic import ValidationError
from torch.utils._python_dispatch import TorchDispatchMode

from ..errors import WeightsError
from ..registry import get_registry
from ..weights import CONFIG_FILE, FORMAT_VERSION, save_pretrained

__all__ = ["huge_config", "check_hostile_folder", "HOSTILE_BUDGET_BYTES", "HOSTILE_BUDGET_SECONDS"]

HOSTILE_BUDGET_BYTES = 16 << 20  # the most a refusal may allocate: one tensor, or Python objects at their peak
HOSTILE_BUDGET_SECONDS = 10.0  # generous for a loaded 2-core machine; the refusal takes well under a second


def _upper_bound(info) -> int | None:
    for item in info.metadata:
        if getattr(item, "le", None) is not None:
            return int(item.le)
        if getattr(item, "lt", None) is not None:
            return int(item.lt) - 1
    return None


def huge_config(arch: str, start: dict[str, Any] | None = None) -> dict[str, Any]:
    """The largest valid config of ``arch`` found by raising each integer setting to its upper bound.

    Starting from ``start`` (default: the config's defaults), each bounded integer field, then each
    list of integers (every item raised to 2**16, then 2**12), is raised in turn and kept where the
    config still validates: the config a hostile folder would carry.
    """
    config_class = get_registry().model(arch).cls.config_class
    config = config_class(**(start or {})).model_dump(mode="json")
    for name, info in config_class.model_fields.items():
        candidates: list[Any] = []
        if info.annotation is int and _upper_bound(info) is not None:
            candidates = [_upper_bound(info)]
        elif get_origin(info.annotation) is list and get_args(info.annotation) == (int,):
            length = max(len(config.get(name) or []), 1)
            candidates = [[2**16] * length, [2**12] * length]
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


def _check_loads(arch: str, folder: Path, model: torch.nn.Module) -> None:
    """The honest folder loads, with the same tensors: a model refused on every folder would pass the check."""
    from ..weights import load_folder

    loaded = load_folder(folder)
    want = model.state_dict()
    assert loaded.state_dict().keys() == want.keys(), f"{arch}: the small folder loads other tensors"
    for name, value in loaded.state_dict().items():
        assert torch.equal(value, want[name]), f"{arch}: tensor {name} changed on reload"


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
    the same folder with its honest config loads.

    ``small`` builds the real (tiny) weights, ``huge`` is the config that claims them (default
    :func:`huge_config`). Every tensor torch makes off the meta device is watched, and Python's own
    allocations are traced; returns what was measured (bytes, seconds, the message, the claimed size).
    """
    from ..building import meta_model, tensor_elements

    spec = get_registry().model(arch)
    small_model = spec.cls(spec.cls.config_class(**(small or {})))
    huge = huge if huge is not None else huge_config(arch, small)
    try:
        claimed = tensor_elements(meta_model(spec.cls, spec.cls.config_class.model_validate(huge)))
    except Exception as exc:  # noqa: BLE001 - any failure here is the finding
        raise AssertionError(
            f"{arch}: cannot be built on the meta device ({type(exc).__name__}: {exc}); load_folder needs that "
            "to size an untrusted config before allocating (read no tensor values in the constructor)"
        ) from None
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
            message = _refusal(arch, folder, watch, claimed)
        finally:
            seconds = time.perf_counter() - start
            _, python_peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
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
