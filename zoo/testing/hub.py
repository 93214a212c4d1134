"""A fake Hugging Face Hub: a real HTTP server speaking the part of the Hub API that zoo uses.

Plugin authors run it as a command to try publishing and loading without the real Hub::

    python -m zoo.testing.hub [--host 127.0.0.1] [--port 0] [--root DIR]

It prints the environment to set in another shell (``HF_ENDPOINT``, ``HF_TOKEN``, a separate
``HF_HOME``, ``HF_HUB_DISABLE_TELEMETRY``), after which ``zoo push`` and ``zoo.load("org/name")``
talk to it; Ctrl-C stops it. Repositories live in memory unless ``--root DIR`` keeps them in
that folder across restarts. zoo's own tests start it in a thread (``FakeHub().start()``).

Downloads (``HEAD``/``GET /{repo}/resolve/{rev}/{file}`` with the headers huggingface_hub checks,
``/api/models/{repo}/revision/{rev}``, ``tree``), publishing (``/api/repos/create``, ``branch``,
``/api/validate-yaml``, ``preupload`` in regular mode, ``commit`` as NDJSON with base64 files, the
repo ``settings`` that change its visibility, pull requests as ``upload_folder(create_pr=True)`` opens them) and
the Hub's error headers (``X-Error-Code``: RepoNotFound, RevisionNotFound, EntryNotFound). Any
other path gets a 404, so stray calls (telemetry, agent detection) are harmless. Writing needs
the token :data:`TOKEN`, as a private repo does for reading.

Faults for the bounded-wait tests: ``FakeHub.trickle`` serves a file's body one byte at a time,
``FakeHub.stall`` takes a POST to the routes it names (``commit``) and never answers, and
:func:`silent_server` accepts connections and never answers.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import hashlib
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

__all__ = ["FakeHub", "isolate_huggingface_hub", "silent_server", "hub_environment", "main", "TOKEN"]

TOKEN = "hf_fake_secret_token_0123456789"
MAX_BODY = 256 << 20  # bytes of one request body: a zoo model's commit is a few MB of base64
REQUEST_TIMEOUT = 30.0  # seconds: a client that stops sending or reading is dropped after this


class BadRequest(Exception):
    """A request the fake Hub refuses with a 4xx answer: malformed, or too large (``status``)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def git_blob_sha1(data: bytes) -> str:
    """The git object id of a file: what the Hub uses as the ETag of a non-LFS file."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class Repo:
    private: bool = False
    branches: dict[str, str] = field(default_factory=dict)  # name -> commit id
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)  # commit id -> full file tree

    def resolve(self, rev: str) -> str | None:
        if rev in self.branches:
            return self.branches[rev]
        return rev if rev in self.commits else None


class FakeHub:
    """The server state plus the knobs tests turn (corrupt a file, count requests).

    With ``root``, every change (a new repo, branch or commit) is written to ``root/hub.json`` and
    the files to ``root/blobs/``, and a later FakeHub on the same ``root`` starts with those repos.
    """

    STATE_FILE = "hub.json"

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        root: str | Path | None = None,
        max_body: int = MAX_BODY,
        request_timeout: float = REQUEST_TIMEOUT,
    ) -> None:
        self.max_body = max_body  # a larger request body is refused with 413, unread
        self.request_timeout = request_timeout  # seconds a client may leave a socket idle mid-request
        self.repos: dict[str, Repo] = {}
        self.requests: deque[tuple[str, str]] = deque(maxlen=100_000)  # (method, path) of the latest requests
        self.user_agents: deque[str] = deque(maxlen=100_000)  # the User-Agent of each of those requests
        self.commit_messages: list[str] = []  # the summary line of every commit pushed, in order
        self.corrupt: set[str] = set()  # file names served with one flipped byte
        self.trickle: dict[str, float] = {}  # file name -> seconds between the bytes of its GET body
        self.stopping = threading.Event()  # ends trickling answers when the server stops
        self.answer_headers: dict[str, str] = {}  # set on every answer: what a hostile server would send
        self.stall: set[str] = set()  # routes ("commit", "preupload", "create") that read the request, never answer
        self.xet = False  # announce every file as stored on Xet (headers only: no Xet server here)
        self.log_requests = False  # one line per request on stderr (the command turns it on)
        self.lock = threading.RLock()  # held while a route reads or changes the repos, never during socket I/O
        self.root = Path(root) if root is not None else None
        if self.root is not None:
            self._load()
            self._check_writable()
        self.server = _Server((host, port), _make_handler(self))
        self.url = f"http://{host}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> FakeHub:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    # -- state helpers --------------------------------------------------------
    def create_repo(self, repo_id: str, private: bool = False) -> bool:
        """A new repo whose first commit holds a ``.gitattributes``, as on the Hub; False if it exists."""
        with self.lock:
            if repo_id in self.repos:
                return False
            self.repos[repo_id] = Repo(private=private)
            self.commit(repo_id, {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"})
            return True

    def commit(self, repo_id: str, files: dict[str, bytes], branch: str = "main", deleted=()) -> str:
        """Add a commit on ``branch`` on top of its head; returns the 40-hex commit id."""
        with self.lock:
            repo = self.repos.setdefault(repo_id, Repo())
            parent = repo.branches.get(branch) or repo.branches.get("main")
            tree = dict(repo.commits.get(parent, {})) if parent else {}
            tree.update(files)
            for path in deleted:
                tree.pop(path, None)
            oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
            repo.commits[oid] = tree
            repo.branches[branch] = oid
            self.save()
            return oid

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo.commits[repo.resolve(rev)]

    # -- persistence (only with root) ---------------------------------------------
    def save(self) -> None:
        """Write the repos to ``root``: each file once under its git blob id, then ``hub.json`` atomically."""
        if self.root is None:
            return
        with self.lock:
            blobs = self.root / "blobs"
            blobs.mkdir(parents=True, exist_ok=True)
            state = {"format": 1, "repos": {}}
            for repo_id, repo in self.repos.items():
                commits = {}
                for oid, tree in repo.commits.items():
                    commits[oid] = {}
                    for path, data in tree.items():
                        blob = git_blob_sha1(data)
                        if not (blobs / blob).is_file():
                            _write_atomically(blobs / blob, data)
                        commits[oid][path] = blob
                state["repos"][repo_id] = {"private": repo.private, "branches": repo.branches, "commits": commits}
            _write_atomically(self.root / self.STATE_FILE, json.dumps(state, indent=1).encode())

    def _load(self) -> None:
        """Read the repos a FakeHub on the same ``root`` saved; a missing ``hub.json`` is an empty Hub."""
        path = self.root / self.STATE_FILE
        if not path.is_file():
            if self.root.exists() and not self.root.is_dir():
                raise ValueError(f"{self.root}: not a folder (--root names the folder that keeps the repos)")
            return
        try:
            state = json.loads(path.read_text())
            for repo_id, saved in state["repos"].items():
                commits = {
                    oid: {p: self._blob(path, blob).read_bytes() for p, blob in tree.items()}
                    for oid, tree in saved["commits"].items()
                }
                self.repos[repo_id] = Repo(private=saved["private"], branches=saved["branches"], commits=commits)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"{path}: not a fake Hub state file this version can read ({exc})") from None

    def _blob(self, state: Path, blob) -> Path:
        """The file of a blob id from ``hub.json``: a git sha1 naming a plain file in ``root/blobs``, so never
        a path (or a symbolic link) that leads out of it."""
        if not (isinstance(blob, str) and len(blob) == 40 and set(blob) <= set("0123456789abcdef")):
            raise ValueError(f"{state}: blob name {str(blob)[:60]!r} is not a 40-hex git blob id")
        path = self.root / "blobs" / blob
        if path.is_symlink() or not path.is_file():
            raise ValueError(f"{state}: blob {blob} is not a plain file in {self.root / 'blobs'}")
        return path

    def _check_writable(self) -> None:
        """A root that cannot be written would start and then fail every push: refuse it now, in one line."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            (self.root / "blobs").mkdir(exist_ok=True)
            with tempfile.TemporaryFile(dir=self.root / "blobs"):
                pass
        except OSError as exc:
            raise ValueError(
                f"{self.root}: cannot write there ({exc.strerror or exc}); choose a writable --root"
            ) from None


class _Server(ThreadingHTTPServer):
    """The HTTP server, one daemon thread per connection; a client that vanishes costs one log line, no traceback."""

    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, OSError):  # a reset, a broken pipe, a socket timeout: the client's doing
            return
        print(f"fake hub: error answering {client_address[0]}: {type(exc).__name__}: {exc}", file=sys.stderr)


def _write_atomically(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _make_handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = hub.request_timeout  # on the socket: a client that stalls mid-request or stops reading is dropped

        def log_message(self, format, *args):  # quiet in tests; the command logs each request
            if hub.log_requests:
                super().log_message(format, *args)

        # -- plumbing ----------------------------------------------------------
        def _body(self) -> bytes:
            """The request body, read once and linearly, at most ``hub.max_body`` bytes (chunked bodies too)."""
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts, total = [], 0
                while True:
                    line = self.rfile.readline(1024)
                    try:
                        size = int(line.strip().split(b";")[0], 16)
                    except ValueError:
                        raise BadRequest(f"malformed chunk size {line[:40]!r}") from None
                    if size < 0:
                        raise BadRequest(f"negative chunk size {size}")
                    total += size
                    if total > hub.max_body:
                        raise BadRequest(f"request body over {hub.max_body} bytes", 413)
                    if size == 0:
                        self.rfile.readline(1024)
                        return b"".join(parts)
                    chunk = self.rfile.read(size)
                    if len(chunk) < size:
                        raise BadRequest("request body ended inside a chunk")
                    parts.append(chunk)
                    self.rfile.readline(1024)
            raw = self.headers.get("Content-Length") or "0"
            if not raw.strip().isdigit():  # also refuses a negative length, which rfile.read(-1) would read to EOF
                raise BadRequest(f"Content-Length {raw[:40]!r} is not a byte count")
            length = int(raw)
            if length > hub.max_body:
                raise BadRequest(f"request body of {length} bytes, over the {hub.max_body} allowed", 413)
            body = self.rfile.read(length) if length else b""
            if len(body) < length:
                raise BadRequest(f"request body ended after {len(body)} of {length} bytes")
            return body

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
            """Queue the answer; :meth:`_flush` writes it unlocked, so that a slow reader blocks only itself."""
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
            headers.setdefault("Content-Length", str(len(body)))
            headers.update(hub.answer_headers)
            self._answer = (status, body, headers, head, None)

        def _linger(self, most: int = 4 << 20, seconds: float = 1.0) -> None:
            """Read and drop what the client still sends (at most ``most`` bytes, ``seconds``) before closing: a
            close with unread bytes resets the connection, and the client may lose the answer it was sent."""
            deadline = time.monotonic() + seconds
            try:
                self.connection.settimeout(0.2)
                while most > 0 and time.monotonic() < deadline:
                    data = self.connection.recv(min(most, 1 << 16))
                    if not data:
                        return
                    most -= len(data)
            except OSError:
                return

        def _flush(self) -> None:
            answer, self._answer = getattr(self, "_answer", None), None
            if answer is None:
                return
            status, body, headers, head, trickle = answer
            try:
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                if trickle is not None:
                    return self._trickle_body(body, trickle)
                if not head:
                    self.wfile.write(body)
            except OSError:  # the client left, or stopped reading for request_timeout seconds
                self.close_connection = True

        def _json(self, status: int, obj, headers: dict | None = None, head: bool = False):
            self._send(status, json.dumps(obj).encode(), headers, head)

        def _error(self, status: int, code: str | None, message: str, head: bool = False):
            headers = {"X-Error-Message": message}
            if code:
                headers["X-Error-Code"] = code
            self._json(status, {"error": message}, headers, head)

        def _authorized(self) -> bool:
            return self.headers.get("Authorization") == f"Bearer {TOKEN}"

        def _repo(self, repo_id: str, head: bool = False) -> Repo | None:
            repo = hub.repos.get(repo_id)
            if repo is None or (repo.private and not self._authorized()):
                self._error(404, "RepoNotFound", "Repository not found", head)
                return None
            return repo

        def _commit_of(self, repo: Repo, rev: str, head: bool = False) -> str | None:
            oid = repo.resolve(rev)
            if oid is None:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {rev}", head)
            return oid

        # -- routes ------------------------------------------------------------
        def _route(self, method: str) -> None:
            raw_path = urlsplit(self.path).path
            hub.requests.append((method, raw_path))
            hub.user_agents.append(self.headers.get("User-Agent", ""))
            parts = [unquote(p) for p in raw_path.strip("/").split("/")]
            head = method == "HEAD"
            self._answer = None
            try:
                body = self._body() if method in ("POST", "PUT") else b""
                if method == "POST" and hub.stall & set(parts):  # a server that takes the request, never answers
                    hub.stopping.wait()
                    self.close_connection = True
                    return
                with hub.lock:  # the state is read and changed here; the answer is written after
                    self._dispatch(method, raw_path, parts, body, head)
            except BadRequest as exc:
                self.close_connection = True  # an unread or half-read body leaves the stream unusable
                self._error(exc.status, None, f"fake hub: {exc}", head)
                self._flush()
                return self._linger()
            except (ValueError, KeyError, IndexError, TypeError, AttributeError, binascii.Error) as exc:
                self._error(400, None, f"fake hub: malformed request ({type(exc).__name__}: {str(exc)[:200]})", head)
            self._flush()

        def _dispatch(self, method: str, raw_path: str, parts: list[str], body: bytes, head: bool) -> None:
            if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
                return self._resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), head)
            if parts[:2] == ["api", "repos"] and parts[2:] == ["create"] and method == "POST":
                return self._create(_json_object(body))
            if parts[:2] == ["api", "validate-yaml"]:
                return self._json(200, {"errors": [], "warnings": []})
            if parts[:2] == ["api", "models"] and len(parts) in (5, 6) and parts[4] == "discussions":
                return self._discussion("/".join(parts[2:4]), parts[5:], method, _json_object(body))
            if parts[:2] == ["api", "models"] and len(parts) >= 6:
                repo_id, action, rest = "/".join(parts[2:4]), parts[4], parts[5:]
                if action == "revision" and method == "GET":
                    return self._revision(repo_id, "/".join(rest))
                if action == "tree" and method == "GET":
                    return self._tree(repo_id, rest[0])
                if action == "branch" and method == "POST":
                    return self._branch(repo_id, "/".join(rest), _json_object(body))
                if action == "preupload" and method == "POST":
                    return self._preupload(repo_id, "/".join(rest), _json_object(body))
                if action == "commit" and method == "POST":
                    create_pr = "create_pr=1" in (urlsplit(self.path).query or "")
                    return self._commit(repo_id, "/".join(rest), body, create_pr)
            if parts[:2] == ["api", "models"] and len(parts) == 5 and parts[4] == "settings" and method == "PUT":
                return self._settings("/".join(parts[2:4]), _json_object(body))
            self._error(404, None, f"fake hub: no route for {method} {raw_path}", head)

        def do_GET(self):
            self._route("GET")

        def do_HEAD(self):
            self._route("HEAD")

        def do_POST(self):
            self._route("POST")

        def do_PUT(self):
            self._route("PUT")

        def _resolve(self, repo_id: str, rev: str, path: str, head: bool) -> None:
            repo = self._repo(repo_id, head)
            if repo is None:
                return
            oid = self._commit_of(repo, rev, head)
            if oid is None:
                return
            files = repo.commits[oid]
            if path not in files:
                return self._send(
                    404,
                    b"",
                    {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found", "X-Repo-Commit": oid},
                    head,
                )
            data = files[path]
            etag = git_blob_sha1(data)
            if path in hub.corrupt:  # what a broken proxy or disk would hand over: same size, other bytes
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            headers = {"X-Repo-Commit": oid, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}
            if hub.xet:
                headers.update(
                    {
                        "X-Xet-Hash": hashlib.sha256(data).hexdigest(),
                        "X-Xet-Refresh-Route": f"/api/models/{repo_id}/xet-read-token/{oid}",
                    }
                )
            if path in hub.trickle and not head:
                return self._trickle(data, headers, hub.trickle[path])
            self._send(200, data, headers, head)

        def _trickle(self, data: bytes, headers: dict, interval: float) -> None:
            """The headers at once, then one byte every ``interval`` seconds: a live but useless server."""
            self._send(200, data, {**headers, "Content-Length": str(len(data))})
            self._answer = (*self._answer[:4], interval)

        def _trickle_body(self, data: bytes, interval: float) -> None:
            try:
                for i in range(len(data)):
                    if hub.stopping.wait(interval):
                        return
                    self.wfile.write(data[i : i + 1])
                    self.wfile.flush()
            except OSError:  # the client gave up and closed the connection
                self.close_connection = True

        def _create(self, req: dict) -> None:
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            if not isinstance(req.get("name"), str) or not req["name"] or "/" in req["name"]:
                return self._error(400, None, "fake hub: a repo needs a name")
            repo_id = f"{req.get('organization') or 'user'}/{req['name']}"
            private = req.get("visibility") == "private" or bool(req.get("private"))
            if not hub.create_repo(repo_id, private=private):
                return self._json(409, {"error": "You already created this model repo", "url": f"{hub.url}/{repo_id}"})
            self._json(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})

        def _settings(self, repo_id: str, req: dict) -> None:
            """``update_repo_settings``: visibility (``private`` or ``visibility``), as the Hub's PUT settings."""
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo = self._repo(repo_id)
            if repo is None:
                return
            if "visibility" in req:
                repo.private = req["visibility"] == "private"
            elif "private" in req:
                repo.private = bool(req["private"])
            hub.save()
            self._json(200, {})

        def _revision(self, repo_id: str, rev: str) -> None:
            repo = self._repo(repo_id)
            oid = repo and self._commit_of(repo, rev)
            if oid:
                files = repo.commits[oid]
                self._json(
                    200,
                    {
                        "id": repo_id,
                        "modelId": repo_id,
                        "sha": oid,
                        "private": repo.private,
                        "siblings": [{"rfilename": p} for p in sorted(files)],
                    },
                )

        def _tree(self, repo_id: str, rev: str) -> None:
            repo = self._repo(repo_id)
            oid = repo and self._commit_of(repo, rev)
            if oid:
                files = repo.commits[oid]
                self._json(
                    200,
                    [
                        {"type": "file", "path": p, "size": len(d), "oid": git_blob_sha1(d)}
                        for p, d in sorted(files.items())
                    ],
                )

        def _branch(self, repo_id: str, branch: str, req: dict) -> None:
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo = self._repo(repo_id)
            if repo is None:
                return
            if branch in repo.branches:
                return self._error(409, None, f"Reference refs/heads/{branch} already exists")
            start = repo.resolve(req.get("startingPoint") or "main")
            if start is None:
                return self._error(404, "RevisionNotFound", "Invalid rev id")
            repo.branches[branch] = start
            hub.save()
            self._json(200, {})

        def _preupload(self, repo_id: str, rev: str, req: dict) -> None:
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo = self._repo(repo_id)
            oid = repo and self._branch_head(repo, rev)
            if oid:
                files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in req["files"]]
                self._json(200, {"files": files, "commitOid": oid})

        def _branch_head(self, repo: Repo, rev: str) -> str | None:
            """The head of branch ``rev``. Commits go to a branch: a commit id or an unknown name is answered as
            the Hub answers an unknown revision (404, RevisionNotFound), never made into a branch."""
            if rev not in repo.branches:
                self._error(404, "RevisionNotFound", f"Invalid rev id: {rev} (commits go to an existing branch)")
                return None
            return repo.branches[rev]

        def _discussion(self, repo_id: str, rest: list[str], method: str, req: dict) -> None:
            """Pull requests only, as ``upload_folder(create_pr=True)`` opens them: ``POST .../discussions``
            makes a ``refs/pr/N`` branch from main, ``GET .../discussions/N`` describes it."""
            if method == "POST" and not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo = self._repo(repo_id)
            if repo is None:
                return
            if method == "POST" and not rest:
                number = 1 + sum(b.startswith("refs/pr/") for b in repo.branches)
                repo.branches[f"refs/pr/{number}"] = repo.branches["main"]
                hub.save()
                return self._json(200, {"num": number, "pullRequest": bool(req.get("pullRequest"))})
            if method == "GET" and len(rest) == 1 and f"refs/pr/{rest[0]}" in repo.branches:
                return self._json(
                    200,
                    {
                        "title": "pull request",
                        "num": int(rest[0]),
                        "status": "open",
                        "repo": {"name": repo_id, "type": "model"},
                        "isPullRequest": True,
                        "createdAt": "2026-01-01T00:00:00.000Z",
                        "events": [],
                        "changes": {"base": "refs/heads/main"},
                        "filesWithConflicts": [],
                    },
                )
            self._error(404, None, "Discussion not found")

        def _commit(self, repo_id: str, rev: str, body: bytes, create_pr: bool = False) -> None:
            """A commit onto branch ``rev``; with ``create_pr``, onto a new ``refs/pr/N`` branch from it, as the Hub."""
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo = self._repo(repo_id)
            parent = None if repo is None else self._branch_head(repo, rev)
            if parent is None:
                return
            pr_url = None
            if create_pr:
                number = 1 + sum(b.startswith("refs/pr/") for b in repo.branches)
                rev = f"refs/pr/{number}"
                repo.branches[rev] = parent
                pr_url = f"{hub.url}/{repo_id}/discussions/{number}"
            files, deleted = {}, []
            for line in body.splitlines():
                if not line.strip():
                    continue
                item = _json_object(line)
                value = item["value"]
                if item["key"] == "file":
                    if value.get("encoding") != "base64":
                        return self._error(400, None, "fake hub: only base64 files are supported")
                    files[str(value["path"])] = base64.b64decode(value["content"], validate=True)
                elif item["key"] == "deletedFile":
                    deleted.append(value["path"])
                elif item["key"] == "header":
                    hub.commit_messages.append(value.get("summary", ""))
                else:
                    return self._error(400, None, f"fake hub: unsupported commit line {item['key']!r}")
            oid = hub.commit(repo_id, files, branch=rev, deleted=deleted)
            self._json(
                200,
                {
                    "success": True,
                    "commitOid": oid,
                    "commitUrl": f"{hub.url}/{repo_id}/commit/{oid}",
                    "pullRequestUrl": pr_url,
                },
            )

    return Handler


def _json_object(data: bytes) -> dict:
    """A JSON object from a request body; anything else is a malformed request (a 400, not a traceback)."""
    obj = json.loads(data or b"{}")
    if not isinstance(obj, dict):
        raise BadRequest(f"expected a JSON object, got {type(obj).__name__}")
    return obj


@contextlib.contextmanager
def silent_server():
    """The URL of a server that accepts connections and never answers.

    A listening socket that nobody reads: the kernel completes every TCP handshake and buffers the
    request, and the client then waits for an answer that never comes.
    """
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


def isolate_huggingface_hub(monkeypatch, home, endpoint: str, token: str | None = TOKEN) -> None:
    """Point huggingface_hub (already imported) at ``endpoint`` with caches and tokens under ``home``.

    huggingface_hub reads HF_ENDPOINT, HF_HOME and HF_HUB_OFFLINE once, at import, into
    ``huggingface_hub.constants``: patch those, and the environment for anything that reads it later.
    """
    from huggingface_hub import constants

    old_home, old_cache = constants.HF_HOME, constants.HF_HUB_CACHE
    for name in dir(constants):  # every cache/token path computed from HF_HOME at import
        value = getattr(constants, name)
        if isinstance(value, str) and name.isupper() and value.startswith((old_home, old_cache)):
            prefix = old_cache if value.startswith(old_cache) else old_home
            target = Path(home) / "hub" if prefix == old_cache else Path(home)
            monkeypatch.setattr(constants, name, str(target) + value[len(prefix) :])
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 2)
    for key in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HUGGING_FACE_HUB_TOKEN",
    ):
        monkeypatch.delenv(key, raising=False)
    for key, value in hub_environment(endpoint, home, token).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if not token:
        monkeypatch.delenv("HF_TOKEN", raising=False)


def hub_environment(endpoint: str, home: str | Path, token: str | None = TOKEN) -> dict[str, str]:
    """The variables that point huggingface_hub, in a process started with them, at a fake Hub.

    ``HF_HOME`` gets a folder of its own because the Hugging Face cache is keyed by repo id, not
    by endpoint: a fake ``org/name`` cached in the usual place would shadow the real repo later.
    Telemetry is off so that huggingface_hub makes no calls beyond the ones zoo asks for.
    """
    env = {"HF_ENDPOINT": endpoint, "HF_HOME": str(home), "HF_HUB_DISABLE_TELEMETRY": "1"}
    if token:
        env["HF_TOKEN"] = token
    return env


# -- the command: python -m zoo.testing.hub ------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    """Serve a fake Hub in the foreground until Ctrl-C (or SIGTERM); print how to point zoo at it."""
    parser = argparse.ArgumentParser(
        prog="python -m zoo.testing.hub",
        description="A local fake Hugging Face Hub for trying `zoo push` and `zoo.load('org/name')` offline.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on; another one exposes it beyond this machine (default: 127.0.0.1)",
    )
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default: 0)")
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="folder that keeps the repos across restarts (default: none, repos live in memory)",
    )
    parser.add_argument("--quiet", action="store_true", help="do not log each request on stderr (default: log)")
    args = parser.parse_args(argv)
    if not 0 <= args.port <= 65535:
        parser.error(f"--port {args.port}: must be between 0 and 65535")
    try:
        hub = FakeHub(args.host, args.port, args.root)
    except (OSError, ValueError) as exc:
        where = f"{args.host}:{args.port}" if isinstance(exc, OSError) else str(args.root)
        print(f"error: fake Hub cannot start ({where}): {exc}", file=sys.stderr)
        return 1
    hub.log_requests = not args.quiet
    scratch = None
    if args.root is not None:
        home = args.root / "hf-home"
    else:
        scratch = tempfile.TemporaryDirectory(prefix="zoo-fake-hub-")
        home = Path(scratch.name) / "hf-home"
    kept = f"in {args.root}" if args.root is not None else "in memory (gone when it stops; --root DIR keeps them)"
    print(f"fake Hugging Face Hub serving at {hub.url}; repos are kept {kept}", flush=True)
    print("point zoo at it in another shell (HF_HOME: a cache of its own, apart from the real Hub's):")
    for key, value in hub_environment(hub.url, home).items():
        print(f"export {key}={value}")
    print("unset HF_HUB_OFFLINE")
    print("then e.g.: zoo push RUN_FOLDER --repo you/name; python -c \"import zoo; zoo.load('you/name')\"")
    print("Ctrl-C stops it.", flush=True)

    def stop_on_term(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, stop_on_term)
    try:
        hub.server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        hub.stopping.set()
        hub.server.server_close()
        if scratch is not None:
            scratch.cleanup()
    print("fake Hub stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
