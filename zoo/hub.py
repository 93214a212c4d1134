"""Download pretrained models from the Hugging Face Hub and publish them, through huggingface_hub.

Downloads use huggingface_hub's cache, revision pinning and offline mode (``HF_HUB_OFFLINE=1``),
and check ``model.safetensors`` against the sha256 the pretrained index records before anything
is loaded. Publishing is one commit: create the repo if needed, then ``upload_folder``. The token
comes from huggingface_hub's standard places (``HF_TOKEN``, the ``hf auth login`` cache) and is
never printed or logged. ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` are honoured when a call is made,
not only when huggingface_hub was imported.

Every download and push is bounded (a deadline, a minimum rate, a size cap per file, hex-only cache
names) by :mod:`zoo.transfer`, inside huggingface_hub's own HTTP calls; this module only says which
file it asks for and turns a limit into a one-line :class:`~zoo.errors.HubError`.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import httpx2  # huggingface_hub's HTTP client; this module is imported only when the Hub is used
import torch

from ._version import __version__
from .errors import HubError, WeightsError
from .folders import ModelFolder
from .specs import PretrainedEntry
from .transfer import OFFLINE_HINT, DownloadLimits, LimitExceeded, bounded, download_limits, endpoint, limit_in_chain
from .weights import (
    CARD_FILE,
    CONFIG_FILE,
    WEIGHTS_FILE,
    file_sha256,
    read_config,
    save_pretrained,
)

__all__ = [
    "resolve_entry",
    "download_repo",
    "push_to_hub",
    "CommitURL",
    "file_sha256",
    "UPLOADED_FILES",
    "DownloadLimits",
    "download_limits",
]

REQUIRED_FILES = (CONFIG_FILE, WEIGHTS_FILE)
OPTIONAL_FILES = (CARD_FILE,)
UPLOADED_FILES = list(ModelFolder.PUBLISHED)


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "on", "yes", "true"}
    return flag or constants.is_offline_mode()


# -- download ------------------------------------------------------------------
def resolve_entry(
    entry: PretrainedEntry, revision: str | None = None, local_files_only: bool = False, **hub: Any
) -> Path:
    """The local folder of a pretrained entry: its bundled folder, or a verified Hub download.

    ``local_files_only=True`` serves a Hub entry from the cache only, as ``HF_HUB_OFFLINE=1`` does,
    without touching the environment (zoo.testing.check_pretrained checks cached entries this way).
    ``hub`` holds huggingface_hub's own download options, passed on as they are: ``cache_dir``,
    ``force_download``, ``token`` (see :data:`HUB_OPTIONS`).
    """
    if entry.bundled and (revision is None or not entry.repo_id):
        if revision is not None:
            raise HubError(f"pretrained model {entry.name!r} is bundled with zoo; revision= applies only to Hub models")
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
    if not entry.published:
        how = f"; to train them: {entry.recipe}" if entry.recipe else ""
        raise HubError(f"weights for {entry.name} are not published yet (Hub repo {entry.repo_id}){how}")
    # The index's hashes describe the index's revision; another pinned revision has other files.
    same = revision is None or revision == entry.revision
    pins = {WEIGHTS_FILE: entry.sha256, CONFIG_FILE: entry.config_sha256} if same else {}
    return _download(
        entry.repo_id, revision or entry.revision, pins, name=entry.name, local_files_only=local_files_only, **hub
    )


def download_repo(
    repo_id: str, revision: str | None = None, sha256: str | None = None, local_files_only: bool = False, **hub: Any
) -> Path:
    """Download a zoo-format Hub repo (``org/name``) into the cache; returns the local snapshot folder."""
    return _download(repo_id, revision or "main", {WEIGHTS_FILE: sha256}, local_files_only=local_files_only, **hub)


# huggingface_hub's download options that zoo.load passes through unchanged, as from_pretrained does.
HUB_OPTIONS = ("cache_dir", "force_download", "token")


def _download(
    repo_id: str,
    revision: str,
    pins: dict[str, str | None],
    name: str | None = None,
    local_files_only: bool = False,
    **hub: Any,
) -> Path:
    """Fetch the model files of one commit, within the download limits; check the pinned hashes."""
    unknown = sorted(set(hub) - set(HUB_OPTIONS))
    if unknown:
        raise TypeError(f"unknown Hub download option(s) {', '.join(unknown)}; known: {', '.join(HUB_OPTIONS)}")
    what = f"Hub repo {repo_id!r} (revision {revision!r})"
    if name:
        what = f"pretrained model {name!r} (Hub repo {repo_id!r}, revision {revision!r})"
    _check_repo_id(repo_id, what)
    offline = local_files_only or _offline()
    limits = download_limits()  # a bad setting is refused even when the cache would serve
    try:
        if offline:  # the cache alone: no request is made, so nothing to bound
            folder = _fetch_files(repo_id, revision, what, offline, hub, budget=None)
        else:
            with bounded(limits) as budget:
                _fail_fast_if_unreachable(repo_id, revision, what, hub.get("cache_dir"))
                folder = _fetch_files(repo_id, revision, what, offline, hub, budget)
    except LimitExceeded as exc:
        raise HubError(f"{what}: {exc}") from None
    for filename, expected in pins.items():
        if expected is None:
            continue
        actual = file_sha256(folder / filename)
        if actual != expected.lower():
            raise HubError(
                f"{what}: {filename} has sha256 {actual}, the pretrained index expects {expected}; "
                f"refusing to load a corrupted or altered download (delete {folder} from the cache and retry)"
            )
    return folder


def _fetch_files(repo_id: str, revision: str, what: str, offline: bool, hub: dict[str, Any], budget) -> Path:
    from huggingface_hub import hf_hub_download

    folder = None
    for filename in REQUIRED_FILES + OPTIONAL_FILES:
        if budget is not None:
            budget.file = filename  # what the body of the next answer is capped as
        try:
            # After the first file, pin the commit it resolved to, so all files come from one snapshot.
            path = hf_hub_download(
                repo_id,
                filename,
                revision=folder.name if folder is not None else revision,
                endpoint=endpoint(),
                local_files_only=offline,
                **hub,
            )
        except LimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one clear HubError below
            if filename in OPTIONAL_FILES and _is_missing_entry(exc):
                continue
            limit = limit_in_chain(exc)
            if limit is not None:
                raise limit from None
            raise _download_error(exc, what, repo_id, revision, filename, offline) from None
        folder = Path(path).parent
    return folder


def _check_repo_id(repo_id: str, what: str) -> None:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubError(f"{what}: not a valid Hub repo id ({_first_line(exc)})") from None


def _fail_fast_if_unreachable(repo_id: str, revision: str, what: str, cache_dir=None) -> None:
    """With nothing cached, one probe first: huggingface_hub would retry a connection that cannot be
    made (refused, unresolvable, or not made within the ETag timeout) five times over about 20 s,
    logging each retry, before giving up. Any answer at all is left to huggingface_hub."""
    from huggingface_hub import (
        constants,
        get_session,
        hf_hub_url,
        try_to_load_from_cache,
    )

    if isinstance(try_to_load_from_cache(repo_id, CONFIG_FILE, revision=revision, cache_dir=cache_dir), str):
        return
    url = hf_hub_url(repo_id, CONFIG_FILE, revision=revision, endpoint=endpoint())
    try:
        get_session().head(url, timeout=constants.HF_HUB_ETAG_TIMEOUT, follow_redirects=False)
    except (httpx2.ConnectError, httpx2.ConnectTimeout):
        raise HubError(
            f"{what}: cannot reach the Hub at {endpoint()} and there is no cached copy; "
            f"{OFFLINE_HINT}, or retry with network access"
        ) from None
    except httpx2.HTTPError:
        pass  # a connection was made: huggingface_hub's own retries and errors decide


def _is_missing_entry(exc: Exception) -> bool:
    from huggingface_hub.errors import EntryNotFoundError

    return isinstance(exc, EntryNotFoundError)


def _download_error(exc, what, repo_id, revision, filename, offline) -> HubError:
    from huggingface_hub import constants
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        LocalEntryNotFoundError,
        RemoteEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    local = _local_write_error(exc)
    if local is not None:
        return HubError(
            f"{what}: cannot write {filename} to the Hugging Face cache at {constants.HF_HUB_CACHE} "
            f"({local.strerror}); free space there or point HF_HOME elsewhere, then retry"
        )
    if isinstance(exc, HFValidationError):
        return HubError(f"{what}: not a valid Hub repo id or revision ({exc})")
    if isinstance(exc, RepositoryNotFoundError):
        return HubError(
            f"{what}: repository not found on {endpoint()} (check the name; a private repo needs "
            f"HF_TOKEN or `hf auth login`)"
        )
    if isinstance(exc, RevisionNotFoundError):
        return HubError(f"{what}: revision {revision!r} not found (use a branch, tag or commit of the repo)")
    if isinstance(exc, RemoteEntryNotFoundError):
        return HubError(
            f"{what}: file {filename!r} not found in the repo (a zoo model repo has {CONFIG_FILE} and {WEIGHTS_FILE})"
        )
    if isinstance(exc, LocalEntryNotFoundError):
        if offline:
            return HubError(
                f"{what}: HF_HUB_OFFLINE=1 is set and {filename} is not in the Hugging Face cache "
                f"({constants.HF_HUB_CACHE}); unset HF_HUB_OFFLINE and load it once with network access, "
                f"or {OFFLINE_HINT}"
            )
        cause = exc.__cause__
        if cause is None or isinstance(cause, (httpx2.TransportError, OSError)):
            reason = "cannot reach the Hub at " + endpoint()
        else:
            reason = f"the Hub answered with an error ({_first_line(cause)})"
        return HubError(f"{what}: {reason} and there is no cached copy; {OFFLINE_HINT}, or retry with network access")
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"{what}: the Hub answered with an error ({_first_line(exc)})")
    if isinstance(exc, (httpx2.TransportError, OSError)):
        return HubError(f"{what}: cannot reach the Hub at {endpoint()} ({_first_line(exc)}); {OFFLINE_HINT}")
    return HubError(f"{what}: download of {filename} failed ({type(exc).__name__}: {_first_line(exc)})")


_LOCAL_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


def _local_write_error(exc: BaseException) -> OSError | None:
    """The OSError of a failed local write (a full disk, a read-only cache) anywhere in the chain, if any:
    huggingface_hub passes it on unchanged, and it is no reason to blame the network."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, OSError) and exc.errno in _LOCAL_WRITE_ERRNOS:
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


# -- publish -------------------------------------------------------------------
def push_to_hub(
    model_or_folder,
    repo_id: str,
    private: bool | None = None,
    revision: str | None = None,
    token: str | None = None,
    commit_message: str | None = None,
    create_pr: bool = False,
    license: str | None = None,
) -> str:
    """Publish a model (or a saved model folder) to ``repo_id`` in one commit; returns the commit URL
    (the pull request's URL with ``create_pr=True``).

    What is uploaded is staged in a temporary folder first (a model is saved there; a folder's files
    are copied there), so a folder without a model card gets one (see
    :func:`zoo.cards.write_model_card`) in the upload only: the source folder is never written to,
    whether the upload succeeds or fails. A card the folder has is pointed at ``repo_id`` in the
    upload (its usage loads the repo). ``revision`` names a branch, created if missing. ``private=None``
    keeps an existing repo's visibility and creates a new one as the Hub's default (public) does.
    The files zoo manages (:data:`UPLOADED_FILES`) that the folder no longer has are deleted from the
    repo in the same commit, so a re-push never leaves an old figure beside new weights.
    """

    _check_repo_id(repo_id, f"push to Hub repo {repo_id!r}")
    if create_pr and revision not in (None, "main"):
        raise HubError(f"push to Hub repo {repo_id!r}: a pull request is opened against main; drop the revision")
    with tempfile.TemporaryDirectory(prefix="zoo-push-") as tmp:
        folder = Path(tmp) / repo_id.split("/")[-1]
        if isinstance(model_or_folder, torch.nn.Module):  # a zoo.Model (whose methods call this module)
            save_pretrained(model_or_folder, folder)
        else:
            source = Path(model_or_folder)
            read_config(source)
            if not (source / WEIGHTS_FILE).is_file():
                raise WeightsError(f"{source / WEIGHTS_FILE}: file not found; nothing to push")
            folder.mkdir()
            for pattern in UPLOADED_FILES:
                for path in source.glob(pattern):
                    if path.is_file():
                        shutil.copy2(path, folder / path.name)
        from .cards import retarget_card, write_model_card  # huggingface_hub's card module: loaded only to push

        if not (folder / CARD_FILE).is_file():
            write_model_card(folder, name=repo_id, license=license)
        else:
            retarget_card(folder, repo_id, license=license)
        _check_card_describes(folder)
        # hashed now, from the staged copy: the source folder may change while the upload runs
        staged = read_config(folder)
        sha256, config_sha256 = file_sha256(folder / WEIGHTS_FILE), file_sha256(folder / CONFIG_FILE)
        url = _upload(folder, repo_id, private, revision, token, commit_message, create_pr)
        return CommitURL(url, staged, sha256, config_sha256)


class CommitURL(str):
    """The commit URL ``push_to_hub`` returns, carrying what was uploaded: the staged ``config`` (the
    parsed config.json) and the sha256 of the uploaded ``model.safetensors`` and ``config.json``, from
    which a :class:`~zoo.PretrainedEntry` for the commit is written (``zoo push`` prints one)."""

    config: dict
    sha256: str
    config_sha256: str

    def __new__(cls, url: str, config: dict, sha256: str, config_sha256: str):
        self = super().__new__(cls, url)
        self.config, self.sha256, self.config_sha256 = config, sha256, config_sha256
        return self

    @property
    def commit(self) -> str:
        return self.rstrip("/").split("/")[-1]


def _check_card_describes(folder: Path) -> None:
    """Refuse a card written for other weights (it would publish the old card's numbers beside new weights)."""
    from .cards import (
        read_card,  # huggingface_hub's card module: loaded only when pushing
    )

    recorded = read_card(folder).data.to_dict().get("weights_sha256")
    if recorded and recorded != file_sha256(folder / WEIGHTS_FILE):
        raise HubError(
            f"{folder / CARD_FILE} describes other weights (its weights_sha256 is {recorded[:12]}..., "
            f"{WEIGHTS_FILE} is {file_sha256(folder / WEIGHTS_FILE)[:12]}...); write it again with `zoo card`"
        )


def _upload(folder: Path, repo_id, private, revision, token, commit_message, create_pr=False) -> str:
    """One commit of the staged folder, within a deadline: ``ZOO_HUB_TIMEOUT`` seconds plus the time the
    staged bytes need at ``ZOO_HUB_MIN_RATE`` (the same hooks as downloads cap every request's waits)."""
    from huggingface_hub import HfApi

    meta = read_config(folder)
    api = HfApi(endpoint=endpoint(), token=token, library_name="zoo", library_version=__version__)
    message = commit_message or f"Upload {meta['architecture']} model with zoo"
    staged = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    with bounded(download_limits(), upload_bytes=staged) as budget:
        return _commit_folder(api, folder, repo_id, private, revision, message, budget, create_pr)


def _commit_folder(api, folder: Path, repo_id, private, revision, message, budget, create_pr: bool = False) -> str:
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if private:  # the repo may have existed, public: create_repo leaves it so, and would say nothing
            _make_private(api, repo_id)
        if revision is not None:
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        info = api.upload_folder(
            repo_id=repo_id,
            folder_path=folder,
            revision=revision,
            commit_message=message,
            allow_patterns=UPLOADED_FILES,
            delete_patterns=UPLOADED_FILES,  # only what zoo manages; a file the owner added stays
            create_pr=create_pr,
            repo_type="model",
        )
    except HubError:
        raise
    except Exception as exc:  # noqa: BLE001 - one clear HubError, never the token
        limit = limit_in_chain(exc)
        if limit is None and isinstance(exc, httpx2.TimeoutException):
            limit = budget.deadline_passed(budget.clock())  # the last wait, capped to the deadline, ran out
        if limit is not None:
            raise HubError(f"push to Hub repo {repo_id!r}: {limit}") from None
        raise _push_error(exc, repo_id) from None
    return info.pr_url if create_pr and info.pr_url else info.commit_url


def _make_private(api, repo_id: str) -> None:
    """Set an existing repo private before anything is uploaded, or refuse the push in one line."""
    from huggingface_hub.errors import HfHubHTTPError

    try:
        api.update_repo_settings(repo_id, private=True, repo_type="model")
    except HfHubHTTPError as exc:
        raise HubError(
            f"push to Hub repo {repo_id!r} at {endpoint()}: --private was asked, but the repo exists and could not "
            f"be made private ({_first_line(exc)}); nothing was uploaded: change its visibility on the Hub, or "
            "push without --private"
        ) from None


def _push_error(exc, repo_id) -> HubError:
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        LocalTokenNotFoundError,
    )

    where = f"push to Hub repo {repo_id!r} at {endpoint()}"
    if isinstance(exc, HFValidationError):
        return HubError(f"{where}: invalid repo id or revision ({_first_line(exc)})")
    if isinstance(exc, LocalTokenNotFoundError):
        return HubError(f"{where}: no Hugging Face token found; set HF_TOKEN or run `hf auth login`")
    if isinstance(exc, HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status in (401, 403):
            return HubError(
                f"{where}: not authorised (HTTP {status}); set HF_TOKEN or run `hf auth login` "
                f"with a token that can write to it"
            )
        return HubError(f"{where}: the Hub answered with an error ({_first_line(exc)})")
    if isinstance(exc, (httpx2.TransportError, OSError)):
        return HubError(f"{where}: cannot reach the Hub ({_first_line(exc)})")
    return HubError(f"{where}: failed ({type(exc).__name__}: {_first_line(exc)})")
