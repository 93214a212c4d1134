"""Download pretrained models from the Hugging Face Hub and publish them, through huggingface_hub.

Downloads use huggingface_hub's cache, revision pinning and offline mode (``HF_HUB_OFFLINE=1``),
and check ``model.safetensors`` against the sha256 the pretrained index records before anything
is loaded. Publishing is one commit: create the repo if needed, then ``upload_folder``. The token
comes from huggingface_hub's standard places (``HF_TOKEN``, the ``hf auth login`` cache) and is
never printed or logged. ``HF_ENDPOINT`` and ``HF_HUB_OFFLINE`` are honoured when a call is made,
not only when huggingface_hub was imported.

Every download has bounded waits (see :func:`download_limits`): a deadline (``ZOO_HUB_TIMEOUT``
seconds, extended by the time the bytes received need at the minimum rate) and a minimum transfer
rate (``ZOO_HUB_MIN_RATE`` bytes/s over ``ZOO_HUB_RATE_WINDOW`` seconds). Both are enforced inside
huggingface_hub's own HTTP calls, through event hooks on its client, so the error ends the call
where it stands: its retries stop, and the cache lock it holds is released on the way out.
"""

from __future__ import annotations

import errno
import math
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2  # huggingface_hub's HTTP client; this module is imported only when the Hub is used
import torch

from ._version import __version__
from .errors import HubError, WeightsError
from .folders import ModelFolder
from .specs import PretrainedEntry
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
OFFLINE_HINT = "use a bundled offline model instead (see `zoo list --pretrained`)"


def _endpoint() -> str:
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


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
    limits = download_limits()
    _active.budget = None if offline else _Budget(limits)
    try:
        if not offline:
            _install_hooks()
            _fail_fast_if_unreachable(repo_id, revision, what, hub.get("cache_dir"))
        folder = _fetch_files(repo_id, revision, what, offline, hub)
    except _LimitExceeded as exc:
        raise HubError(f"{what}: {exc}") from None
    finally:
        _active.budget = None
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


def _fetch_files(repo_id: str, revision: str, what: str, offline: bool, hub: dict[str, Any]) -> Path:
    from huggingface_hub import hf_hub_download

    folder = None
    for filename in REQUIRED_FILES + OPTIONAL_FILES:
        budget = getattr(_active, "budget", None)
        if budget is not None:
            budget.file = filename
        try:
            # After the first file, pin the commit it resolved to, so all files come from one snapshot.
            path = hf_hub_download(
                repo_id,
                filename,
                revision=folder.name if folder is not None else revision,
                endpoint=_endpoint(),
                local_files_only=offline,
                **hub,
            )
        except _LimitExceeded:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one clear HubError below
            if filename in OPTIONAL_FILES and _is_missing_entry(exc):
                continue
            limit = _limit_in_chain(exc)
            if limit is not None:
                raise limit from None
            raise _download_error(exc, what, repo_id, revision, filename, offline) from None
        folder = Path(path).parent
    return folder


# -- bounded waits ---------------------------------------------------------------
@dataclass(frozen=True)
class DownloadLimits:
    """How long a Hub download may wait; see :func:`download_limits`."""

    timeout: float = 20.0  # seconds for a download, beyond the time its bytes need at min_rate
    min_rate: float = 10_000.0  # bytes per second, measured over each rate_window while a file streams
    rate_window: float = 10.0  # seconds


_LIMIT_SETTINGS = (
    ("timeout", "ZOO_HUB_TIMEOUT", "seconds"),
    ("min_rate", "ZOO_HUB_MIN_RATE", "bytes per second"),
    ("rate_window", "ZOO_HUB_RATE_WINDOW", "seconds"),
)


def download_limits() -> DownloadLimits:
    """The limits in effect: ``ZOO_HUB_TIMEOUT``, ``ZOO_HUB_MIN_RATE``, ``ZOO_HUB_RATE_WINDOW`` or the defaults.

    A server that never answers costs ``timeout`` seconds (20 by default), one that trickles
    about ``rate_window`` seconds (10); a healthy transfer is never cut: the deadline grows by
    the time each byte received needs at ``min_rate``.
    """
    values = {}
    for field, env, unit in _LIMIT_SETTINGS:
        raw = os.environ.get(env, "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise HubError(f"{env}={raw[:40]!r}: must be a positive number of {unit}")
        values[field] = value
    return DownloadLimits(**values)


class _LimitExceeded(Exception):
    """Ends a download from inside huggingface_hub's HTTP calls.

    It is not an httpx error, so huggingface_hub neither retries it nor mistakes it for an
    offline network: it leaves every ``with`` block (and so every cache lock) on its way out.
    """


class _UnsafeAnswer(_LimitExceeded):
    """A server answered a name that huggingface_hub would turn into a path outside its cache."""


# huggingface_hub names cache files after these headers: blobs/<etag>, snapshots/<commit>/ and
# refs/.no_exist/<commit>/. The Hub's are hex (a git sha1 for a commit or a plain file, a sha256 for an LFS
# file), so anything else (a separator, "..", an absolute path) is refused before huggingface_hub reads it.
_PATH_HEADERS = {"X-Repo-Commit": (40,), "ETag": (40, 64), "X-Linked-Etag": (40, 64)}
_HEX = frozenset("0123456789abcdefABCDEF")


def _check_path_headers(response) -> None:
    """Refuse an answer whose commit or ETag is not the hex name the Hub would send."""
    for header, lengths in _PATH_HEADERS.items():
        raw = response.headers.get(header)
        if raw is None:
            continue
        value = raw[2:] if raw.startswith("W/") else raw  # as huggingface_hub normalises an ETag
        value = value.strip('"')
        if len(value) not in lengths or not set(value) <= _HEX:
            shown = raw if len(raw) <= 80 else raw[:77] + "..."
            raise _UnsafeAnswer(
                f"the server at {_endpoint()} answered {header}: {shown!r}, which is not a hex "
                f"{' or '.join(f'{n}-digit' for n in lengths)} id as the Hub sends; refused before anything "
                "was written (huggingface_hub would use it as a file name in its cache)"
            )


# The most each kind of file may hold, enforced while it streams (and at once when a Content-Length
# announces more): far above what zoo writes, far below what would hurt. The weights are bounded
# by what their own safetensors header implies, exactly, once its first bytes have arrived.
FILE_CAPS = {CONFIG_FILE: 1 << 20, CARD_FILE: 1 << 20}
FIGURE_CAP = 8 << 20  # samples.png and the other figures: a few hundred KB each
API_CAP = 16 << 20  # the Hub's JSON answers (revision info, tree listings)
WEIGHTS_CAP = 64 << 30  # before the header says: 64 GiB, 300x the largest model zoo ships


def _cap_of(filename: str) -> int:
    if filename in FILE_CAPS:
        return FILE_CAPS[filename]
    if filename == WEIGHTS_FILE:
        return WEIGHTS_CAP
    return FIGURE_CAP if filename.endswith(".png") else API_CAP


class _SizeCap:
    """Counts one response body against the cap of its file kind; for weights, against their header too."""

    def __init__(self, filename: str, whole: bool):
        self.filename, self.cap, self.seen = filename, _cap_of(filename), 0
        self.head = bytearray() if filename == WEIGHTS_FILE and whole else None  # a resumed body has no header

    def check_announced(self, length: str | None) -> None:
        if length and length.strip().isdigit() and int(length) > self.cap:
            raise _LimitExceeded(self._over(f"announces {int(length):,} bytes"))

    def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        if self.head is not None:
            self._read_header(chunk)
        if self.seen > self.cap:
            raise _LimitExceeded(self._over(f"sent more than {self.cap:,} bytes"))

    def _over(self, what: str) -> str:
        return (
            f"the server at {_endpoint()} {what} for {self.filename}, more than the {self.cap:,} a zoo "
            f"{self.filename} may hold; refused while streaming (nothing was loaded)"
        )

    def _read_header(self, chunk: bytes) -> None:
        """Once the safetensors header is in, the file's size is known exactly: 8 + header + data."""
        import json

        from .weights import MAX_HEADER_BYTES

        self.head += chunk[: 8 + MAX_HEADER_BYTES + 1]
        if len(self.head) < 8:
            return
        size = int.from_bytes(self.head[:8], "little")
        if size > MAX_HEADER_BYTES:
            raise _LimitExceeded(
                f"{WEIGHTS_FILE} from {_endpoint()} declares a safetensors header of {size:,} bytes, more than "
                f"{MAX_HEADER_BYTES:,}; not a zoo weights file"
            )
        if len(self.head) < 8 + size:
            return
        try:
            header = json.loads(bytes(self.head[8 : 8 + size]))
            end = max([0] + [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise _LimitExceeded(
                f"{WEIGHTS_FILE} from {_endpoint()} does not start with a safetensors header; not a zoo weights file"
            ) from None
        self.cap, self.head = min(self.cap, 8 + size + end), None


class _Budget:
    """The time and rate accounts of one download (all its files), checked at every request and chunk."""

    def __init__(self, limits: DownloadLimits, upload_bytes: int = 0):
        self.limits = limits
        self.upload_bytes = upload_bytes  # a push: the deadline grows by the time these need at min_rate
        self.file = ""  # the file zoo is asking for: what a body that is not an API answer holds
        self.start = time.monotonic()
        self.received = 0  # body bytes of every response so far
        self.window_start: float | None = None  # set while a body streams: start of the rate window
        self.window_bytes = 0
        self.current = ""  # the file whose body streams

    def remaining(self) -> float:
        allowed = self.limits.timeout + (self.received + self.upload_bytes) / self.limits.min_rate
        return self.start + allowed - time.monotonic()

    def check(self) -> None:
        now = time.monotonic()
        if self.window_start is not None and now - self.window_start >= self.limits.rate_window:
            span = now - self.window_start
            rate = self.window_bytes / span
            if rate < self.limits.min_rate:
                raise _LimitExceeded(
                    f"{self.current} arrived at {rate:.1f} bytes/s over {span:.1f} s, below the minimum of "
                    f"{self.limits.min_rate:g} bytes/s (ZOO_HUB_MIN_RATE); stopped (what arrived stays in the "
                    f"cache for the next try): retry later, or lower ZOO_HUB_MIN_RATE on a slow connection"
                )
            self.window_start, self.window_bytes = now, 0
        if self.remaining() <= 0:
            raise _LimitExceeded(self.deadline_passed(now))

    def deadline_passed(self, now: float) -> str:
        what, hint = ("push", "retry later") if self.upload_bytes else ("download", f"retry later, or {OFFLINE_HINT}")
        return (
            f"no complete answer from {_endpoint()} within the {what} deadline "
            f"({now - self.start:.1f} s; ZOO_HUB_TIMEOUT={self.limits.timeout:g}); the Hub may be down "
            f"or unreachable: {hint}"
        )

    def on_request(self, request) -> None:
        """Refuse a request past the limits, else cap its timeouts to what remains."""
        self.check()
        remaining = max(self.remaining(), 0.001)
        timeout = dict(request.extensions.get("timeout") or {})
        for key in ("connect", "read", "write", "pool"):
            old = timeout.get(key)
            timeout[key] = remaining if old is None else min(old, remaining)
        if not self.upload_bytes:  # a download's silent stream is seen within a window; a commit may think longer
            timeout["read"] = min(timeout["read"], self.limits.rate_window)
        request.extensions["timeout"] = timeout

    def on_response(self, response) -> None:
        """Meter the body; and ask for plain HTTP instead of Xet, whose transfers these hooks cannot see."""
        from huggingface_hub import constants

        if response.request.method == "HEAD":
            for header in (constants.HUGGINGFACE_HEADER_X_XET_HASH, constants.HUGGINGFACE_HEADER_X_XET_REFRESH_ROUTE):
                if header in response.headers:
                    del response.headers[header]
        path = response.request.url.path
        kind = "" if path.startswith("/api/") or not self.file else self.file  # a redirect keeps the file
        cap = _SizeCap(kind or "an API answer", whole=response.status_code != 206)
        if response.request.method != "HEAD":
            cap.check_announced(response.headers.get("Content-Length"))
        response.stream = _MeteredStream(response.stream, self, path.rsplit("/", 1)[-1], cap)


class _MeteredStream(httpx2.SyncByteStream):
    """A response body that counts its bytes into the budget and checks the budget at every chunk."""

    def __init__(self, stream, budget: _Budget, name: str, cap: _SizeCap):
        self.stream, self.budget, self.name, self.cap = stream, budget, name, cap

    def __iter__(self):
        budget = self.budget
        budget.window_start, budget.window_bytes, budget.current = time.monotonic(), 0, self.name
        for chunk in self.stream:
            budget.received += len(chunk)
            budget.window_bytes += len(chunk)
            self.cap.add(chunk)
            budget.check()
            yield chunk
        budget.window_start = None  # complete: a later request starts its own window

    def close(self) -> None:
        self.stream.close()


_active = threading.local()  # .budget: the _Budget of the download running in this thread, or None
# Pushes in progress: huggingface_hub commits from worker threads of its own, which have no budget
# of theirs; a request in a thread without one is bounded by the push with the most time left.
_pushes: list[_Budget] = []
_pushes_lock = threading.Lock()


def _budget_here() -> _Budget | None:
    budget = getattr(_active, "budget", None)
    if budget is None and _pushes:
        with _pushes_lock:
            budget = max(_pushes, key=_Budget.remaining, default=None)
    return budget


def _request_hook(request) -> None:
    budget = _budget_here()
    if budget is not None:
        budget.on_request(request)


def _response_hook(response) -> None:
    budget = _budget_here()
    if budget is not None:
        _check_path_headers(response)
        budget.on_response(response)


def _add_hooks(client) -> None:
    if _request_hook not in client.event_hooks["request"]:
        client.event_hooks["request"].append(_request_hook)
    if _response_hook not in client.event_hooks["response"]:
        client.event_hooks["response"].append(_response_hook)


def _install_hooks() -> None:
    """Put zoo's hooks on huggingface_hub's shared client, and on every client it makes later.

    huggingface_hub replaces its client after a connection error, so the factory is wrapped too
    (it has no public getter: without one, only the current client gets the hooks). The hooks do
    nothing outside a zoo download in the same thread.
    """
    from huggingface_hub import get_session, set_client_factory
    from huggingface_hub.utils import _http

    factory = getattr(_http, "_GLOBAL_CLIENT_FACTORY", None)
    if callable(factory) and not getattr(factory, "zoo_hooks", False):

        def factory_with_hooks():
            client = factory()
            _add_hooks(client)
            return client

        factory_with_hooks.zoo_hooks = True
        set_client_factory(factory_with_hooks)
    _add_hooks(get_session())


def _limit_in_chain(exc: BaseException) -> _LimitExceeded | None:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, _LimitExceeded):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None


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
    url = hf_hub_url(repo_id, CONFIG_FILE, revision=revision, endpoint=_endpoint())
    try:
        get_session().head(url, timeout=constants.HF_HUB_ETAG_TIMEOUT, follow_redirects=False)
    except (httpx2.ConnectError, httpx2.ConnectTimeout):
        raise HubError(
            f"{what}: cannot reach the Hub at {_endpoint()} and there is no cached copy; "
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
            f"{what}: repository not found on {_endpoint()} (check the name; a private repo needs "
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
            reason = "cannot reach the Hub at " + _endpoint()
        else:
            reason = f"the Hub answered with an error ({_first_line(cause)})"
        return HubError(f"{what}: {reason} and there is no cached copy; {OFFLINE_HINT}, or retry with network access")
    if isinstance(exc, HfHubHTTPError):
        return HubError(f"{what}: the Hub answered with an error ({_first_line(exc)})")
    if isinstance(exc, (httpx2.TransportError, OSError)):
        return HubError(f"{what}: cannot reach the Hub at {_endpoint()} ({_first_line(exc)}); {OFFLINE_HINT}")
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
    api = HfApi(endpoint=_endpoint(), token=token, library_name="zoo", library_version=__version__)
    message = commit_message or f"Upload {meta['architecture']} model with zoo"
    staged = sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    _install_hooks()
    budget = _active.budget = _Budget(download_limits(), upload_bytes=staged)
    with _pushes_lock:
        _pushes.append(budget)
    try:
        return _commit_folder(api, folder, repo_id, private, revision, message, create_pr)
    finally:
        _active.budget = None
        with _pushes_lock:
            _pushes.remove(budget)


def _commit_folder(api, folder: Path, repo_id, private, revision, message, create_pr: bool = False) -> str:
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
        limit = _limit_in_chain(exc)
        budget = _budget_here()
        if limit is None and isinstance(exc, httpx2.TimeoutException) and budget is not None:
            limit = budget.deadline_passed(time.monotonic())  # the last wait, capped to the deadline, ran out
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
            f"push to Hub repo {repo_id!r} at {_endpoint()}: --private was asked, but the repo exists and could not "
            f"be made private ({_first_line(exc)}); nothing was uploaded: change its visibility on the Hub, or "
            "push without --private"
        ) from None


def _push_error(exc, repo_id) -> HubError:
    from huggingface_hub.errors import (
        HfHubHTTPError,
        HFValidationError,
        LocalTokenNotFoundError,
    )

    where = f"push to Hub repo {repo_id!r} at {_endpoint()}"
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
