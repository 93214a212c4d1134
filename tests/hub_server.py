"""A fake Hugging Face Hub: a real HTTP server in a thread, speaking the part of the API zoo uses.

Downloads (``HEAD``/``GET /{repo}/resolve/{rev}/{file}`` with the headers huggingface_hub checks,
``/api/models/{repo}/revision/{rev}``, ``tree``), publishing (``/api/repos/create``, ``branch``,
``/api/validate-yaml``, ``preupload`` in regular mode, ``commit`` as NDJSON with base64 files) and
the Hub's error headers (``X-Error-Code``: RepoNotFound, RevisionNotFound, EntryNotFound). Any
other path gets a 404, so stray calls (telemetry, agent detection) are harmless.

Faults for the bounded-wait tests: ``FakeHub.trickle`` serves a file's body one byte at a time,
and :func:`silent_server` accepts connections and never answers.

The ``fake_hub`` fixture points huggingface_hub at the server with a temporary ``HF_HOME`` and a
client that refuses any host but 127.0.0.1, so a test can never reach the real Hub.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import socket
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

__all__ = ["FakeHub", "fake_hub", "isolate_huggingface_hub", "silent_server", "TOKEN"]

TOKEN = "hf_fake_secret_token_0123456789"


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
    """The server state plus the knobs tests turn (corrupt a file, count requests)."""

    def __init__(self) -> None:
        self.repos: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request, in order
        self.corrupt: set[str] = set()  # file names served with one flipped byte
        self.trickle: dict[str, float] = {}  # file name -> seconds between the bytes of its GET body
        self.stopping = threading.Event()  # ends trickling answers when the server stops
        self.xet = False  # announce every file as stored on Xet (headers only: no Xet server here)
        self.lock = threading.RLock()  # the commit route holds it while calling commit()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> "FakeHub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    # -- state helpers --------------------------------------------------------
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
            return oid

    def files(self, repo_id: str, rev: str = "main") -> dict[str, bytes]:
        repo = self.repos[repo_id]
        return repo.commits[repo.resolve(rev)]


def _make_handler(hub: FakeHub):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):  # keep pytest output clean
            pass

        # -- plumbing ----------------------------------------------------------
        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                out = b""
                while True:
                    size = int(self.rfile.readline().strip().split(b";")[0], 16)
                    if size == 0:
                        self.rfile.readline()
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else b""

        def _send(self, status: int, body: bytes = b"", headers: dict | None = None, head: bool = False):
            self.send_response(status)
            headers = dict(headers or {})
            headers.setdefault("Content-Type", "application/json")
            headers.setdefault("Content-Length", str(len(body)))
            for k, v in headers.items():
                self.send_header(k, v)
            self.end_headers()
            if not head:
                self.wfile.write(body)

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
            body = self._body() if method == "POST" else b""
            parts = [unquote(p) for p in raw_path.strip("/").split("/")]
            head = method == "HEAD"
            with hub.lock:
                if len(parts) >= 5 and parts[2] == "resolve" and method in ("GET", "HEAD"):
                    return self._resolve("/".join(parts[:2]), parts[3], "/".join(parts[4:]), head)
                if parts[:2] == ["api", "repos"] and parts[2:] == ["create"] and method == "POST":
                    return self._create(json.loads(body or b"{}"))
                if parts[:2] == ["api", "validate-yaml"]:
                    return self._json(200, {"errors": [], "warnings": []})
                if parts[:2] == ["api", "models"] and len(parts) >= 6:
                    repo_id, action, rest = "/".join(parts[2:4]), parts[4], parts[5:]
                    if action == "revision" and method == "GET":
                        return self._revision(repo_id, "/".join(rest))
                    if action == "tree" and method == "GET":
                        return self._tree(repo_id, rest[0])
                    if action == "branch" and method == "POST":
                        return self._branch(repo_id, "/".join(rest), json.loads(body or b"{}"))
                    if action == "preupload" and method == "POST":
                        return self._preupload(repo_id, "/".join(rest), json.loads(body))
                    if action == "commit" and method == "POST":
                        return self._commit(repo_id, "/".join(rest), body)
            self._error(404, None, f"fake hub: no route for {method} {raw_path}", head)

        def do_GET(self):
            self._route("GET")

        def do_HEAD(self):
            self._route("HEAD")

        def do_POST(self):
            self._route("POST")

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
                    404, b"", {"X-Error-Code": "EntryNotFound", "X-Error-Message": "Entry not found", "X-Repo-Commit": oid}, head
                )
            data = files[path]
            etag = git_blob_sha1(data)
            if path in hub.corrupt:  # what a broken proxy or disk would hand over: same size, other bytes
                data = data[:-1] + bytes([data[-1] ^ 0xFF])
            headers = {"X-Repo-Commit": oid, "ETag": f'"{etag}"', "Content-Type": "application/octet-stream"}
            if hub.xet:
                headers.update({"X-Xet-Hash": hashlib.sha256(data).hexdigest(),
                                "X-Xet-Refresh-Route": f"/api/models/{repo_id}/xet-read-token/{oid}"})
            if path in hub.trickle and not head:
                return self._trickle(data, headers, hub.trickle[path])
            self._send(200, data, headers, head)

        def _trickle(self, data: bytes, headers: dict, interval: float) -> None:
            """The headers at once, then one byte every ``interval`` seconds: a live but useless server."""
            self._send(200, b"", {**headers, "Content-Length": str(len(data))}, head=True)
            try:
                for i in range(len(data)):
                    if hub.stopping.wait(interval):
                        return
                    self.wfile.write(data[i:i + 1])
                    self.wfile.flush()
            except OSError:  # the client gave up and closed the connection
                self.close_connection = True

        def _create(self, req: dict) -> None:
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo_id = f"{req.get('organization') or 'user'}/{req['name']}"
            if repo_id in hub.repos:
                return self._json(409, {"error": "You already created this model repo", "url": f"{hub.url}/{repo_id}"})
            repo = hub.repos[repo_id] = Repo(private=req.get("visibility") == "private" or bool(req.get("private")))
            oid = hashlib.sha1(uuid.uuid4().bytes).hexdigest()
            repo.commits[oid] = {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"}
            repo.branches["main"] = oid
            self._json(200, {"url": f"{hub.url}/{repo_id}", "name": repo_id})

        def _revision(self, repo_id: str, rev: str) -> None:
            repo = self._repo(repo_id)
            oid = repo and self._commit_of(repo, rev)
            if oid:
                files = repo.commits[oid]
                self._json(200, {"id": repo_id, "modelId": repo_id, "sha": oid, "private": repo.private,
                                 "siblings": [{"rfilename": p} for p in sorted(files)]})

        def _tree(self, repo_id: str, rev: str) -> None:
            repo = self._repo(repo_id)
            oid = repo and self._commit_of(repo, rev)
            if oid:
                files = repo.commits[oid]
                self._json(200, [{"type": "file", "path": p, "size": len(d), "oid": git_blob_sha1(d)} for p, d in sorted(files.items())])

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
            self._json(200, {})

        def _preupload(self, repo_id: str, rev: str, req: dict) -> None:
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo = self._repo(repo_id)
            oid = repo and self._commit_of(repo, rev)
            if oid:
                files = [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in req["files"]]
                self._json(200, {"files": files, "commitOid": oid})

        def _commit(self, repo_id: str, rev: str, body: bytes) -> None:
            if not self._authorized():
                return self._error(401, None, "Invalid username or password.")
            repo = self._repo(repo_id)
            if repo is None or self._commit_of(repo, rev) is None:
                return
            files, deleted = {}, []
            for line in body.splitlines():
                item = json.loads(line)
                value = item["value"]
                if item["key"] == "file":
                    if value.get("encoding") != "base64":
                        return self._error(400, None, "fake hub: only base64 files are supported")
                    files[value["path"]] = base64.b64decode(value["content"])
                elif item["key"] == "deletedFile":
                    deleted.append(value["path"])
                elif item["key"] != "header":
                    return self._error(400, None, f"fake hub: unsupported commit line {item['key']!r}")
            oid = hub.commit(repo_id, files, branch=rev, deleted=deleted)
            self._json(200, {"success": True, "commitOid": oid, "commitUrl": f"{hub.url}/{repo_id}/commit/{oid}", "pullRequestUrl": None})

    return Handler


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
            monkeypatch.setattr(constants, name, str(target) + value[len(prefix):])
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", endpoint + "/{repo_id}/resolve/{revision}/{filename}")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    monkeypatch.setattr(constants, "HF_HUB_ETAG_TIMEOUT", 2)
    for key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HUGGING_FACE_HUB_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if token:
        monkeypatch.setenv("HF_TOKEN", token)
    else:
        monkeypatch.delenv("HF_TOKEN", raising=False)


@pytest.fixture
def fake_hub(tmp_path, monkeypatch):
    """A running FakeHub with huggingface_hub pointed at it, a fresh HF_HOME and a token in HF_TOKEN.

    Its HTTP client refuses every host but 127.0.0.1, so nothing can reach the real Hub.
    """
    import httpx2
    from huggingface_hub.utils import _http

    hub = FakeHub().start()
    isolate_huggingface_hub(monkeypatch, tmp_path / "hf_home", hub.url)

    def local_only(request):
        if request.url.host != "127.0.0.1":
            raise RuntimeError(f"test tried to reach {request.url} (only the fake Hub is allowed)")

    def client():
        return httpx2.Client(
            event_hooks={"request": [local_only, _http.hf_request_event_hook]},
            follow_redirects=True,
            timeout=5,
        )

    _http.set_client_factory(client)
    try:
        yield hub
    finally:
        _http.set_client_factory(_http.default_client_factory)
        hub.stop()
