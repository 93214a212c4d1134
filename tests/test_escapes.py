"""Nothing leaves its folder (issue 30): a push publishes only the folder's own files, and a revision is
a branch, tag or commit name, never a path into (or out of) huggingface_hub's cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import zoo
from zoo import arguments

HOSTILE_REVISIONS = [
    "../../../../../../../../outside/victim.txt",
    "refs/../../../victim.txt",
    "main/../../victim",
    "/abs/victim",
    ".hidden",
    "a//b",
    "trailing/",
    "branch.lock",
    "back\\slash",
    "with space",
    "ctl\x1b[2J",
    "a:b",
    "",
    "x" * 300,
]


@pytest.mark.parametrize("revision", HOSTILE_REVISIONS)
def test_a_revision_that_is_a_path_is_refused_in_one_line(revision):
    with pytest.raises(zoo.ArgumentError) as info:
        arguments.revision(revision)
    message = str(info.value)
    assert "\n" not in message and "\x1b" not in message and len(message) < 400


@pytest.mark.parametrize("revision", ["main", "v1.0", "refs/pr/1", "release/2026-12", "a" * 40, "feature_x+y"])
def test_branch_tag_and_commit_names_are_kept(revision):
    assert arguments.revision(revision) == revision


def test_a_revision_the_server_answers_cannot_write_outside_the_cache(fake_hub, tmp_path, tiny_model):
    """The escape: a server that answers a revision like ``../../victim`` made huggingface_hub write the
    commit into ``refs/../../victim``. It is refused now before any request is made."""
    zoo.push_to_hub(tiny_model(1), "alice/ok")
    victim = tmp_path / "outside" / "victim.txt"
    victim.parent.mkdir()
    victim.write_text("precious")
    hostile = "../" * 12 + str(victim).lstrip("/")
    repo = fake_hub.repos["alice/ok"]
    repo.branches[hostile] = repo.branches["main"]  # the server answers it
    before = len(fake_hub.requests)
    for load in (
        lambda: zoo.load("alice/ok", revision=hostile),
        lambda: zoo.load("hf://alice/ok", revision=hostile),
        lambda: zoo.hub.download_repo("alice/ok", hostile),
    ):
        with pytest.raises(zoo.ArgumentError, match="never a path"):
            load()
    assert victim.read_text() == "precious"
    assert len(fake_hub.requests) == before  # refused where it entered, before any request
    with pytest.raises(zoo.ArgumentError, match="never a path"):
        zoo.push_to_hub(tiny_model(1), "alice/ok", revision="../../evil")


def test_zoo_download_refuses_a_path_revision(fake_hub, tmp_path, tiny_model, one_line_error):
    from zoo.cli import main

    zoo.push_to_hub(tiny_model(1), "alice/ok")
    assert main(["download", "alice/ok", "--revision", "../../../../victim.txt"]) != 0
    error = one_line_error()
    assert "revision" in error and "never a path" in error


@pytest.fixture
def pushable(tmp_path, tiny_model):
    folder = tmp_path / "model"
    tiny_model(2).save_pretrained(folder)
    secret = tmp_path / "token"
    secret.write_text("hf_secret_token")
    return folder, secret


@pytest.mark.parametrize("name", ["curves.png", "README.md", "model.safetensors", "samples.png"])
def test_a_symlink_in_a_pushed_folder_is_refused_and_nothing_is_uploaded(fake_hub, pushable, name):
    folder, secret = pushable
    (folder / name).unlink(missing_ok=True)
    (folder / name).symlink_to(secret)
    with pytest.raises(zoo.HubError) as info:
        zoo.push_to_hub(folder, "alice/leak")
    message = str(info.value)
    assert "\n" not in message and name in message and "symlink" in message
    assert "alice/leak" not in fake_hub.repos
    assert not any(
        b"hf_secret_token" in data
        for repo in fake_hub.repos.values()
        for tree in repo.commits.values()
        for data in tree.values()
    )


def test_a_hard_link_out_of_a_pushed_folder_is_refused(fake_hub, pushable):
    folder, secret = pushable
    os.link(secret, folder / "curves.png")
    with pytest.raises(zoo.HubError, match="hard link") as info:
        zoo.push_to_hub(folder, "alice/leak")
    assert "curves.png" in str(info.value) and "alice/leak" not in fake_hub.repos


def test_a_folder_of_regular_files_still_pushes_every_file(fake_hub, pushable):
    folder, _ = pushable
    (folder / "curves.png").write_bytes(b"\x89PNG not really")
    zoo.push_to_hub(folder, "alice/fine")
    files = fake_hub.files("alice/fine")
    assert files["curves.png"] == b"\x89PNG not really"
    assert files["model.safetensors"] == (folder / "model.safetensors").read_bytes()
    assert Path(folder / "curves.png").stat().st_nlink == 1
