"""Download zoo models from the Hugging Face Hub, through huggingface_hub.

Downloads use huggingface_hub's cache, revision pinning and offline mode (``HF_HUB_OFFLINE=1``),
take every file of one commit, and check ``model.safetensors`` (and ``config.json``) against the
sha256 the pretrained index records before anything is loaded. ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE``
are honoured when a call is made, not only when huggingface_hub was imported. Publishing is
:mod:`zoo.publish`; :func:`push_to_hub` and :class:`CommitURL` are re-exported here, where they were.

Every download is bounded (a deadline, a minimum rate, a size cap per file, hex-only cache
names) by :mod:`zoo.transfer`, inside huggingface_hub's own HTTP calls; this module only says which
file it asks for and turns a limit into a one-line :class:`~zoo.errors.HubError`.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import httpx2  # huggingface_hub's HTTP client; this module is imported only when the Hub is used

from .arguments import revision as check_revision
from .errors import HubError
from .publish import UPLOADED_FILES, CommitURL, push_to_hub
from .transfer import (
    OFFLINE_HINT,
    DownloadLimits,
    LimitExceeded,
    bounded,
    check_repo_id,
    download_limits,
    endpoint,
    first_line,
    limit_in_chain,
)
from .weights import (
    CARD_FILE,
    CONFIG_FILE,
    WEIGHTS_FILE,
    file_sha256,
    header_checker,
)

__all__ = [
    "download",
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
METADATA_FILES = (CONFIG_FILE, CARD_FILE)  # what describes a model without its weights


def _offline() -> bool:
    from huggingface_hub import constants

    flag = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in {"1", "on", "yes", "true"}
    return flag or constants.is_offline_mode()


def download_repo(
    repo_id: str,
    revision: str | None = None,
    sha256: str | None = None,
    local_files_only: bool = False,
    weights: bool = True,
    **hub: Any,
) -> Path:
    """Download a zoo-format Hub repo (``org/name``) into the cache; returns the local snapshot folder.

    ``weights=False`` fetches config.json and the card only: what ``zoo info`` shows of a repo is in
    them, and the weights can be hundreds of megabytes.
    """
    files = REQUIRED_FILES + OPTIONAL_FILES if weights else METADATA_FILES
    pins = {WEIGHTS_FILE: sha256} if weights else {}
    return download(repo_id, revision or "main", pins, local_files_only=local_files_only, files=files, **hub)


# huggingface_hub's download options that zoo.load passes through unchanged, as from_pretrained does.
HUB_OPTIONS = ("cache_dir", "force_download", "token")


def download(
    repo_id: str,
    revision: str,
    pins: dict[str, str | None],
    name: str | None = None,
    local_files_only: bool = False,
    files: tuple[str, ...] = REQUIRED_FILES + OPTIONAL_FILES,
    **hub: Any,
) -> Path:
    """Fetch the model files of one commit into the Hub cache, within the download limits; check the pinned
    hashes (``pins``: file name -> sha256, None for no pin); ``name`` is the pretrained name it is fetched for.

    The first file's commit pins the others, so every file comes from one snapshot. ``local_files_only``
    serves the cache alone; ``hub`` holds huggingface_hub's own options (:data:`HUB_OPTIONS`); ``files`` are
    the files asked for (the card is optional).
    """
    unknown = sorted(set(hub) - set(HUB_OPTIONS))
    if unknown:
        raise TypeError(f"unknown Hub download option(s) {', '.join(unknown)}; known: {', '.join(HUB_OPTIONS)}")
    what = f"Hub repo {repo_id!r} (revision {revision!r})"
    if name:
        what = f"pretrained model {name!r} (Hub repo {repo_id!r}, revision {revision!r})"
    check_repo_id(repo_id, what)
    check_revision(revision, f"{what}: revision")
    offline = local_files_only or _offline()
    limits = download_limits()  # a bad setting is refused even when the cache would serve
    try:
        if offline:  # the cache alone: no request is made, so nothing to bound
            folder = _fetch_files(repo_id, revision, what, offline, hub, None, files)
        else:
            with bounded(limits) as budget:
                _fail_fast_if_unreachable(repo_id, revision, what, hub.get("cache_dir"))
                folder = _fetch_files(repo_id, revision, what, offline, hub, budget, files)
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


def _fetch_files(
    repo_id: str, revision: str, what: str, offline: bool, hub: dict[str, Any], budget, files: tuple[str, ...]
) -> Path:
    from huggingface_hub import hf_hub_download

    folder = None
    for filename in files:  # config.json first: its commit pins the rest
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
        if budget is not None and filename == CONFIG_FILE:
            budget.header_check = header_checker(folder)  # the weights are refused from their header's bytes
    return folder


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
        if cause is None or isinstance(cause, (httpx2.ConnectError, httpx2.ConnectTimeout)):
            reason = "cannot reach the Hub at " + endpoint()
        elif isinstance(cause, (httpx2.TransportError, OSError)):
            reason = _broken_answer(cause, filename)
        else:
            reason = f"the Hub answered with an error ({first_line(cause)})"
        return HubError(f"{what}: {reason} and there is no cached copy; {OFFLINE_HINT}, or retry with network access")
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"{what}: the Hub answered with an error ({first_line(exc)})")
    if isinstance(exc, (httpx2.ConnectError, httpx2.ConnectTimeout)):
        return HubError(f"{what}: cannot reach the Hub at {endpoint()} ({first_line(exc)}); {OFFLINE_HINT}")
    if isinstance(exc, (httpx2.TransportError, OSError)):
        return HubError(f"{what}: {_broken_answer(exc, filename)}; retry, or {OFFLINE_HINT}")
    return HubError(f"{what}: download of {filename} failed ({type(exc).__name__}: {first_line(exc)})")


def _broken_answer(exc: BaseException, filename: str) -> str:
    """What went wrong once the Hub was reached: a connection that broke mid-answer, or an answer that is
    not what the Hub sends (a size that lies, no commit header). Neither is "cannot reach the Hub"."""
    from huggingface_hub.errors import FileMetadataError

    if isinstance(exc, httpx2.TransportError):
        return f"the connection to {endpoint()} broke while {filename} was sent ({first_line(exc)})"
    if isinstance(exc, FileMetadataError):
        return f"the server at {endpoint()} answered for {filename} without the Hub's file headers ({first_line(exc)})"
    if "Consistency check failed" in str(exc):
        return f"the server at {endpoint()} sent {filename} of another size than it announced"
    return f"the download of {filename} from {endpoint()} failed ({first_line(exc)})"


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
