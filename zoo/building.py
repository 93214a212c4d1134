"""Sizing a model before it exists: build it on the meta device, count, and refuse the huge ones.

A config is a handful of integers that can ask for hundreds of GB (``hidden=4096, layers=256``).
Building on the meta device allocates no tensor data, so both the untrusted folders of
:func:`zoo.load_folder` (compared with the safetensors header before anything is read) and
``zoo create`` / ``zoo train`` with huge settings (refused with one line, before the real
build) cost only the module objects.
"""

from __future__ import annotations

import os

import torch

from .errors import ConfigError

__all__ = ["MAX_PARAMETERS_ENV", "DEFAULT_MAX_PARAMETERS", "meta_model", "tensor_elements", "check_model_size"]

MAX_PARAMETERS_ENV = "ZOO_MAX_PARAMETERS"
# About 4 GiB of float32 weights (and as much again for the masks and Adam's two moments):
# 20x the largest model zoo ships, still a model a user asks for on purpose.
DEFAULT_MAX_PARAMETERS = 1_000_000_000


def meta_model(cls, config) -> torch.nn.Module:
    """``cls(config)`` on the meta device: every parameter and buffer has a shape and a dtype, no data.

    Raises what the constructor raises; a model whose constructor reads tensor values (``bool(mask.all())``)
    cannot be sized this way, which the contract kit (:func:`zoo.testing.check_hostile_folder`) catches.
    """
    with torch.device("meta"):
        return cls(config)


def tensor_elements(model: torch.nn.Module) -> int:
    """Elements of every parameter and buffer (masks included: they cost as much memory as their weights)."""
    return sum(t.numel() for t in model.parameters()) + sum(t.numel() for t in model.buffers())


def max_parameters() -> int:
    """The cap on a fresh model's size: ``ZOO_MAX_PARAMETERS`` if set (an integer), else the default."""
    text = os.environ.get(MAX_PARAMETERS_ENV, "").strip().replace("_", "")
    if not text:
        return DEFAULT_MAX_PARAMETERS
    try:
        value = int(float(text)) if "e" in text.lower() else int(text)
    except ValueError:
        raise ConfigError(f"{MAX_PARAMETERS_ENV}={text!r} is not a number; set it to a count such as 2e9") from None
    if value < 1:
        raise ConfigError(f"{MAX_PARAMETERS_ENV}={text!r} must be a positive count such as 2e9")
    return value


def check_model_size(cls, config, arch: str) -> None:
    """Refuse, in one line, a config whose model would hold more than :func:`max_parameters` elements.

    Checked on the meta device before the real build, so a typo like ``hidden=40960`` costs nothing
    and names the override instead of ending in an out-of-memory kill or a traceback.
    """
    cap = max_parameters()
    try:
        model = meta_model(cls, config)
    except Exception:  # noqa: BLE001 - the real build will raise the constructor's own error, named
        return
    count = tensor_elements(model)
    if count > cap:
        gib = count * 4 / 2**30
        raise ConfigError(
            f"{arch} with these settings holds {count:,} weights ({gib:,.1f} GiB as float32), more than the "
            f"{cap:,} zoo builds unasked; use smaller settings, or set {MAX_PARAMETERS_ENV}={count} to build it"
        )
