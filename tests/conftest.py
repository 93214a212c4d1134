"""Fixtures that several test files of the core share (the suite-wide settings are in ../conftest.py).

- ``fake_hub``: a running fake Hugging Face Hub, huggingface_hub pointed at it;
- ``register_entry``: register a ``PretrainedEntry`` at run time as a plugin would, unregistered afterwards;
- ``tiny_model`` and ``tiny_batch``: a seeded 3x3 ``independent`` model with random weights, and images for it;
- ``one_line_error``: the command line's stderr, checked to be one line;
- ``digits_subsets``: small train and val splits of the digits for trainer tests.
"""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.data import load_dataset
from zoo.testing.hub import FakeHub, isolate_huggingface_hub


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


@pytest.fixture
def register_entry():
    """``register_entry(entry)`` registers a PretrainedEntry through a run-time plugin of its own, as a plugin
    would, and returns it; every plugin it added is unregistered when the test ends."""
    names = []

    def register(entry: zoo.PretrainedEntry) -> zoo.PretrainedEntry:
        class Plugin:
            @zoo.hookimpl
            def zoo_register_pretrained(self, register):
                register(entry)

        names.append(zoo.register_plugin(Plugin(), f"test-entry-{entry.name}"))
        return entry

    yield register
    for name in names:
        zoo.unregister_plugin(name)


@pytest.fixture
def tiny_model():
    """``tiny_model(seed)``: a 3x3 ``independent`` model with 4 levels and random weights from ``seed``, so
    two seeds give models that tell each other apart on :func:`tiny_batch`."""

    def make(seed: int) -> zoo.Model:
        torch.manual_seed(seed)
        model = zoo.create("independent", levels=4, height=3, width=3)
        with torch.no_grad():
            model.logit_table.normal_()
        return model

    return make


@pytest.fixture
def tiny_batch() -> torch.Tensor:
    """Five seeded images for :func:`tiny_model`'s models."""
    return torch.randint(0, 4, (5, 1, 3, 3), generator=torch.Generator().manual_seed(1))


@pytest.fixture
def one_line_error(capsys):
    """``one_line_error()``: what the command line wrote to stderr so far, which must be one line."""

    def read() -> str:
        err = capsys.readouterr().err
        assert err.count("\n") == 1, err
        return err

    return read


@pytest.fixture(scope="module")
def digits_subsets():
    """The first 256 training and 64 validation digits: a trainer test runs in a second on them."""
    return load_dataset("digits", "train", limit=256), load_dataset("digits", "val", limit=64)
