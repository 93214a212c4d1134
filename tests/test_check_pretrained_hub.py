"""check_pretrained on Hub entries: checked from the Hugging Face cache with no request, or a clear skip."""

from __future__ import annotations

import json
import shutil
import unittest

import pytest

import zoo
from zoo.registry import get_registry
from zoo.testing import NotCached, check_pretrained
from zoo.weights import file_sha256


@pytest.fixture
def publish(fake_hub, tmp_path, register_entry):
    """Push a copy of the bundled ``independent-digits`` (``edit`` may change its config.json) to the
    fake Hub, and register it as a Hub-only entry pinned to that commit, as a plugin would."""
    bundled = get_registry().entry("independent-digits")

    def publish_as(name: str, edit=None) -> zoo.PretrainedEntry:
        folder = tmp_path / name
        shutil.copytree(bundled.folder, folder)
        if edit is not None:
            meta = json.loads((folder / "config.json").read_text())
            edit(meta)
            (folder / "config.json").write_text(json.dumps(meta))
        repo_id = f"alice/{name}"
        zoo.push_to_hub(folder, repo_id)
        entry = bundled.model_copy(
            update={
                "name": name,
                "bundled": None,
                "package": None,
                "repo_id": repo_id,
                "revision": fake_hub.repos[repo_id].branches["main"],
                "sha256": file_sha256(folder / "model.safetensors"),
            }
        )
        return register_entry(entry)

    return publish_as


def test_a_cached_hub_entry_is_checked_without_a_request(fake_hub, publish):
    entry = publish("independent-digits-hub")
    before = len(fake_hub.requests)
    with pytest.raises(NotCached) as info:
        check_pretrained(entry.name)
    assert len(fake_hub.requests) == before  # not in the cache: said so, nothing fetched
    message = str(info.value)
    assert message.startswith(
        f"independent-digits-hub is on the Hub (alice/independent-digits-hub@{entry.revision}) "
        "and not in the Hugging Face cache ("
    )
    assert "zoo.load('independent-digits-hub')" in message and "\n" not in message
    assert isinstance(info.value, unittest.SkipTest)  # pytest reports it as a skip with this reason

    zoo.load(entry.name)  # the one download, "with network"
    before = len(fake_hub.requests)
    model = check_pretrained(entry.name)
    assert len(fake_hub.requests) == before
    assert model.architecture == "independent"


def test_a_cached_hub_entry_with_a_wrong_metric_fails(fake_hub, publish):
    def worse(meta):
        test = meta["metrics"]["test"]
        test["nll_nats"] += 1.0
        test["bits_per_dim"] = zoo.evaluation.bits_per_dim(test["nll_nats"], 64)

    entry = publish("independent-digits-worse", edit=worse)
    zoo.load(entry.name)
    with pytest.raises(
        AssertionError,
        match=r"independent-digits-worse: test NLL measured 108\.10\d+ nats, "
        r"recorded 109\.10\d+",
    ):
        check_pretrained(entry.name)


def test_a_cached_file_that_fails_its_pin_fails(fake_hub, publish):
    entry = publish("independent-digits-altered")
    weights = zoo.sources.resolve_entry(entry) / "model.safetensors"
    blob = weights.resolve()
    data = blob.read_bytes()
    blob.write_bytes(data[:-1] + bytes([data[-1] ^ 0xFF]))
    with pytest.raises(AssertionError, match="independent-digits-altered: .*model.safetensors has sha256"):
        check_pretrained(entry.name)


def test_an_unpublished_entry_says_so():
    with pytest.raises(AssertionError, match="pixelcnn-cifar10: weights are not published yet"):
        check_pretrained("pixelcnn-cifar10")
