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
