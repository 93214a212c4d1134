"""zoo.sources: what a name means (hf://, a local folder, a bundled or Hub entry, org/name), decided in one
place and without a download, and the folder each source gives."""

from __future__ import annotations

import warnings

import pytest
import torch

import zoo
from zoo.sources import Source, entry_source, fetch, is_hub_repo, model_folder, names_a_model, resolve


def test_each_kind_of_name_resolves_without_a_request(tmp_path, monkeypatch, tiny_model):
    """No fake Hub here and no network: resolving a Hub name asks nobody."""
    monkeypatch.chdir(tmp_path)
    folder = zoo.save_pretrained(tiny_model(50), tmp_path / "runs" / "mine")
    assert resolve("runs/mine") == Source("folder", "runs/mine", folder=folder.relative_to(tmp_path))
    bundled = resolve("pixelcnn-digits")
    assert bundled.kind == "bundled" and bundled.entry.name == "pixelcnn-digits" and bundled.repo_id is None
    assert resolve("alice/x") == Source("hub", "alice/x", repo_id="alice/x", revision="main")
    assert resolve("alice/x", revision="v2").revision == "v2"
    with pytest.raises(zoo.WeightsError, match=r"^runs/nothere: no such model folder$"):
        resolve("runs/nothere")  # its parent is a local folder: a missing folder, not a Hub repo
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain.txt").write_text("")
    with pytest.raises(zoo.WeightsError, match=r"^plain.txt: not a zoo model folder$"):
        resolve("plain.txt")
    with pytest.raises(zoo.UnknownNameError, match="did you mean 'pixelcnn-digits'"):
        resolve("pixelcnn-digit")


def test_the_hub_scheme_names_the_repo_whatever_else_the_name_could_mean(tmp_path, monkeypatch, tiny_model):
    monkeypatch.chdir(tmp_path)
    zoo.save_pretrained(tiny_model(51), tmp_path / "alice" / "x")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert resolve("alice/x").kind == "folder"  # a local folder named like a repo (no entry's repo) is quiet
    assert resolve("hf://alice/x") == Source("hub", "alice/x", repo_id="alice/x", revision="main")
    assert resolve("hf://pixelcnn-digits").kind == "hub"  # not the bundled model: the scheme says Hub
    assert is_hub_repo("hf://alice/x") and is_hub_repo("bob/y") and not is_hub_repo("alice/x")  # alice/ is here
    assert names_a_model("hf://a/b") and names_a_model("alice/x") and names_a_model("pixelcnn-digits")
    assert not names_a_model("pixelcnn") and not names_a_model("plain/missing/deep")


def test_an_entry_is_bundled_unless_a_revision_asks_for_its_repo():
    entry = zoo.PretrainedEntry(
        name="both", architecture="independent", dataset="digits", bundled="both", repo_id="alice/both", revision="c1"
    )
    assert entry_source(entry).kind == "bundled"
    hub = entry_source(entry, revision="c2")
    assert (hub.kind, hub.repo_id, hub.revision, hub.name) == ("hub", "alice/both", "c2", "both")
    only_hub = entry.model_copy(update={"bundled": None})
    assert entry_source(only_hub).revision == "c1"  # the entry's own pin
    with pytest.raises(zoo.HubError, match="'bundled-only' is bundled with zoo; revision= applies only to Hub"):
        entry_source(entry.model_copy(update={"name": "bundled-only", "repo_id": None}), revision="c2")


def test_a_local_folder_that_shadows_an_entrys_repo_says_how_to_reach_the_repo(tmp_path, monkeypatch, tiny_model):
    monkeypatch.chdir(tmp_path)
    repo = zoo.get_registry().entry("pixelcnn-binarized-mnist").repo_id
    zoo.save_pretrained(tiny_model(52), tmp_path / repo)
    with pytest.warns(UserWarning, match=rf"not the pretrained model or Hub repo named '{repo}' \(write hf://{repo}"):
        assert resolve(repo).kind == "folder"


def test_a_repo_named_with_the_scheme_loads_from_the_hub_beside_a_local_folder_of_that_name(
    fake_hub, tmp_path, monkeypatch, tiny_model, tiny_batch
):
    hub_model, local_model = tiny_model(53), tiny_model(54)
    zoo.push_to_hub(hub_model, "alice/both")
    monkeypatch.chdir(tmp_path)
    zoo.save_pretrained(local_model, tmp_path / "alice" / "both")
    x = tiny_batch
    assert torch.equal(zoo.load("alice/both").log_prob(x), local_model.log_prob(x))
    from_hub = zoo.load("hf://alice/both")
    assert torch.equal(from_hub.log_prob(x), hub_model.log_prob(x))
    assert from_hub.pretrained_info["name"] == "alice/both"  # what a fine-tune records as base_model: the repo id
    assert model_folder("hf://alice/both") == fetch(resolve("hf://alice/both"))
    with pytest.raises(zoo.HubError, match=r"^Hub repo 'not a repo' \(revision 'main'\): not a valid Hub repo id"):
        zoo.load("hf://not a repo")
