"""The pytest side of the fake Hub (the server itself ships in :mod:`zoo.testing.hub`).

The ``fake_hub`` fixture starts a :class:`~zoo.testing.hub.FakeHub` in a thread and points
huggingface_hub at it with a temporary ``HF_HOME`` and a client that refuses any host but
127.0.0.1, so a test can never reach the real Hub.
"""

from __future__ import annotations

import pytest

from zoo.testing.hub import TOKEN, FakeHub, isolate_huggingface_hub, silent_server

__all__ = ["FakeHub", "fake_hub", "isolate_huggingface_hub", "silent_server", "TOKEN"]


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
