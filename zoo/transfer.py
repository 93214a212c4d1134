"""Bounded Hub transfers: every request huggingface_hub makes for zoo is held to a deadline, a minimum
rate and a size cap per file, and answers that would name a path outside its cache are refused.

A server that never answers, trickles, or sends more than a zoo file may hold must end a download in
one line, not hang a process or fill a disk. huggingface_hub has no such limits of its own and runs its
own retries and cache locks, so the limits are enforced inside its HTTP calls: :func:`install_hooks`
puts event hooks on its shared client and wraps its client factory (it replaces the client after a
connection error), and the hooks raise :class:`LimitExceeded`, which is no httpx error, so
huggingface_hub neither retries it nor takes it for an offline network, and every cache lock it holds is
released on the way out. The hooks act only inside :func:`bounded`, in the thread that opened it (and,
for a push, in huggingface_hub's worker threads).

The settings are ``ZOO_HUB_TIMEOUT``, ``ZOO_HUB_MIN_RATE`` and ``ZOO_HUB_RATE_WINDOW`` (see
:func:`download_limits`). :mod:`zoo.hub` downloads and :mod:`zoo.publish` pushes through this module;
nothing else here knows about repos, pins or cards.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx2  # huggingface_hub's HTTP client; this module is imported only when the Hub is used

from .errors import HubError, WeightsError
from .weights import CARD_FILE, CONFIG_FILE, MAX_HEADER_BYTES, WEIGHTS_FILE

__all__ = [
    "DownloadLimits",
    "download_limits",
    "bounded",
    "LimitExceeded",
    "UnsafeAnswer",
    "limit_in_chain",
    "check_path_headers",
    "cap_of",
    "SizeCap",
    "Budget",
    "install_hooks",
    "endpoint",
    "check_repo_id",
    "first_line",
    "OFFLINE_HINT",
]

OFFLINE_HINT = "use a bundled offline model instead (see `zoo list --pretrained`)"


def endpoint() -> str:
    """The Hub every request goes to: ``HF_ENDPOINT`` as it is now, else huggingface_hub's default."""
    from huggingface_hub import constants

    return (os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")


def check_repo_id(repo_id: str, what: str) -> None:
    """Refuse a repo id huggingface_hub would refuse, in one line, before any request is made."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id

    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise HubError(f"{what}: not a valid Hub repo id ({first_line(exc)})") from None


def first_line(exc: BaseException) -> str:
    """The first line of an error, for the one-line messages of a failed transfer."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


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


class LimitExceeded(Exception):
    """Ends a download from inside huggingface_hub's HTTP calls.

    It is not an httpx error, so huggingface_hub neither retries it nor mistakes it for an
    offline network: it leaves every ``with`` block (and so every cache lock) on its way out.
    """


class UnsafeAnswer(LimitExceeded):
    """A server answered a name that huggingface_hub would turn into a path outside its cache."""


# huggingface_hub names cache files after these headers: blobs/<etag>, snapshots/<commit>/ and
# refs/.no_exist/<commit>/. The Hub's are hex (a git sha1 for a commit or a plain file, a sha256 for an LFS
# file), so anything else (a separator, "..", an absolute path) is refused before huggingface_hub reads it.
_PATH_HEADERS = {"X-Repo-Commit": (40,), "ETag": (40, 64), "X-Linked-Etag": (40, 64)}
_HEX = frozenset("0123456789abcdefABCDEF")


def check_path_headers(response) -> None:
    """Refuse an answer whose commit or ETag is not the hex name the Hub would send."""
    for header, lengths in _PATH_HEADERS.items():
        raw = response.headers.get(header)
        if raw is None:
            continue
        value = raw[2:] if raw.startswith("W/") else raw  # as huggingface_hub normalises an ETag
        value = value.strip('"')
        if len(value) not in lengths or not set(value) <= _HEX:
            shown = raw if len(raw) <= 80 else raw[:77] + "..."
            raise UnsafeAnswer(
                f"the server at {endpoint()} answered {header}: {shown!r}, which is not a hex "
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


def cap_of(filename: str) -> int:
    if filename in FILE_CAPS:
        return FILE_CAPS[filename]
    if filename == WEIGHTS_FILE:
        return WEIGHTS_CAP
    return FIGURE_CAP if filename.endswith(".png") else API_CAP


def upload_cap(filename: str) -> int | None:
    """The most a file ``zoo push`` uploads may hold: what a download of it would accept (None: the weights,
    bounded by their own header). A 1 GB README.md took 5.5 GB to push, and was uploaded whole."""
    return None if filename == WEIGHTS_FILE else cap_of(filename)


class SizeCap:
    """Counts one response body against the cap of its file kind; for weights, against their header too."""

    def __init__(self, filename: str, whole: bool, check=None):
        self.filename, self.cap, self.seen = filename, cap_of(filename), 0
        self.check = check  # the weights' header against the config already downloaded (Budget.header_check)
        self.head = bytearray() if filename == WEIGHTS_FILE and whole else None  # a resumed body has no header

    def check_announced(self, length: str | None) -> None:
        if length and length.strip().isdigit() and int(length) > self.cap:
            raise LimitExceeded(self._over(f"announces {int(length):,} bytes"))

    def add(self, chunk: bytes) -> None:
        self.seen += len(chunk)
        if self.head is not None:
            self._read_header(chunk)
        if self.seen > self.cap:
            raise LimitExceeded(self._over(f"sent more than {self.cap:,} bytes"))

    def _over(self, what: str) -> str:
        return (
            f"the server at {endpoint()} {what} for {self.filename}, more than the {self.cap:,} a zoo "
            f"{self.filename} may hold; refused while streaming (nothing was loaded)"
        )

    def _read_header(self, chunk: bytes) -> None:
        """Once the safetensors header is in, the file's size is known exactly: 8 + header + data."""
        self.head += chunk[: 8 + MAX_HEADER_BYTES + 1]
        if len(self.head) < 8:
            return
        size = int.from_bytes(self.head[:8], "little")
        if size > MAX_HEADER_BYTES:
            raise LimitExceeded(
                f"{WEIGHTS_FILE} from {endpoint()} declares a safetensors header of {size:,} bytes, more than "
                f"{MAX_HEADER_BYTES:,}; not a zoo weights file"
            )
        if len(self.head) < 8 + size:
            return
        try:
            header = json.loads(bytes(self.head[8 : 8 + size]))
            end = max([0] + [int(v["data_offsets"][1]) for k, v in header.items() if k != "__metadata__"])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            raise LimitExceeded(
                f"{WEIGHTS_FILE} from {endpoint()} does not start with a safetensors header; not a zoo weights file"
            ) from None
        self.cap, self.head = min(self.cap, 8 + size + end), None
        if self.check is not None:
            self._check_tensors(header)

    def _check_tensors(self, header: dict) -> None:
        """The header against the tensors the config implies: an extra 1 GiB tensor is refused here, from
        the first bytes, where it used to be downloaded and kept before "unexpected tensor(s)"."""
        try:
            tensors = {
                k: (tuple(int(n) for n in v["shape"]), str(v["dtype"]))
                for k, v in header.items()
                if k != "__metadata__"
            }
        except (ValueError, TypeError, KeyError, AttributeError):
            raise LimitExceeded(f"{WEIGHTS_FILE} from {endpoint()} has a malformed safetensors header") from None
        try:
            self.check(tensors)
        except WeightsError as exc:
            raise LimitExceeded(f"{exc}; refused from its header, before its data was fetched") from None


class Budget:
    """The time and rate accounts of one download (all its files), checked at every request and chunk."""

    def __init__(self, limits: DownloadLimits, upload_bytes: int = 0, clock=time.monotonic):
        self.limits = limits
        self.upload_bytes = upload_bytes  # a push: the deadline grows by the time these need at min_rate
        self.file = ""  # the file zoo is asking for: what a body that is not an API answer holds
        self.header_check = None  # set once config.json is in: checks the weights' header (SizeCap)
        self.unanswered: set[tuple[str, str]] = set()  # a push's requests sent and not answered yet
        self.clock = clock  # seconds, monotonic: a test passes a clock of its own
        self.start = clock()
        self.received = 0  # body bytes of every response so far
        self.window_start: float | None = None  # set while a body streams: start of the rate window
        self.window_bytes = 0
        self.current = ""  # the file whose body streams

    def remaining(self) -> float:
        allowed = self.limits.timeout + (self.received + self.upload_bytes) / self.limits.min_rate
        return self.start + allowed - self.clock()

    def check(self) -> None:
        now = self.clock()
        if self.window_start is not None and now - self.window_start >= self.limits.rate_window:
            span = now - self.window_start
            rate = self.window_bytes / span
            if rate < self.limits.min_rate:
                raise LimitExceeded(
                    f"{self.current} arrived at {rate:.1f} bytes/s over {span:.1f} s, below the minimum of "
                    f"{self.limits.min_rate:g} bytes/s (ZOO_HUB_MIN_RATE); stopped (what arrived stays in the "
                    f"cache for the next try): retry later, or lower ZOO_HUB_MIN_RATE on a slow connection"
                )
            self.window_start, self.window_bytes = now, 0
        if self.remaining() <= 0:
            raise LimitExceeded(self.deadline_passed(now))

    def deadline_passed(self, now: float) -> str:
        what, hint = ("push", "retry later") if self.upload_bytes else ("download", f"retry later, or {OFFLINE_HINT}")
        return (
            f"no complete answer from {endpoint()} within the {what} deadline "
            f"({now - self.start:.1f} s; ZOO_HUB_TIMEOUT={self.limits.timeout:g}); the Hub may be down "
            f"or unreachable: {hint}"
        )

    def on_request(self, request) -> None:
        """Refuse a request past the limits, else cap its timeouts to what remains."""
        self.check()
        if self.upload_bytes:
            key = (request.method, str(request.url))
            if key in self.unanswered:  # huggingface_hub retrying a request that got no answer: bytes stopped
                raise LimitExceeded(
                    f"no answer from {endpoint()} to {request.method} {request.url.path} within ZOO_HUB_TIMEOUT="
                    f"{self.limits.timeout:g} s, and none to its retry is awaited; the Hub may be down: retry later"
                )
            self.unanswered.add(key)
        remaining = max(self.remaining(), 0.001)
        timeout = dict(request.extensions.get("timeout") or {})
        for key in ("connect", "read", "write", "pool"):
            old = timeout.get(key)
            timeout[key] = remaining if old is None else min(old, remaining)
        if not self.upload_bytes:  # a download's silent stream is seen within a window
            timeout["read"] = min(timeout["read"], self.limits.rate_window)
        else:  # a push whose bytes stop moving, either way, ends within ZOO_HUB_TIMEOUT, however large the folder
            timeout["read"] = min(timeout["read"], self.limits.timeout)
            timeout["write"] = min(timeout["write"], self.limits.timeout)
        request.extensions["timeout"] = timeout

    def on_response(self, response) -> None:
        """Meter the body; and ask for plain HTTP instead of Xet, whose transfers these hooks cannot see."""
        from huggingface_hub import constants

        if response.request.method == "HEAD":
            for header in (constants.HUGGINGFACE_HEADER_X_XET_HASH, constants.HUGGINGFACE_HEADER_X_XET_REFRESH_ROUTE):
                if header in response.headers:
                    del response.headers[header]
        self.unanswered.discard((response.request.method, str(response.request.url)))
        path = response.request.url.path
        kind = "" if path.startswith("/api/") or not self.file else self.file  # a redirect keeps the file
        check = self.header_check if kind == WEIGHTS_FILE else None
        cap = SizeCap(kind or "an API answer", whole=response.status_code != 206, check=check)
        if response.request.method != "HEAD":
            cap.check_announced(response.headers.get("Content-Length"))
        response.stream = MeteredStream(response.stream, self, path.rsplit("/", 1)[-1], cap)


class MeteredStream(httpx2.SyncByteStream):
    """A response body that counts its bytes into the budget and checks the budget at every chunk."""

    def __init__(self, stream, budget: Budget, name: str, cap: SizeCap):
        self.stream, self.budget, self.name, self.cap = stream, budget, name, cap

    def __iter__(self):
        budget = self.budget
        budget.window_start, budget.window_bytes, budget.current = budget.clock(), 0, self.name
        for chunk in self.stream:
            budget.received += len(chunk)
            budget.window_bytes += len(chunk)
            self.cap.add(chunk)
            budget.check()
            yield chunk
        budget.window_start = None  # complete: a later request starts its own window

    def close(self) -> None:
        self.stream.close()


_active = threading.local()  # .budget: the Budget of the download running in this thread, or None
# Pushes in progress: huggingface_hub commits from worker threads of its own, which have no budget
# of theirs; a request in a thread without one is bounded by the push with the most time left.
_pushes: list[Budget] = []
_pushes_lock = threading.Lock()


def _budget_here() -> Budget | None:
    budget = getattr(_active, "budget", None)
    if budget is None and _pushes:
        with _pushes_lock:
            budget = max(_pushes, key=Budget.remaining, default=None)
    return budget


def _request_hook(request) -> None:
    budget = _budget_here()
    if budget is not None:
        budget.on_request(request)


def _response_hook(response) -> None:
    budget = _budget_here()
    if budget is not None:
        check_path_headers(response)
        budget.on_response(response)


def _add_hooks(client) -> None:
    if _request_hook not in client.event_hooks["request"]:
        client.event_hooks["request"].append(_request_hook)
    if _response_hook not in client.event_hooks["response"]:
        client.event_hooks["response"].append(_response_hook)


def install_hooks() -> None:
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


@contextlib.contextmanager
def bounded(limits: DownloadLimits | None = None, upload_bytes: int = 0) -> Iterator[Budget]:
    """Hold every huggingface_hub request of the block to ``limits`` (by default :func:`download_limits`).

    The block gets the :class:`Budget`: a download names the file it asks for in ``budget.file``, so that
    the body is capped as that kind of file. With ``upload_bytes`` (a push) the deadline grows by the time
    those bytes need at the minimum rate, and requests from threads without a budget of their own
    (huggingface_hub commits from worker threads) are bounded by it too.
    """
    install_hooks()
    budget = Budget(limits or download_limits(), upload_bytes=upload_bytes)
    _active.budget = budget
    if upload_bytes:
        with _pushes_lock:
            _pushes.append(budget)
    try:
        yield budget
    finally:
        _active.budget = None
        if upload_bytes:
            with _pushes_lock:
                _pushes.remove(budget)


def limit_in_chain(exc: BaseException) -> LimitExceeded | None:
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, LimitExceeded):
            return exc
        exc, seen = exc.__cause__ or exc.__context__, seen + 1
    return None
