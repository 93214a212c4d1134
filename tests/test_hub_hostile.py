"""A hostile Hub endpoint cannot make a download write outside HF_HOME (issue 21, the escape)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from types import SimpleNamespace

import pytest

import zoo
from zoo.hub import _check_path_headers
from zoo.testing.hub import FakeHub

from .test_hub import make_model

SITE = Path("lib/python3/site-packages/evil.pth")


def _files_under(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()}


@pytest.mark.parametrize("header", ["ETag", "X-Linked-Etag", "X-Repo-Commit"])
@pytest.mark.parametrize("shape", ["relative", "absolute", "pth"])
def test_a_path_in_a_header_is_refused_and_nothing_lands_outside(fake_hub, tmp_path, header, shape):
    zoo.push_to_hub(make_model(31), "alice/target")
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


@pytest.mark.parametrize(
    "headers",
    [{"ETag": '"' + "a" * 40 + '"'}, {"ETag": 'W/"' + "B" * 40 + '"'}, {"X-Linked-Etag": '"' + "c" * 64 + '"'}],
)
def test_the_hubs_own_ids_pass(headers):
    answer = SimpleNamespace(headers={"X-Repo-Commit": "d" * 40, **headers})
    _check_path_headers(answer)  # no exception: the Hub's own hex ids are what it accepts


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
