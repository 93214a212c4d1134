"""The on-disk format: ``config.json`` + ``model.safetensors`` (+ ``README.md``). Never pickle."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from pydantic import ValidationError
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .errors import UnknownNameError, WeightsError, validation_problems

__all__ = [
    "FORMAT_VERSION",
    "CONFIG_FILE",
    "WEIGHTS_FILE",
    "CARD_FILE",
    "save_pretrained",
    "read_config",
    "load_folder",
    "atomic_write_bytes",
    "atomic_write_json",
]

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
CARD_FILE = "README.md"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=2, sort_keys=False) + "\n").encode())


def save_tensors(tensors: dict[str, torch.Tensor], path: Path, metadata: dict[str, str] | None = None) -> None:
    """Save tensors as safetensors atomically (detached, contiguous, CPU, unshared copies)."""
    clean = {k: v.detach().to("cpu").clone().contiguous() for k, v in tensors.items()}
    atomic_write_bytes(path, save(clean, metadata=metadata))


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Read a safetensors file; a missing or corrupt file is a WeightsError naming it."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"{path}: file not found")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise WeightsError(f"{path}: not a valid safetensors file ({exc})") from None


def save_pretrained(
    model,
    folder,
    dataset: str | None = None,
    metrics: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
    dataset_options: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``folder`` as config.json + model.safetensors; returns the folder.

    ``dataset``, its ``dataset_options`` (``{"dynamic": true}`` ...) and ``metrics`` default to
    what the model carries from training or loading.
    """
    from . import __version__
    from .registry import get_registry

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    info = dict(getattr(model, "pretrained_info", {}) or {})
    meta = {
        "format_version": FORMAT_VERSION,
        "library": "zoo",
        "zoo_version": __version__,
        "plugin": get_registry().plugin_of(type(model)) or info.get("plugin", ""),
        "architecture": model.architecture,
        "config": model.config.model_dump(mode="json"),
        "dataset": dataset if dataset is not None else info.get("dataset"),
        "dataset_options": dataset_options if dataset_options is not None else info.get("dataset_options") or {},
        "metrics": metrics if metrics is not None else info.get("metrics", {}),
    }
    if extra:
        meta.update(extra)
    save_tensors(model.state_dict(), folder / WEIGHTS_FILE, metadata={"format": "pt", "library": "zoo"})
    atomic_write_json(folder / CONFIG_FILE, meta)
    model.pretrained_info = {k: meta[k] for k in ("plugin", "dataset", "dataset_options", "metrics")}
    return folder


def read_config(folder) -> dict[str, Any]:
    """Read and check ``config.json`` of a saved model folder."""
    path = Path(folder) / CONFIG_FILE
    if not Path(folder).is_dir():
        raise WeightsError(f"{folder}: not a folder")
    if not path.is_file():
        raise WeightsError(f"{path}: file not found (a zoo model folder has {CONFIG_FILE} and {WEIGHTS_FILE})")
    try:
        meta = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WeightsError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise WeightsError(f"{path}: expected a JSON object, got {type(meta).__name__}")
    for key in ("format_version", "architecture", "config"):
        if key not in meta:
            raise WeightsError(f"{path}: missing key {key!r}")
    if not isinstance(meta["format_version"], int) or meta["format_version"] > FORMAT_VERSION:
        raise WeightsError(
            f"{path}: format_version {meta['format_version']!r} is newer than this zoo reads "
            f"({FORMAT_VERSION}); upgrade zoo"
        )
    return meta


def load_folder(folder, map_location: str | torch.device = "cpu"):
    """Rebuild the exact model saved in ``folder``; every mismatch is a one-line WeightsError."""
    from .registry import get_registry

    folder = Path(folder)
    meta = read_config(folder)
    cfg_path = folder / CONFIG_FILE
    arch = meta["architecture"]
    try:
        spec = get_registry().model(arch)
    except UnknownNameError as exc:
        plugin = meta.get("plugin") or "the plugin that provides it"
        raise WeightsError(f"{cfg_path}: {exc} (install {plugin})") from None
    try:
        config = spec.cls.config_class.model_validate(meta["config"])
    except ValidationError as exc:
        raise WeightsError(f"{cfg_path}: invalid config for {arch}: {validation_problems(exc)}") from None
    model = spec.cls(config)
    tensors = load_tensors(folder / WEIGHTS_FILE)
    expected = model.state_dict()
    weights_path = folder / WEIGHTS_FILE
    missing = sorted(set(expected) - set(tensors))
    extra = sorted(set(tensors) - set(expected))
    if missing:
        raise WeightsError(f"{weights_path}: missing tensor(s) {', '.join(missing[:5])} for {arch}")
    if extra:
        raise WeightsError(f"{weights_path}: unexpected tensor(s) {', '.join(extra[:5])} for {arch}")
    for key, value in expected.items():
        if tuple(tensors[key].shape) != tuple(value.shape):
            raise WeightsError(
                f"{weights_path}: tensor {key!r} has shape {tuple(tensors[key].shape)}, "
                f"the config needs {tuple(value.shape)}"
            )
        if tensors[key].dtype != value.dtype:
            raise WeightsError(
                f"{weights_path}: tensor {key!r} has dtype {tensors[key].dtype}, expected {value.dtype}"
            )
    model.load_state_dict(tensors)
    model.to(map_location)
    model.eval()
    model.pretrained_info = {
        "plugin": meta.get("plugin", ""),
        "dataset": meta.get("dataset"),
        "dataset_options": meta.get("dataset_options") or {},
        "metrics": meta.get("metrics") or {},
        "source": str(folder),
    }
    return model
