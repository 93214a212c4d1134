"""From a name to a ready model: the lookup behind :func:`zoo.load` and :meth:`zoo.Model.from_pretrained`.

What a name means, and the folder that holds its files, is :mod:`zoo.sources`; this module checks the
options, loads the folder (:func:`zoo.weights.load_folder`, the hardened loading) and checks the class.

Both doors take the arguments Hugging Face users reach for (``revision``, ``dtype``, ``device``,
``cache_dir``, ``local_files_only``, ``force_download``, ``token``), so the lookup lives here, once.
The model contract sits below this module and imports no I/O: this module supplies the operations its
``from_pretrained``, ``save_pretrained`` and ``push_to_hub`` delegate to (:class:`zoo.interfaces.ModelIO`)
when it is imported, which ``import zoo`` always does (through :mod:`zoo.api`). The push is handed in
as :func:`_push`, which imports :mod:`zoo.publish` (and huggingface_hub) only when a model is pushed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from .arguments import device as check_device
from .errors import ArgumentError, WeightsError
from .interfaces import ModelIO, provide_io
from .sources import fetch, is_hub_repo, model_folder, resolve
from .weights import WEIGHTS_FILE, file_sha256, load_folder, read_config, save_pretrained
from .weights import torch_dtype as check_dtype

__all__ = ["load_model", "model_folder", "is_hub_repo"]  # the last two: zoo.sources', re-exported where they were


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
    torch_dtype: torch.dtype | str | None = None,
) -> Any:
    """A ready model with weights, in eval mode; see :mod:`zoo.sources` for what a name means.

    ``cache_dir``, ``force_download`` and ``token`` go to huggingface_hub unchanged and apply only to
    Hub downloads; ``local_files_only`` serves Hub models from the cache alone (as ``HF_HUB_OFFLINE=1``).
    ``expect`` is a model class the result must be an instance of (``Model.from_pretrained``).
    ``torch_dtype`` is another name of ``dtype`` (diffusers', transformers'): give one, or both the same.
    """
    if torch_dtype is not None:
        if dtype is not None and check_dtype(dtype) != check_dtype(torch_dtype):
            raise ArgumentError(f"dtype={dtype!r} and torch_dtype={torch_dtype!r} disagree; give one of them")
        dtype = torch_dtype
    check_dtype(dtype)  # a bad dtype is refused before anything is downloaded
    device = check_device(device if device is not None else "cpu", "device")  # so is cuda on a CPU-only torch
    source = resolve(name_or_path, revision)
    hub = {"cache_dir": cache_dir, "force_download": force_download, "token": token}
    folder = fetch(source, local_files_only=local_files_only, **hub)
    model = load_folder(folder, device, dtype=dtype)
    model.pretrained_info["name"] = source.name  # what a fine-tune of it records as its base_model
    model.pretrained_cfg = pretrained_cfg(source, folder, model.pretrained_info)
    if expect is not None and not isinstance(model, expect):
        raise WeightsError(
            f"{name_or_path}: holds a {model.architecture} model ({type(model).__name__}), not a {expect.__name__}; "
            f"load it with zoo.load({str(name_or_path)!r})"
        )
    return model


def pretrained_cfg(source, folder: Path, info: dict[str, Any]) -> dict[str, Any]:
    """Where a loaded model came from, as timm's ``model.pretrained_cfg`` says it: its name, the kind of source
    (folder, bundled, hub) and the repo and revision, the sha256 of the weights it loaded, its data, metrics
    and the recipe that made it (the entry's, else the command its folder records)."""
    entry = source.entry
    meta = read_config(folder)
    return {
        "name": source.name,
        "source": source.kind,
        "folder": str(folder),
        "repo_id": source.repo_id or (entry.repo_id if entry is not None else None),
        "revision": source.revision,
        "sha256": file_sha256(Path(folder) / WEIGHTS_FILE),
        "architecture": meta["architecture"],
        "dataset": info.get("dataset"),
        "dataset_options": info.get("dataset_options") or {},
        "metrics": info.get("metrics") or {},
        "recipe": (entry.recipe if entry is not None and entry.recipe else None) or meta.get("command"),
    }


# what Model.from_pretrained, Model.save_pretrained and Model.push_to_hub run (see zoo.interfaces.ModelIO)
def _push(*args: Any, **kwargs: Any) -> str:
    """``Model.push_to_hub``: :func:`zoo.publish.push_to_hub`, imported on the first push so that loading a
    model never imports the Hub stack."""
    from .publish import push_to_hub

    return push_to_hub(*args, **kwargs)


provide_io(ModelIO(load=load_model, save=save_pretrained, push=_push))
