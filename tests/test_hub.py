"""Hub download and publish against a local fake Hub: round trip, pinning, offline, every clear error."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import zoo
from zoo.sources import resolve_entry
from zoo.testing.hub import TOKEN, silent_server
from zoo.weights import file_sha256

pytestmark = pytest.mark.usefixtures("fake_hub")


@pytest.fixture
def hub_entry(register_entry):
    """``hub_entry(**fields)`` registers an ``independent`` digits entry at run time and returns its name."""
    return lambda **fields: (
        register_entry(zoo.PretrainedEntry(architecture="independent", dataset="digits", **fields)).name
    )


def offline(monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def test_push_then_load_round_trip(fake_hub, capsys, caplog, tiny_model, tiny_batch):
    caplog.set_level(logging.DEBUG)
    model = tiny_model(0)
    url = zoo.push_to_hub(model, "alice/ind")
    oid = fake_hub.repos["alice/ind"].branches["main"]
    assert url == f"{fake_hub.url}/alice/ind/commit/{oid}"
    commits = [p for m, p in fake_hub.requests if p.startswith("/api/models/alice/ind/commit/")]
    assert len(commits) == 1  # the whole folder in one commit
    files = fake_hub.files("alice/ind")
    assert {"config.json", "model.safetensors", "README.md", "samples.png"} <= set(files)
    assert json.loads(files["config.json"])["architecture"] == "independent"
    assert b'zoo.load("alice/ind")' in files["README.md"]

    loaded = zoo.load("alice/ind")
    x = tiny_batch
    assert torch.equal(loaded.log_prob(x), model.log_prob(x))
    assert loaded.pretrained_info["source"].endswith(oid)  # the cache snapshot of that commit
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err + caplog.text


def test_push_folder_adds_a_card_and_a_registered_name_loads_verified(
    fake_hub, hub_entry, tmp_path, tiny_model, tiny_batch
):
    model = tiny_model(1)
    folder = zoo.save_pretrained(model, tmp_path / "ind", dataset="digits")
    (folder / "checkpoints").mkdir()
    (folder / "checkpoints" / "last.safetensors").write_bytes(b"training state")
    zoo.push_to_hub(folder, "alice/named", commit_message="first weights")
    assert not (folder / "README.md").exists()  # the card is written into the staged upload, not the folder
    assert set(fake_hub.files("alice/named")) == {
        ".gitattributes",
        "config.json",
        "model.safetensors",
        "README.md",
        "samples.png",
    }
    assert b"# alice/named" in fake_hub.files("alice/named")["README.md"]
    name = hub_entry(name="ind-hub", repo_id="alice/named", sha256=file_sha256(folder / "model.safetensors"))
    assert zoo.model_info(name)["location"] == "hub: alice/named@main"
    x = tiny_batch
    assert torch.equal(zoo.load(name).log_prob(x), model.log_prob(x))


def test_revision_pinning_loads_each_commit(fake_hub, hub_entry, tiny_model, tiny_batch):
    first, second = tiny_model(2), tiny_model(3)
    zoo.push_to_hub(first, "alice/pinned")
    commit_a = fake_hub.repos["alice/pinned"].branches["main"]
    zoo.push_to_hub(second, "alice/pinned")
    commit_b = fake_hub.repos["alice/pinned"].branches["main"]
    assert commit_a != commit_b
    x = tiny_batch
    assert torch.equal(zoo.load("alice/pinned").log_prob(x), second.log_prob(x))
    assert torch.equal(zoo.load("alice/pinned", revision=commit_a).log_prob(x), first.log_prob(x))
    assert torch.equal(zoo.load("alice/pinned", revision=commit_b).log_prob(x), second.log_prob(x))

    # The index pins commit A with its hash; another pinned revision is not held to A's hash.
    sha_a = file_sha256(
        resolve_entry(
            zoo.PretrainedEntry(
                name="tmp", architecture="independent", dataset="digits", repo_id="alice/pinned", revision=commit_a
            )
        )
        / "model.safetensors"
    )
    name = hub_entry(name="ind-pinned", repo_id="alice/pinned", revision=commit_a, sha256=sha_a)
    assert torch.equal(zoo.load(name).log_prob(x), first.log_prob(x))
    assert torch.equal(zoo.load(name, revision=commit_b).log_prob(x), second.log_prob(x))


def test_push_to_a_new_branch(fake_hub, tiny_model, tiny_batch):
    main_model, branch_model = tiny_model(4), tiny_model(5)
    zoo.push_to_hub(main_model, "alice/branches")
    url = zoo.push_to_hub(branch_model, "alice/branches", revision="experiment")
    repo = fake_hub.repos["alice/branches"]
    assert url.endswith(repo.branches["experiment"])
    x = tiny_batch
    assert torch.equal(zoo.load("alice/branches", revision="experiment").log_prob(x), branch_model.log_prob(x))
    assert torch.equal(zoo.load("alice/branches").log_prob(x), main_model.log_prob(x))


def test_offline_mode_serves_from_cache_without_requests(fake_hub, hub_entry, monkeypatch, tiny_model, tiny_batch):
    model = tiny_model(6)
    zoo.push_to_hub(model, "alice/cached")
    name = hub_entry(name="ind-cached", repo_id="alice/cached")
    zoo.load(name)  # fills the cache
    offline(monkeypatch)
    before = len(fake_hub.requests)
    x = tiny_batch
    assert torch.equal(zoo.load(name).log_prob(x), model.log_prob(x))
    assert torch.equal(zoo.load("alice/cached").log_prob(x), model.log_prob(x))
    assert len(fake_hub.requests) == before


def test_offline_mode_without_cache_says_so_and_how_to_fix_it(fake_hub, monkeypatch, tiny_model):
    zoo.push_to_hub(tiny_model(7), "alice/uncached")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # set after huggingface_hub was imported: still honoured
    before = len(fake_hub.requests)
    with pytest.raises(zoo.HubError) as info:
        zoo.load("alice/uncached")
    msg = str(info.value)
    assert msg.startswith(
        "Hub repo 'alice/uncached' (revision 'main'): HF_HUB_OFFLINE=1 is set and config.json is not in the Hugging "
        "Face cache"
    )
    assert "unset HF_HUB_OFFLINE" in msg and "zoo list --pretrained" in msg
    assert "\n" not in msg
    assert len(fake_hub.requests) == before


def test_corrupted_download_is_refused(fake_hub, hub_entry, tiny_model):
    model = tiny_model(8)
    zoo.push_to_hub(model, "alice/corrupt")
    good = file_sha256_of(fake_hub.files("alice/corrupt")["model.safetensors"])
    name = hub_entry(name="ind-corrupt", repo_id="alice/corrupt", sha256=good)
    fake_hub.corrupt.add("model.safetensors")
    with pytest.raises(zoo.HubError) as info:
        zoo.load(name)
    msg = str(info.value)
    assert msg.startswith(
        "pretrained model 'ind-corrupt' (Hub repo 'alice/corrupt', revision 'main'): model.safetensors has sha256 "
    )
    assert f"the pretrained index expects {good}" in msg
    bad = file_sha256_of(_flip_last(fake_hub.files("alice/corrupt")["model.safetensors"]))
    assert bad in msg
    # The corrupted copy is still refused on the next load, from cache.
    with pytest.raises(zoo.HubError, match="refusing to load"):
        zoo.load(name)


def test_index_hash_mismatch_is_refused(fake_hub, hub_entry, tiny_model):
    zoo.push_to_hub(tiny_model(9), "alice/changed")
    name = hub_entry(name="ind-changed", repo_id="alice/changed", sha256="0" * 64)
    with pytest.raises(zoo.HubError, match=f"expects {'0' * 64}; refusing to load"):
        zoo.load(name)


def test_missing_repo(fake_hub):
    with pytest.raises(zoo.HubError) as info:
        zoo.load("alice/does-not-exist")
    assert str(info.value) == (
        f"Hub repo 'alice/does-not-exist' (revision 'main'): repository not found on {fake_hub.url} "
        "(check the name; a private repo needs HF_TOKEN or `hf auth login`)"
    )


def test_missing_file(fake_hub):
    fake_hub.commit("alice/no-weights", {"config.json": b"{}"})
    with pytest.raises(zoo.HubError) as info:
        zoo.load("alice/no-weights")
    assert str(info.value) == (
        "Hub repo 'alice/no-weights' (revision 'main'): file 'model.safetensors' not found in the repo "
        "(a zoo model repo has config.json and model.safetensors)"
    )


def test_missing_revision(fake_hub, tiny_model):
    zoo.push_to_hub(tiny_model(10), "alice/revs")
    with pytest.raises(zoo.HubError) as info:
        zoo.load("alice/revs", revision="v9")
    assert str(info.value) == (
        "Hub repo 'alice/revs' (revision 'v9'): revision 'v9' not found (use a branch, tag or commit of the repo)"
    )


def test_readme_is_optional(fake_hub, tiny_model, tiny_batch):
    model = tiny_model(11)
    zoo.push_to_hub(model, "alice/no-card")
    files = fake_hub.files("alice/no-card")
    fake_hub.commit("alice/no-card", {}, deleted=["README.md"])
    x = tiny_batch
    loaded = zoo.load("alice/no-card")
    assert torch.equal(loaded.log_prob(x), model.log_prob(x))
    assert "README.md" in files and not (Path(loaded.pretrained_info["source"]) / "README.md").exists()


def closed_port_url() -> str:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}"


def test_no_network_and_no_cache_is_one_clear_line(fake_hub, hub_entry, monkeypatch):
    closed = closed_port_url()
    monkeypatch.setenv("HF_ENDPOINT", closed)
    hub_entry(name="pixelcnn-cifar10-test", repo_id="zoo-models/pixelcnn-cifar10")
    reg = zoo.registry.get_registry()
    names = [n for n, p in reg.pretrained.items() if p.entry.repo_id and p.entry.published and not p.entry.bundled]
    for name in names:
        entry = reg.entry(name)
        start = time.perf_counter()
        with pytest.raises(zoo.HubError) as info:
            zoo.load(name)
        assert time.perf_counter() - start < 5
        assert str(info.value) == (
            f"pretrained model {name!r} (Hub repo {entry.repo_id!r}, revision {entry.revision!r}): "
            f"cannot reach the Hub at {closed} and there is no cached copy; use a bundled offline model instead "
            "(see `zoo list --pretrained`), or retry with network access"
        )


def test_unpublished_entries_say_so_with_the_recipe_and_no_request(fake_hub):
    reg = zoo.registry.get_registry()
    unpublished = [n for n, p in reg.pretrained.items() if not p.entry.available]
    assert "pixelcnn-cifar10" in unpublished
    before = len(fake_hub.requests)
    for name in unpublished:
        entry = reg.entry(name)
        with pytest.raises(zoo.HubError) as info:
            zoo.load(name)
        assert str(info.value) == (
            f"weights for {name} are not published yet (Hub repo {entry.repo_id}); to train them: {entry.recipe}"
        )
    assert len(fake_hub.requests) == before


@pytest.mark.slow
def test_cli_without_network_prints_one_line(tmp_path):
    """The real command in a fresh process: HF_ENDPOINT set before huggingface_hub is imported."""
    name = "zoo-models/pixelcnn-cifar10"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))}
    env.update(HF_ENDPOINT=closed_port_url(), HF_HOME=str(tmp_path / "hf"), HF_HUB_DISABLE_TELEMETRY="1")
    code = "import sys; from zoo.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, "sample", name, "--n", "1", "--out", str(tmp_path / "s.png")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert "zoo-models/pixelcnn-cifar10" in proc.stderr and "`zoo list --pretrained`" in proc.stderr
    assert "cannot reach the Hub" in proc.stderr


def test_push_without_token_is_refused_and_never_shows_one(fake_hub, monkeypatch, tiny_model):
    monkeypatch.setenv("HF_TOKEN", "hf_wrong_token_do_not_print")
    with pytest.raises(zoo.HubError) as info:
        zoo.push_to_hub(tiny_model(12), "alice/secret")
    msg = str(info.value)
    assert msg.startswith(f"push to Hub repo 'alice/secret' at {fake_hub.url}: not authorised (HTTP 401)")
    assert "HF_TOKEN" in msg and "hf_wrong_token" not in msg
    assert "alice/secret" not in fake_hub.repos


def test_push_rejects_a_folder_that_is_not_a_model(tmp_path):
    with pytest.raises(zoo.WeightsError, match="config.json: file not found"):
        zoo.push_to_hub(tmp_path, "alice/empty")


def test_bundled_entries_resolve_in_their_package(tmp_path, monkeypatch, tiny_model):
    (tmp_path / "shipper").mkdir()
    (tmp_path / "shipper" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    entry = zoo.PretrainedEntry(
        name="ind-local", architecture="independent", dataset="digits", bundled="ind-local", package="shipper"
    )
    folder = tmp_path / "shipper" / "pretrained" / "ind-local"
    with pytest.raises(
        zoo.WeightsError, match="bundled model 'ind-local': .* has no config.json and model.safetensors"
    ):
        resolve_entry(entry)
    zoo.save_pretrained(tiny_model(13), folder)
    assert resolve_entry(entry) == folder
    with pytest.raises(zoo.WeightsError, match="bundled model 'ind-local': .*No module named 'nowhere'"):
        resolve_entry(entry.model_copy(update={"package": "nowhere"}))
    with pytest.raises(zoo.HubError, match="bundled with zoo; revision= applies only to Hub models"):
        resolve_entry(entry, revision="v1")


# -- helpers -------------------------------------------------------------------
def _flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0xFF])


def file_sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_cli_push_then_load_by_repo_and_errors_are_one_line(fake_hub, tmp_path, capsys, tiny_model, tiny_batch):
    from zoo.cli import main

    model = tiny_model(14)
    folder = zoo.save_pretrained(model, tmp_path / "cli-model", dataset="digits")
    assert main(["card", str(folder), "--recipe", "zoo train independent --dataset digits --out x"]) == 0
    assert main(["push", str(folder), "--repo", "bob/cli", "--revision", "v1"]) == 0
    out = capsys.readouterr()
    oid = fake_hub.repos["bob/cli"].branches["v1"]
    assert f"{fake_hub.url}/bob/cli/commit/{oid}" in out.out
    assert TOKEN not in out.out + out.err
    assert b"zoo train independent --dataset digits --out x" in fake_hub.files("bob/cli", "v1")["README.md"]
    x = tiny_batch
    assert torch.equal(zoo.load("bob/cli", revision="v1").log_prob(x), model.log_prob(x))

    assert main(["sample", "bob/missing", "--n", "1", "--out", str(tmp_path / "s.png")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "repository not found" in err and "bob/missing" in err


def test_only_known_hub_routes_are_used(fake_hub, tiny_model):
    zoo.push_to_hub(tiny_model(15), "alice/routes")
    zoo.load("alice/routes")
    unknown = [
        r
        for r in fake_hub.requests
        if r[1].startswith("/api/") and r[1].split("/")[2] not in ("repos", "models", "validate-yaml")
    ]
    assert unknown == []


def test_private_repo_needs_the_token(fake_hub, monkeypatch, tiny_model, tiny_batch):
    model = tiny_model(16)
    zoo.push_to_hub(model, "alice/private", private=True)
    assert fake_hub.repos["alice/private"].private
    x = tiny_batch
    assert torch.equal(zoo.load("alice/private").log_prob(x), model.log_prob(x))  # HF_TOKEN is set
    monkeypatch.delenv("HF_TOKEN")  # an uncached revision, so the answer comes from the Hub
    with pytest.raises(zoo.HubError, match="'alice/private' .*repository not found.*private repo needs HF_TOKEN"):
        zoo.load("alice/private", revision=fake_hub.repos["alice/private"].branches["main"][:7])


def test_invalid_repo_id_is_a_clear_error(fake_hub, tiny_model):
    with pytest.raises(zoo.HubError, match=r"Hub repo 'alice/bad name' \(revision 'main'\): not a valid Hub repo id"):
        zoo.load("alice/bad name")
    with pytest.raises(zoo.HubError, match="push to Hub repo .bad name!.: not a valid Hub repo id"):
        zoo.push_to_hub(tiny_model(17), "bad name!")


def test_every_bundled_model_with_a_hub_repo_publishes_there_and_loads_back(fake_hub, tmp_path):
    """`zoo push` of each bundled real-data model to the repo its entry names, then a load from the Hub."""
    import shutil

    from zoo.cli import main

    reg = zoo.registry.get_registry()
    publishable = [p.entry for p in reg.pretrained.values() if p.entry.bundled and p.entry.repo_id]
    assert any(e.name == "pixelcnn-binarized-mnist" for e in publishable)
    for entry in publishable:
        folder = tmp_path / entry.name  # a copy: pushing writes the card and samples into the folder
        shutil.copytree(entry.folder, folder)
        assert main(["push", str(folder), "--repo", entry.repo_id]) == 0
        files = fake_hub.files(entry.repo_id)
        assert file_sha256_of(files["model.safetensors"]) == entry.sha256  # the weights the index pins
        hub_copy = entry.model_copy(update={"bundled": None, "published": True})
        from_hub, bundled = zoo.load_folder(resolve_entry(hub_copy)).state_dict(), zoo.load(entry.name).state_dict()
        assert all(torch.equal(from_hub[k], v) for k, v in bundled.items()) and from_hub.keys() == bundled.keys()


# -- bounded waits: a dead server, a trickling one, and the cache lock ------------------------------
def test_server_that_accepts_and_never_answers_ends_at_the_deadline(fake_hub, monkeypatch):
    monkeypatch.setenv("ZOO_HUB_TIMEOUT", "1")
    with silent_server() as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        start = time.perf_counter()
        with pytest.raises(zoo.HubError) as info:
            zoo.load("alice/silent")
        elapsed = time.perf_counter() - start
    msg = str(info.value)
    assert msg.startswith(
        f"Hub repo 'alice/silent' (revision 'main'): no complete answer from {url} within the download deadline ("
    )
    assert "ZOO_HUB_TIMEOUT=1)" in msg and "\n" not in msg
    assert elapsed < 4, elapsed  # the deadline, plus at most one of huggingface_hub's 1 s retry pauses


def lock_files(home: Path) -> list[Path]:
    return sorted((home / "hub" / ".locks").rglob("*.lock"))


def test_trickling_server_is_cut_by_the_minimum_rate_and_the_lock_is_released(
    fake_hub, tmp_path, monkeypatch, tiny_model, tiny_batch
):
    from filelock import FileLock

    model = tiny_model(18)
    zoo.push_to_hub(model, "alice/slow")
    monkeypatch.setenv("ZOO_HUB_MIN_RATE", "1000")
    monkeypatch.setenv("ZOO_HUB_RATE_WINDOW", "0.5")
    fake_hub.trickle["model.safetensors"] = 0.05  # 20 bytes/s
    start = time.perf_counter()
    with pytest.raises(zoo.HubError) as info:
        zoo.load("alice/slow")
    elapsed = time.perf_counter() - start
    msg = str(info.value)
    assert msg.startswith("Hub repo 'alice/slow' (revision 'main'): model.safetensors arrived at ")
    assert "below the minimum of 1000 bytes/s (ZOO_HUB_MIN_RATE)" in msg and "\n" not in msg
    assert elapsed < 3, elapsed
    locks = lock_files(tmp_path / "hf_home")
    assert locks
    for path in locks:  # nobody holds them: another process sharing the cache is not blocked
        lock = FileLock(path, timeout=0)
        lock.acquire()
        lock.release()
    fake_hub.trickle.clear()
    x = tiny_batch
    assert torch.equal(zoo.load("alice/slow").log_prob(x), model.log_prob(x))


def test_two_downloads_sharing_the_cache_both_end(fake_hub, monkeypatch, tiny_model):
    """The second waits on the cache lock the first holds; both end within the limits."""
    import threading

    zoo.push_to_hub(tiny_model(19), "alice/shared")
    monkeypatch.setenv("ZOO_HUB_MIN_RATE", "1000")
    monkeypatch.setenv("ZOO_HUB_RATE_WINDOW", "0.5")
    fake_hub.trickle["model.safetensors"] = 0.05
    errors = []

    def load():
        try:
            zoo.load("alice/shared")
        except zoo.HubError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=load) for _ in range(2)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    assert time.perf_counter() - start < 8
    assert len(errors) == 2 and all("below the minimum" in e for e in errors)


@pytest.mark.parametrize(
    "name, value, unit",
    [
        ("ZOO_HUB_TIMEOUT", "soon", "seconds"),
        ("ZOO_HUB_MIN_RATE", "-5", "bytes per second"),
        ("ZOO_HUB_RATE_WINDOW", "nan", "seconds"),
        ("ZOO_HUB_TIMEOUT", "0", "seconds"),
    ],
)
def test_bad_limit_settings_are_one_line(fake_hub, monkeypatch, name, value, unit):
    monkeypatch.setenv(name, value)
    with pytest.raises(zoo.HubError, match=f"^{name}='{value}': must be a positive number of {unit}$"):
        zoo.load("alice/x")


def test_limits_do_not_cut_a_healthy_download_and_leave_other_calls_alone(
    fake_hub, monkeypatch, tiny_model, tiny_batch
):
    model = tiny_model(20)
    zoo.push_to_hub(model, "alice/healthy")
    monkeypatch.setenv("ZOO_HUB_TIMEOUT", "0.5")  # shorter than the whole test, not than one answer
    x = tiny_batch
    assert torch.equal(zoo.load("alice/healthy").log_prob(x), model.log_prob(x))
    zoo.push_to_hub(tiny_model(21), "alice/healthy")  # publishing runs outside any download budget


def test_edited_config_is_refused_by_its_pin(fake_hub, hub_entry, tiny_model, tiny_batch):
    model = tiny_model(22)
    zoo.push_to_hub(model, "alice/pinned-config")
    files = fake_hub.files("alice/pinned-config")
    name = hub_entry(
        name="ind-pinned-config",
        repo_id="alice/pinned-config",
        sha256=file_sha256_of(files["model.safetensors"]),
        config_sha256=file_sha256_of(files["config.json"]),
    )
    x = tiny_batch
    assert torch.equal(zoo.load(name).log_prob(x), model.log_prob(x))
    edited = json.loads(files["config.json"])
    edited["metrics"] = {"test": {"bits_per_dim": 0.01}}  # a flattering edit that the weights pin cannot see
    fake_hub.commit("alice/pinned-config", {"config.json": json.dumps(edited).encode()})
    with pytest.raises(zoo.HubError) as info:
        zoo.load(name)
    msg = str(info.value)
    assert msg.startswith(
        "pretrained model 'ind-pinned-config' (Hub repo 'alice/pinned-config', revision 'main'): "
        "config.json has sha256 "
    )
    assert f"the pretrained index expects {file_sha256_of(files['config.json'])}; refusing" in msg


def test_files_announced_on_xet_come_over_plain_http_within_the_limits(fake_hub, tiny_model, tiny_batch):
    """hf_xet would move the bytes outside huggingface_hub's HTTP client, where no deadline applies."""
    model = tiny_model(23)
    zoo.push_to_hub(model, "alice/on-xet")
    fake_hub.xet = True
    x = tiny_batch
    assert torch.equal(zoo.load("alice/on-xet").log_prob(x), model.log_prob(x))
    assert not [p for m, p in fake_hub.requests if "xet-read-token" in p]


def test_push_leaves_the_folder_untouched_and_prints_a_pinned_entry(fake_hub, tmp_path, capsys, tiny_model, tiny_batch):
    from zoo.cli import main

    folder = tmp_path / "m"
    zoo.save_pretrained(tiny_model(30), folder, dataset="digits")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert main(["push", str(folder), "--repo", "alice/pinned-entry"]) == 0
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no card or samples written here
    assert "README.md" in fake_hub.files("alice/pinned-entry")  # the upload got a card
    out = capsys.readouterr().out
    snippet = out[out.index("zoo.PretrainedEntry(") :]
    entry = eval(snippet, {"zoo": zoo})  # the printed entry is ready to paste
    assert entry.revision == fake_hub.repos["alice/pinned-entry"].branches["main"]
    assert entry.sha256 == file_sha256(folder / "model.safetensors")
    assert entry.config_sha256 == file_sha256(folder / "config.json")
    x = tiny_batch
    loaded = zoo.load_folder(resolve_entry(entry.model_copy(update={"name": "pinned"})))
    assert torch.equal(loaded.log_prob(x), tiny_model(30).log_prob(x))


def test_push_refuses_a_card_written_for_other_weights(fake_hub, tmp_path, tiny_model):
    from zoo.cards import read_card, write_model_card

    folder = zoo.save_pretrained(tiny_model(31), tmp_path / "m", dataset="digits")
    write_model_card(folder, name="alice/card")
    assert read_card(folder).data.to_dict()["weights_sha256"] == file_sha256(folder / "model.safetensors")
    zoo.save_pretrained(tiny_model(32), folder)  # new weights, the old card stays
    with pytest.raises(zoo.HubError, match="README.md describes other weights .* write it again with `zoo card`"):
        zoo.push_to_hub(folder, "alice/card")
    assert "alice/card" not in fake_hub.repos
    write_model_card(folder, name="alice/card")
    zoo.push_to_hub(folder, "alice/card")
