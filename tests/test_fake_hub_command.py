"""`python -m zoo.testing.hub`: the fake Hub as a command, driven the way a plugin author would drive it."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from zoo.testing.hub import FakeHub, main

STARTUP_SECONDS = 60  # the command imports torch (through zoo) before it listens


class Server:
    """The command in a subprocess, its stdout read by a thread so that no read can hang the test."""

    def __init__(self, *args: str):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "zoo.testing.hub", "--port", "0", "--quiet", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.env = {}
        self.banner = self.read_until("Ctrl-C stops it.")
        for line in self.banner:
            if line.startswith("export "):
                key, _, value = line[len("export ") :].partition("=")
                self.env[key] = value

    def _pump(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def read_until(self, last: str) -> list[str]:
        seen, deadline = [], time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                raise AssertionError(f"no {last!r} from the fake Hub within {STARTUP_SECONDS} s: {seen}") from None
            if line is None:
                raise AssertionError(f"the fake Hub ended early: {seen} {self.proc.stderr.read()}")
            seen.append(line)
            if line == last:
                return seen

    def stop(self) -> list[str]:
        """Ctrl-C, as a user would; the command must end cleanly and say so."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
        return self.read_until("fake Hub stopped")


def client(server: Server, home, script: str) -> str:
    """Run ``script`` in a fresh Python with only the printed environment pointing it at the fake Hub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(server.env, HF_HOME=str(home), HF_HUB_DISABLE_PROGRESS_BARS="1")
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


PUSH_AND_LOAD = """
    import torch, zoo
    from zoo.cli import main
    torch.manual_seed(0)
    model = zoo.create("independent", levels=4, height=3, width=3)
    with torch.no_grad():
        model.logit_table.normal_()
    zoo.save_pretrained(model, "folder")
    assert main(["push", "folder", "--repo", "alice/tiny"]) == 0
    x = torch.randint(0, 4, (5, 1, 3, 3), generator=torch.Generator().manual_seed(1))
    torch.save(model.log_prob(x), "expected.pt")
    loaded = zoo.load("alice/tiny")
    assert torch.allclose(loaded.log_prob(x), model.log_prob(x))
    print("round trip ok")
"""

LOAD_AGAIN = """
    import torch, zoo
    x = torch.randint(0, 4, (5, 1, 3, 3), generator=torch.Generator().manual_seed(1))
    assert torch.allclose(zoo.load("alice/tiny").log_prob(x), torch.load("expected.pt"))
    print("loaded from the kept repo")
"""


@pytest.mark.slow
def test_command_serves_push_and_load_and_keeps_repos_in_root(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    root = tmp_path / "hub-root"
    server = Server("--root", str(root))
    try:
        assert server.banner[0].startswith("fake Hugging Face Hub serving at http://127.0.0.1:")
        endpoint = server.env["HF_ENDPOINT"]
        assert server.banner[0].split()[6].rstrip(";") == endpoint
        assert server.env["HF_HUB_DISABLE_TELEMETRY"] == "1" and server.env["HF_TOKEN"]
        assert "unset HF_HUB_OFFLINE" in server.banner
        out = client(server, tmp_path / "home-1", PUSH_AND_LOAD)
        assert "zoo.PretrainedEntry(" in out and "round trip ok" in out
    finally:
        stopped = server.stop()
    assert server.proc.returncode == 0 and stopped[-1] == "fake Hub stopped"
    assert (root / "hub.json").is_file()

    again = Server("--root", str(root))  # a new port, the same repos; an empty cache must fetch them
    try:
        assert "loaded from the kept repo" in client(again, tmp_path / "home-2", LOAD_AGAIN)
    finally:
        again.stop()
    assert again.proc.returncode == 0


def test_root_state_round_trips_in_process(tmp_path):
    hub = FakeHub(root=tmp_path)
    hub.create_repo("alice/a", private=True)
    oid = hub.commit("alice/a", {"x.bin": b"\x00\x01"}, branch="dev")
    hub.server.server_close()
    back = FakeHub(root=tmp_path)
    back.server.server_close()
    assert back.repos["alice/a"].private and back.files("alice/a", "dev")["x.bin"] == b"\x00\x01"
    assert back.repos["alice/a"].branches["dev"] == oid and ".gitattributes" in back.files("alice/a")


def test_bad_settings_are_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["--root", str(tmp_path / "file")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: fake Hub cannot start") and "not a folder" in err and err.count("\n") == 1
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "hub.json").write_text("{broken")
    assert main(["--root", str(tmp_path / "state")]) == 1
    assert "not a fake Hub state file" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--port", "70000"])
    assert "--port 70000: must be between 0 and 65535" in capsys.readouterr().err


# -- safe to leave running: hostile clients and roots --------------------------------------------------


@pytest.fixture
def hub():
    server = FakeHub(request_timeout=1.0, max_body=1 << 20).start()
    yield server
    server.stop()


def raw(hub: FakeHub, data: bytes, timeout: float = 5.0) -> bytes:
    """Send ``data`` on a fresh connection; the whole answer (until the server closes or ``timeout``)."""
    import socket

    with socket.create_connection(hub.server.server_address, timeout=timeout) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:  # the server answered and closed before reading it all (a 413): read its answer
            pass
        out = b""
        try:
            while chunk := sock.recv(65536):
                out += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    return out


def post(path: str, body: bytes, extra: str = "") -> bytes:
    from zoo.testing.hub import TOKEN

    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n{extra}"
    if "Content-Length" not in extra and "Transfer-Encoding" not in extra:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"Connection: close\r\n\r\n" + body


def chunked(body: bytes, size: int) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + size]), body[i : i + size]) for i in range(0, len(body), size)]
    return b"".join(parts) + b"0\r\n\r\n"


@pytest.mark.parametrize(
    "request_bytes, status",
    [
        (post("/api/repos/create", b"{not json"), b"400"),
        (post("/api/repos/create", b"[1, 2]"), b"400"),
        (post("/api/repos/create", b'{"name": 5}'), b"400"),
        (post("/api/models/alice/r/commit/main", b'{"key": "header"}\n{"broken'), b"400"),
        (post("/api/models/alice/r/commit/main", b'{"key": "file", "value": 3}'), b"400"),
        (
            post(
                "/api/models/alice/r/commit/main",
                b'{"key": "file", "value": {"path": "a", "encoding": "base64", "content": "!!"}}',
            ),
            b"400",
        ),
        (post("/api/repos/create", b"", "Content-Length: -5\r\n"), b"400"),
        (post("/api/repos/create", b"", "Content-Length: lots\r\n"), b"400"),
        (post("/api/repos/create", b"", f"Content-Length: {10 << 30}\r\n"), b"413"),
        (post("/api/repos/create", b"zz\r\n", "Transfer-Encoding: chunked\r\n"), b"400"),
        (post("/api/repos/create", chunked(b"x" * (2 << 20), 1 << 16), "Transfer-Encoding: chunked\r\n"), b"413"),
    ],
)
def test_malformed_requests_get_a_4xx_and_the_server_goes_on(hub, capfd, request_bytes, status):
    hub.create_repo("alice/r")
    start = time.monotonic()
    answer = raw(hub, request_bytes)
    assert answer.split(b" ")[1] == status, answer[:300]
    assert time.monotonic() - start < 3  # answered, not stuck waiting for a body
    assert (
        raw(hub, b"GET /api/models/alice/r/revision/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")[9:12]
        == b"200"
    )
    assert "Traceback" not in capfd.readouterr().err


def test_a_chunked_body_is_read_linearly():
    """262,144 chunks of 16 bytes (4 MiB): joined once, well under a second; assembled by repeated
    concatenation, ~550 GB of copying (minutes)."""
    hub = FakeHub(max_body=8 << 20).start()
    try:
        body = b'{"name": "linear", "pad": "' + b"x" * ((4 << 20) - 30) + b'"}'
        start = time.monotonic()
        answer = raw(hub, post("/api/repos/create", chunked(body, 16), "Transfer-Encoding: chunked\r\n"), timeout=30)
        seconds = time.monotonic() - start
    finally:
        hub.stop()
    assert answer[9:12] == b"200" and "user/linear" in hub.repos
    assert seconds < 5, seconds


def test_a_client_that_stops_reading_does_not_freeze_the_others(hub):
    import socket

    hub.create_repo("alice/big")
    hub.commit("alice/big", {"big.bin": bytes(32 << 20)})  # more than any socket buffers hold
    stuck = socket.create_connection(hub.server.server_address)
    try:
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.sendall(b"GET /alice/big/resolve/main/big.bin HTTP/1.1\r\nHost: x\r\n\r\n")  # and never reads
        time.sleep(0.2)
        start = time.monotonic()
        answer = raw(hub, b"GET /api/models/alice/big/revision/main HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert answer[9:12] == b"200" and time.monotonic() - start < 0.9  # within the stuck client's timeout
    finally:
        stuck.close()


def test_a_client_that_stalls_mid_request_is_dropped(hub):
    start = time.monotonic()
    import socket

    with socket.create_connection(hub.server.server_address, timeout=10) as sock:
        sock.sendall(b"POST /api/repos/create HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")  # then nothing
        try:
            rest = sock.recv(1024)
        except ConnectionResetError:
            rest = b""
    assert time.monotonic() - start < 5  # the server's request_timeout (1 s) ended it, not ours
    assert rest == b"" or rest.split(b" ")[1] == b"400"


def test_a_commit_to_a_commit_id_or_an_unknown_branch_is_refused_as_the_hub_does(fake_hub, tmp_path):
    from huggingface_hub import HfApi
    from huggingface_hub.errors import RevisionNotFoundError

    fake_hub.create_repo("user/r")
    oid = fake_hub.repos["user/r"].branches["main"]
    (tmp_path / "a.txt").write_text("a")
    api = HfApi(endpoint=fake_hub.url)
    for rev in (oid, "nope"):
        with pytest.raises(RevisionNotFoundError):
            api.upload_file(path_or_fileobj=tmp_path / "a.txt", path_in_repo="a.txt", repo_id="user/r", revision=rev)
    assert set(fake_hub.repos["user/r"].branches) == {"main"}


def test_an_unwritable_root_is_refused_at_start(tmp_path, capsys, monkeypatch):
    import errno
    import tempfile as tempfile_module

    (tmp_path / "file").write_text("x")
    assert main(["--root", str(tmp_path / "file" / "hub")]) == 1  # a path under a file: no folder can be made
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write there" in err and "choose a writable --root" in err

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(tempfile_module, "TemporaryFile", read_only)  # as a read-only mount would answer
    assert main(["--root", str(tmp_path / "ro")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Read-only file system" in err


def test_a_blob_that_is_a_link_out_of_the_root_is_refused(tmp_path):
    import json

    secret = tmp_path / "secret.txt"
    secret.write_text("not the hub's")
    root = tmp_path / "hub"
    (root / "blobs").mkdir(parents=True)
    blob = "a" * 40
    (root / "blobs" / blob).symlink_to(secret)
    state = {
        "format": 1,
        "repos": {"u/r": {"private": False, "branches": {"main": "b" * 40}, "commits": {"b" * 40: {"leak.txt": blob}}}},
    }
    (root / "hub.json").write_text(json.dumps(state))
    with pytest.raises(ValueError, match="is not a plain file in"):
        FakeHub(root=root)
