"""From a name to a source: where the model files that a name means are, and then a local folder holding them.

Every door that takes a model by name (``zoo.load``, ``Model.from_pretrained``, ``zoo download``, a
fine-tune's ``zoo train NAME``) asks this module, so a name means the same thing everywhere. In order:

1. ``hf://org/name`` is the Hub repo, always: the scheme says so, and no local folder or registered name
   can shadow it;
2. an existing local folder is that folder; when it has the name (or the Hub repo id) of a registered
   pretrained model it still wins, with a warning;
3. a registered pretrained name is its entry: the bundled folder its plugin ships (checked against the
   entry's sha256 pin), or its Hub repo at the entry's revision (pinned by its hashes);
4. a plain ``org/name`` whose parent is no local folder is a Hub repo (``runs/missing`` is a missing folder);
5. anything else is one error: not a model folder, no such folder, or an unknown name with close matches.

:func:`resolve` decides without any download; :func:`fetch` turns the :class:`Source` into a local folder
(it checks a bundled copy, and downloads a Hub one through :mod:`zoo.hub`, imported only then).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .arguments import revision as check_revision
from .errors import ArgumentError, HubError, WeightsError, unknown_name
from .plugins import distrust_folder
from .registry import get_registry
from .specs import PretrainedEntry
from .weights import CONFIG_FILE, WEIGHTS_FILE, file_sha256

__all__ = [
    "HUB_SCHEME",
    "HUB_PREFIXES",
    "hub_repo_of",
    "Source",
    "resolve",
    "entry_source",
    "fetch",
    "model_folder",
    "resolve_entry",
    "bundled_folder",
    "is_hub_repo",
    "names_a_model",
]

HUB_SCHEME = "hf://"  # hf://org/name: a Hub repo, whatever else the name could mean
HUB_PREFIXES = (HUB_SCHEME, "hf-hub:")  # timm's spelling, hf-hub:org/name, means the same


def hub_repo_of(name: str) -> str | None:
    """The repo id ``name`` names with a Hub prefix (``hf://org/name``, ``hf-hub:org/name``); None without one."""
    prefix = next((p for p in HUB_PREFIXES if name.startswith(p)), None)
    return None if prefix is None else name.removeprefix(prefix)


@dataclass(frozen=True)
class Source:
    """Where the files of a name are: ``kind`` is ``"folder"`` (a local folder, as given), ``"bundled"``
    (package data of the plugin that registered ``entry``) or ``"hub"`` (``repo_id`` at ``revision``,
    for a registered ``entry`` or a repo named directly)."""

    kind: Literal["folder", "bundled", "hub"]
    name: str  # what a model loaded from it records as its name: the folder, the pretrained name, the repo id
    folder: Path | None = None
    entry: PretrainedEntry | None = None
    repo_id: str | None = None
    revision: str | None = None


def resolve(name_or_path: str | Path, revision: str | None = None) -> Source:
    """The source ``name_or_path`` means (see the order above); nothing is downloaded."""
    name = str(name_or_path)
    if not name.strip():  # Path("") is the current folder: an empty name loaded whatever stood there
        raise ArgumentError("an empty model name; give a pretrained name, org/name or a folder ('.' for this one)")
    if revision is not None:
        check_revision(revision)
    repo_id = hub_repo_of(name)
    if repo_id is not None:
        return Source("hub", repo_id, repo_id=repo_id, revision=revision or "main")
    path = Path(name_or_path)
    if _is_dir(path):
        distrust_folder(path)  # a plugin distribution inside the folder is never imported (zoo.plugins)
    reg = get_registry()
    if _is_dir(path):
        if name in reg.pretrained or any(spec.repo_id == name for spec in reg.pretrained.values()):
            repo = f" (write {HUB_SCHEME}{name} for the Hub repo)" if name.count("/") == 1 else ""
            warnings.warn(
                f"loading the local folder {path}, not the pretrained model or Hub repo named {name!r}{repo}",
                stacklevel=4,
            )
        return Source("folder", name, folder=path)
    if name in reg.pretrained:
        return entry_source(reg.entry(name), revision)
    if is_hub_repo(name):
        return Source("hub", name, repo_id=name, revision=revision or "main")
    if _exists(path):
        raise WeightsError(f"{path}: not a zoo model folder")
    if len(path.parts) > 1:
        raise WeightsError(f"{path}: no such model folder")
    raise unknown_name("pretrained model", name, reg.pretrained)


def entry_source(entry: PretrainedEntry, revision: str | None = None) -> Source:
    """A registered entry's source: its bundled copy, unless a ``revision`` asks for its Hub repo."""
    if entry.bundled and (revision is None or not entry.repo_id):
        if revision is not None:
            raise HubError(f"pretrained model {entry.name!r} is bundled with zoo; revision= applies only to Hub models")
        return Source("bundled", entry.name, entry=entry)
    return Source("hub", entry.name, entry=entry, repo_id=entry.repo_id, revision=revision or entry.revision)


def fetch(source: Source, local_files_only: bool = False, **hub: Any) -> Path:
    """The local folder holding ``source``'s model files, downloaded into the Hub cache when on the Hub.

    ``local_files_only=True`` serves a Hub source from the cache only, as ``HF_HUB_OFFLINE=1`` does,
    without touching the environment. ``hub`` holds huggingface_hub's own download options, passed on
    as they are (``cache_dir``, ``force_download``, ``token``: :data:`zoo.hub.HUB_OPTIONS`).
    """
    if local_files_only and hub.get("force_download"):
        raise ArgumentError("local_files_only=True and force_download=True contradict each other; give one")
    if source.kind == "folder":
        return source.folder
    if source.kind == "bundled":
        return bundled_folder(source.entry)
    from .hub import download, download_repo  # huggingface_hub and its HTTP client: only a Hub source needs them

    entry = source.entry
    if entry is None:
        return download_repo(source.repo_id, source.revision, local_files_only=local_files_only, **hub)
    if not entry.published:
        how = f"; to train them: {entry.recipe}" if entry.recipe else ""
        raise HubError(f"weights for {entry.name} are not published yet (Hub repo {entry.repo_id}){how}")
    # The index's hashes describe the index's revision; another pinned revision has other files.
    same = source.revision == entry.revision
    pins = {WEIGHTS_FILE: entry.sha256, CONFIG_FILE: entry.config_sha256} if same else {}
    return download(entry.repo_id, source.revision, pins, name=entry.name, local_files_only=local_files_only, **hub)


def bundled_folder(entry: PretrainedEntry) -> Path:
    """The folder a bundled entry's plugin ships, once its files are there and its weights match the pin."""
    try:
        folder = entry.folder
    except (ValueError, ModuleNotFoundError) as exc:
        raise WeightsError(f"bundled model {entry.name!r}: {exc}") from None
    if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
        raise WeightsError(
            f"bundled model {entry.name!r}: {folder} has no {CONFIG_FILE} and {WEIGHTS_FILE} "
            f"(reinstall the package {entry.package!r} that ships it)"
        )
    if entry.sha256 and file_sha256(folder / WEIGHTS_FILE) != entry.sha256:
        raise WeightsError(
            f"bundled model {entry.name!r}: {folder / WEIGHTS_FILE} does not match the sha256 in the "
            f"pretrained index (reinstall the package {entry.package!r} that ships it)"
        )
    return folder


def resolve_entry(
    entry: PretrainedEntry, revision: str | None = None, local_files_only: bool = False, **hub: Any
) -> Path:
    """The local folder of a pretrained entry: its bundled folder, or a verified Hub download
    (:func:`zoo.testing.check_pretrained` checks cached entries with ``local_files_only=True``)."""
    return fetch(entry_source(entry, revision), local_files_only=local_files_only, **hub)


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
    return fetch(
        resolve(name_or_path, revision),
        local_files_only=local_files_only,
        cache_dir=cache_dir,
        force_download=force_download,
        token=token,
    )


def is_hub_repo(name: str) -> bool:
    """Whether a name that is no local folder is taken for a Hub repo: ``hf://org/name``, or a plain
    ``org/name`` whose parent is no local folder (``runs/missing`` is a missing folder, not a repo)."""
    if name.startswith(HUB_PREFIXES):
        return True
    looks = name.count("/") == 1 and not name.startswith((".", "/")) and not name.endswith("/")
    return looks and not _is_dir(Path(name)) and not _is_dir(Path(name).parent)


def names_a_model(name: str) -> bool:
    """Whether ``name`` resolves to a model source (a folder, a pretrained name, a Hub repo) rather than
    to nothing: what tells a fine-tune (``zoo train NAME``) from an architecture's name."""
    return _is_dir(Path(name)) or name in get_registry().pretrained or is_hub_repo(name)


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
