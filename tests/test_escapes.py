"""Nothing leaves its folder (issue 30): a push publishes only the folder's own files, and a revision is
a branch, tag or commit name, never a path into (or out of) huggingface_hub's cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import zoo
from zoo import arguments
from zoo.plugins import UntrustedPluginWarning

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


PLANTED = """
from pathlib import Path

Path(__file__).with_name("RAN").write_text("the planted plugin ran")
"""


def _plant_plugin(folder: Path) -> None:
    """What the red team planted: a distribution whose ``zoo`` entry point imports ``mod.py`` beside it."""
    (folder / "mod.py").write_text(PLANTED)
    info = folder / "x-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: x\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[zoo]\nx = mod\n")


@pytest.fixture
def planted_folder(tmp_path, tiny_model):
    folder = tmp_path / "F"
    tiny_model(1).save_pretrained(folder)
    _plant_plugin(folder)
    return folder


@pytest.fixture
def fresh_registry():
    zoo.registry.reload()
    yield
    zoo.registry.reload()


@pytest.mark.parametrize("entry", ["", ".", "cwd"])
def test_a_plugin_in_the_current_folder_never_runs(planted_folder, monkeypatch, fresh_registry, entry):
    import importlib

    monkeypatch.chdir(planted_folder)
    monkeypatch.syspath_prepend(str(planted_folder) if entry == "cwd" else entry)
    importlib.invalidate_caches()
    with pytest.warns(UntrustedPluginWarning, match="'x' in .*F") as caught:
        model = zoo.load(".")
    assert model.architecture == "independent"
    assert not (planted_folder / "RAN").exists()
    assert len([w for w in caught if issubclass(w.category, UntrustedPluginWarning)]) == 1


def test_a_plugin_in_a_model_folder_being_loaded_never_runs(planted_folder, monkeypatch, fresh_registry):
    """The folder is on sys.path (``python F/script.py`` puts it there), but it is not the current folder."""
    import importlib

    monkeypatch.syspath_prepend(str(planted_folder))
    importlib.invalidate_caches()
    with pytest.warns(UntrustedPluginWarning, match="model folder"):
        zoo.load(str(planted_folder))
    assert not (planted_folder / "RAN").exists()


@pytest.mark.slow
@pytest.mark.parametrize("command", [["-c", "import zoo; zoo.load('.')"], ["-m", "zoo.cli", "info", "."]])
def test_python_in_a_planted_folder_runs_nothing_from_it(planted_folder, command):
    import subprocess
    import sys

    done = subprocess.run([sys.executable, *command], cwd=planted_folder, capture_output=True, text=True, timeout=120)
    assert not (planted_folder / "RAN").exists(), done.stderr
    assert "did not load plugin distribution(s) 'x'" in done.stderr


@pytest.mark.parametrize("link", ["checkpoints", "tensorboard", "config.json"])
def test_overwrite_never_follows_a_symlink_out_of_the_run_folder(tmp_path, link):
    """The escape: ``--overwrite`` on a folder whose ``checkpoints`` links to another run deleted and
    overwrote that run's files. The link is refused in one line now, before anything is removed."""
    from zoo.folders import RunFolder

    victim = tmp_path / "victim"
    victim.mkdir()
    for name in ("latest.json", "ckpt-000001.safetensors", "events.out.tfevents.1", "keep.txt"):
        (victim / name).write_text("precious")
    (victim / "file.json").write_text("precious")
    out = tmp_path / "run"
    out.mkdir()
    (out / "model.safetensors").write_text("old")
    (out / link).symlink_to(victim / "file.json" if link == "config.json" else victim)
    with pytest.raises(zoo.ZooError, match="symbolic link") as info, RunFolder(out).claim(overwrite=True):
        pass
    assert "\n" not in str(info.value) and link in str(info.value)
    assert sorted(p.read_text() for p in victim.iterdir()) == ["precious"] * 5
    assert (out / "model.safetensors").read_text() == "old"  # nothing removed


def test_zoo_card_refuses_a_symlinked_card_or_figure(tmp_path, tiny_model):
    from zoo.cards import write_model_card

    folder = tmp_path / "model"
    tiny_model(1).save_pretrained(folder)
    secret = tmp_path / "secret.txt"
    secret.write_text("hf_secret_token")
    for name in ("README.md", "samples.png", "train_result.json"):
        (folder / name).symlink_to(secret)
        with pytest.raises(zoo.ZooError, match="symbolic link"):
            write_model_card(folder, samples=False, completions=False)
        (folder / name).unlink()
    assert secret.read_text() == "hf_secret_token"
    write_model_card(folder, samples=False, completions=False)
    assert (folder / "README.md").is_file() and not (folder / "README.md").is_symlink()
