"""From a name to a ready model: the lookup behind :func:`zoo.load` and :meth:`zoo.Model.from_pretrained`.

Both doors take the arguments Hugging Face users reach for (``revision``, ``dtype``, ``device``,
``cache_dir``, ``local_files_only``, ``force_download``, ``token``), so the lookup lives here, once.
The model contract sits below this module and imports no I/O: this module supplies the operations its
``from_pretrained``, ``save_pretrained`` and ``push_to_hub`` delegate to (:class:`zoo.interfaces.ModelIO`)
when it is imported, which ``import zoo`` always does (through :mod:`zoo.api`).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import torch

from .arguments import device as check_device
from .errors import ArgumentError, WeightsError, unknown_name
from .hub import download_repo, resolve_entry
from .interfaces import ModelIO, provide_io
from .publish import push_to_hub
from .registry import get_registry
from .weights import load_folder, save_pretrained, torch_dtype

__all__ = ["load_model", "model_folder", "is_hub_repo"]


def load_model(
    name_or_path: str | Path,
    *,
    revision: str | None = None,
    dtype: torch.dtype | str | None = None,
    device: str | torch.device | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    token: str | bool | None = None,
    expect: type | None = None,
) -> Any:
    """A ready model with weights, in eval mode; see :func:`zoo.load` for the order of the lookup.

    ``cache_dir``, ``force_download`` and ``token`` go to huggingface_hub unchanged and apply only to
    Hub downloads; ``local_files_only`` serves Hub models from the cache alone (as ``HF_HUB_OFFLINE=1``).
    ``expect`` is a model class the result must be an instance of (``Model.from_pretrained``).
    """
    torch_dtype(dtype)  # a bad dtype is refused before anything is downloaded
    device = check_device(device if device is not None else "cpu", "device")  # so is cuda on a CPU-only torch
    folder = model_folder(
        name_or_path,
        revision=revision,
        cache_dir=cache_dir,
        local_files_only=local_files_only,
        force_download=force_download,
        token=token,
    )
    model = load_folder(folder, device, dtype=dtype)
    model.pretrained_info["name"] = str(name_or_path)  # what a fine-tune of it records as its base_model
    if expect is not None and not isinstance(model, expect):
        raise WeightsError(
            f"{name_or_path}: holds a {model.architecture} model ({type(model).__name__}), not a {expect.__name__}; "
            f"load it with zoo.load({str(name_or_path)!r})"
        )
    return model


def model_folder(
    name_or_path: str | Path,
    *,
    revision: str | None = None,
    cache_dir: str | Path | None = None,
    local_files_only: bool = False,
    force_download: bool = False,
    token: str | bool | None = None,
) -> Path:
    """The local folder holding the model files of ``name_or_path``, downloading a Hub model into the cache.

    This is all ``zoo download NAME`` does for a model, so that a later load works offline.
    """
    if local_files_only and force_download:
        raise ArgumentError("local_files_only=True and force_download=True contradict each other; give one")
    path = Path(name_or_path)
    name = str(name_or_path)
    reg = get_registry()
    hub = {"cache_dir": cache_dir, "force_download": force_download, "token": token}
    if _is_dir(path):
        if name in reg.pretrained or any(spec.entry.repo_id == name for spec in reg.pretrained.values()):
            warnings.warn(
                f"loading the local folder {path}, not the pretrained model or Hub repo named {name!r}", stacklevel=4
            )
        return path
    if name in reg.pretrained:
        return resolve_entry(reg.entry(name), revision=revision, local_files_only=local_files_only, **hub)
    if is_hub_repo(name):
        return download_repo(name, revision=revision, local_files_only=local_files_only, **hub)
    if _exists(path):
        raise WeightsError(f"{path}: not a zoo model folder")
    if len(path.parts) > 1:
        raise WeightsError(f"{path}: no such model folder")
    raise unknown_name("pretrained model", name, reg.pretrained)


def is_hub_repo(name: str) -> bool:
    """Whether a name that is no local folder is taken for a Hub repo ``org/name`` (not ``runs/missing``)."""
    looks = name.count("/") == 1 and not name.startswith((".", "/")) and not name.endswith("/")
    return looks and not _is_dir(Path(name)) and not _is_dir(Path(name).parent)


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system is no folder
        return False


def _exists(path: Path) -> bool:
    try:
        return path.exists()
    except OSError:
        return False


# what Model.from_pretrained, Model.save_pretrained and Model.push_to_hub run (see zoo.interfaces.ModelIO)
provide_io(ModelIO(load=load_model, save=save_pretrained, push=push_to_hub))
