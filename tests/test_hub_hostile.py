"""A hostile Hub endpoint cannot make a download write outside HF_HOME (issue 21, the escape)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch

import zoo
from zoo.testing.hub import FakeHub

SITE = Path("lib/python3/site-packages/evil.pth")


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("header", ["ETag", "X-Linked-Etag", "X-Repo-Commit"])
@pytest.mark.parametrize("shape", ["relative", "absolute", "pth"])
def test_a_path_in_a_header_is_refused_and_nothing_lands_outside(fake_hub, tmp_path, header, shape, tiny_model):
    zoo.push_to_hub(tiny_model(31), "alice/target")
    outside = tmp_path / "outside"
    outside.mkdir()
    target = {
        "relative": "../../../../../../outside/planted",
        "absolute": str(outside / "planted"),
        "pth": "../" * 12 + str(outside / SITE).lstrip("/"),
    }[shape]
    value = f'"{target}"' if header != "X-Repo-Commit" else target
    fake_hub.answer_headers = {header: value}
    before = _files_under(tmp_path)
    with pytest.raises(zoo.HubError) as info:
        zoo.load("alice/target")
    message = str(info.value)
    assert "\n" not in message and header in message and "refused before anything was written" in message
    home = Path(os.environ["HF_HOME"])
    new = _files_under(tmp_path) - before
    assert all(home in p.parents for p in new), sorted(map(str, new))
    assert not any(outside.rglob("*")) and not (outside / SITE).exists()


def test_the_fake_hub_refuses_blob_names_that_leave_its_root(tmp_path):
    root = tmp_path / "hub"
    (root / "blobs").mkdir(parents=True)
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the server")
    for blob in [str(secret), "../../secret.txt", "0" * 39 + "/"]:
        state = {
            "format": 1,
            "repos": {
                "a/b": {"private": False, "branches": {"main": "c" * 40}, "commits": {"c" * 40: {"config.json": blob}}}
            },
        }
        (root / FakeHub.STATE_FILE).write_text(json.dumps(state))
        with pytest.raises(ValueError, match="is not a 40-hex git blob id"):
            FakeHub(root=root)


# -- bounded bytes: a size cap per file kind, enforced while streaming ------------------------------


@pytest.mark.parametrize("name", ["config.json", "README.md"])
def test_an_oversized_config_or_card_is_refused_before_its_body(fake_hub, name, tiny_model):
    """A 3 MiB config.json or README.md: refused on its Content-Length, no body byte read."""
    zoo.push_to_hub(tiny_model(32), "alice/big")
    fake_hub.commit("alice/big", {name: b" " * (3 << 20)})
    with pytest.raises(zoo.HubError, match=rf"announces 3,145,728 bytes for {name}, more than the 1,048,576"):
        zoo.load("alice/big")


def test_the_weights_are_bounded_by_their_own_header(fake_hub, tiny_model):
    """Weights with 2 MiB appended past what their safetensors header says: stopped while streaming."""
    zoo.push_to_hub(tiny_model(33), "alice/big")
    weights = fake_hub.files("alice/big")["model.safetensors"]
    fake_hub.commit("alice/big", {"model.safetensors": weights + bytes(2 << 20)})
    with pytest.raises(zoo.HubError, match=rf"sent more than {len(weights):,} bytes for model.safetensors"):
        zoo.load("alice/big")


def test_a_full_disk_during_a_download_is_a_full_disk(fake_hub, monkeypatch, tiny_model):
    import errno

    from huggingface_hub import file_download

    zoo.push_to_hub(tiny_model(34), "alice/full")
    real_get = file_download.http_get

    class FullDisk:
        def __init__(self, f):
            self.f = f

        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        def __getattr__(self, name):
            return getattr(self.f, name)

    monkeypatch.setattr(
        file_download, "http_get", lambda url, temp_file, *a, **k: real_get(url, FullDisk(temp_file), *a, **k)
    )
    with pytest.raises(zoo.HubError) as info:
        zoo.load("alice/full")
    message = str(info.value)
    assert "No space left on device" in message and "cannot write config.json to the Hugging Face cache" in message
    assert "cannot reach" not in message and "\n" not in message


# -- bounded waits for push -------------------------------------------------------------------------


@pytest.mark.slow
def test_a_push_to_a_server_that_never_answers_the_commit_ends_in_one_line(fake_hub, monkeypatch, tmp_path, tiny_model):
    import subprocess
    import sys
    import time

    folder = zoo.save_pretrained(tiny_model(35), tmp_path / "m")
    fake_hub.stall.add("commit")
    monkeypatch.setenv("ZOO_HUB_TIMEOUT", "1")
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "push", str(folder), "--repo", "alice/stalled"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    seconds = time.monotonic() - start
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    last = run.stderr.strip().splitlines()[-1]  # before it, at most huggingface_hub's own retry warnings
    assert last.startswith("zoo push: error: push to Hub repo 'alice/stalled': no complete answer"), run.stderr
    assert "within the push deadline" in last and "ZOO_HUB_TIMEOUT=1)" in last
    assert seconds < 20, seconds  # the deadline, one retry pause, and two interpreter starts
    assert ("POST", "/api/models/alice/stalled/commit/main") in fake_hub.requests


# -- publishing truths --------------------------------------------------------------------------------


def test_private_on_an_existing_public_repo_makes_it_private(fake_hub, tiny_model):
    zoo.push_to_hub(tiny_model(36), "alice/vis")
    assert not fake_hub.repos["alice/vis"].private
    zoo.push_to_hub(tiny_model(37), "alice/vis", private=True)
    assert fake_hub.repos["alice/vis"].private
    assert ("PUT", "/api/models/alice/vis/settings") in fake_hub.requests
    zoo.push_to_hub(tiny_model(38), "alice/vis")  # without --private an existing repo keeps its visibility
    assert fake_hub.repos["alice/vis"].private


def test_private_that_the_hub_refuses_says_so_and_uploads_nothing(fake_hub, monkeypatch, tiny_model):
    import httpx2
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    zoo.push_to_hub(tiny_model(39), "alice/stays-public")
    commits = dict(fake_hub.repos["alice/stays-public"].commits)

    def refuse(self, repo_id, **kwargs):
        request = httpx2.Request("PUT", f"{fake_hub.url}/api/models/{repo_id}/settings")
        raise HfHubHTTPError("403 Forbidden: not an admin of this repo", response=httpx2.Response(403, request=request))

    monkeypatch.setattr(HfApi, "update_repo_settings", refuse)
    with pytest.raises(zoo.HubError, match=r"--private was asked, but the repo exists and could not be made private"):
        zoo.push_to_hub(tiny_model(40), "alice/stays-public", private=True)
    assert fake_hub.repos["alice/stays-public"].commits == commits and not fake_hub.repos["alice/stays-public"].private


def test_the_printed_entry_is_hashed_from_what_was_uploaded(fake_hub, tmp_path, capsys, monkeypatch, tiny_model):
    """The folder changes while the upload runs (a training run still writing): the entry pins the upload."""
    import zoo.publish
    from zoo.cli import main
    from zoo.weights import file_sha256

    folder = zoo.save_pretrained(tiny_model(41), tmp_path / "m", dataset="digits")
    real_upload = zoo.publish._upload

    def upload_while_the_folder_changes(*args, **kwargs):
        zoo.save_pretrained(tiny_model(42), folder, dataset="digits")
        return real_upload(*args, **kwargs)

    monkeypatch.setattr(zoo.publish, "_upload", upload_while_the_folder_changes)
    assert main(["push", str(folder), "--repo", "alice/staged"]) == 0
    out = capsys.readouterr().out
    entry = eval(out[out.index("zoo.PretrainedEntry(") :], {"zoo": zoo})
    uploaded = fake_hub.files("alice/staged")

    import hashlib

    assert entry.sha256 == hashlib.sha256(uploaded["model.safetensors"]).hexdigest()
    assert entry.config_sha256 == hashlib.sha256(uploaded["config.json"]).hexdigest()
    assert entry.sha256 != file_sha256(folder / "model.safetensors")  # the folder now holds other weights


def test_an_unexpected_tensor_is_refused_from_the_header_before_the_body(fake_hub, tmp_path, tiny_model):
    """A header that announces an extra 16 MiB tensor beside a tiny config: refused once the header's bytes
    are in (it used to be downloaded whole, and kept, before "unexpected tensor(s)")."""
    from safetensors.torch import save_file

    model = tiny_model(34)
    zoo.push_to_hub(model, "alice/extra")
    tensors = {k: v.contiguous() for k, v in model.state_dict().items()}
    tensors["smuggled"] = torch.zeros(4 << 20)
    save_file(tensors, tmp_path / "w.safetensors")
    fake_hub.commit("alice/extra", {"model.safetensors": (tmp_path / "w.safetensors").read_bytes()})
    with pytest.raises(zoo.HubError, match=r"unexpected tensor\(s\) 'smuggled'.*refused from its header") as info:
        zoo.load("alice/extra")
    assert "\n" not in str(info.value)
    blobs = list((tmp_path / "hf_home").rglob("*"))
    assert all(p.stat().st_size < 1 << 20 for p in blobs if p.is_file())  # nothing near the body was kept


@pytest.mark.parametrize(
    "make, expected",
    [
        (lambda: __import__("httpx2").ReadError("Connection reset by peer"), "broke while model.safetensors was sent"),
        (
            lambda: __import__("huggingface_hub").errors.FileMetadataError("no commit hash"),
            "without the Hub's file headers",
        ),
        (lambda: OSError("Consistency check failed: file should be of size 10 but has size 4"), "another size"),
    ],
)
def test_a_broken_answer_is_not_reported_as_an_unreachable_hub(make, expected):
    """A size lie, a reset mid-body, a missing commit header: the Hub was reached, and the line says what broke."""
    from zoo.hub import _download_error

    error = _download_error(make(), "Hub repo 'a/b'", "a/b", "main", "model.safetensors", offline=False)
    assert expected in str(error) and "cannot reach" not in str(error)


@pytest.mark.slow
def test_a_silent_server_ends_a_large_push_within_the_timeout(fake_hub, monkeypatch, tmp_path, tiny_model):
    """The deadline grew by the staged bytes' time at the minimum rate (126 s for 1.2 MB with
    ZOO_HUB_TIMEOUT=3): a server that takes the commit and goes silent now ends it within ZOO_HUB_TIMEOUT."""
    import subprocess
    import sys
    import time

    folder = zoo.save_pretrained(tiny_model(36), tmp_path / "m")
    (folder / "curves.png").write_bytes(bytes(400_000))  # 400 s at the minimum rate below
    fake_hub.stall.add("commit")
    monkeypatch.setenv("ZOO_HUB_TIMEOUT", "2")
    monkeypatch.setenv("ZOO_HUB_MIN_RATE", "1000")
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "push", str(folder), "--repo", "alice/silent"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    seconds = time.monotonic() - start
    assert run.returncode == 1 and "Traceback" not in run.stderr, run.stderr
    assert "within ZOO_HUB_TIMEOUT=2 s" in run.stderr.strip().splitlines()[-1]
    assert seconds < 30, (seconds, run.stderr)  # the stall, one retry pause, two interpreter starts; was over 400 s
