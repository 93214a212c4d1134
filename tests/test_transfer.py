"""zoo.transfer on its own: the limits' settings, the size caps, the clock of a budget, the header check,
and how the hooks reach huggingface_hub's clients. No server: the Hub-facing tests are in test_hub.py and
test_hub_hostile.py (a dead server, a trickling one, hostile headers, oversized files)."""

from __future__ import annotations

import json
import struct
import threading
from types import SimpleNamespace

import httpx2
import pytest

import zoo
from zoo import transfer
from zoo.transfer import Budget, DownloadLimits, LimitExceeded, SizeCap, bounded, cap_of, download_limits


class Clock:
    """A monotonic clock a test moves by hand."""

    def __init__(self):
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_limits_default_and_come_from_the_environment(monkeypatch):
    for name in ("ZOO_HUB_TIMEOUT", "ZOO_HUB_MIN_RATE", "ZOO_HUB_RATE_WINDOW"):
        monkeypatch.delenv(name, raising=False)
    assert download_limits() == DownloadLimits(timeout=20.0, min_rate=10_000.0, rate_window=10.0)
    monkeypatch.setenv("ZOO_HUB_TIMEOUT", " 2.5 ")
    monkeypatch.setenv("ZOO_HUB_MIN_RATE", "")  # empty is unset
    assert download_limits() == DownloadLimits(timeout=2.5)


@pytest.mark.parametrize(
    "name, value, unit",
    [
        ("ZOO_HUB_TIMEOUT", "soon", "seconds"),
        ("ZOO_HUB_MIN_RATE", "-5", "bytes per second"),
        ("ZOO_HUB_RATE_WINDOW", "nan", "seconds"),
        ("ZOO_HUB_TIMEOUT", "0", "seconds"),
        ("ZOO_HUB_TIMEOUT", "inf", "seconds"),
    ],
)
def test_a_bad_limit_setting_is_one_line(monkeypatch, name, value, unit):
    monkeypatch.setenv(name, value)
    with pytest.raises(zoo.HubError, match=f"^{name}='{value}': must be a positive number of {unit}$"):
        download_limits()


def test_the_deadline_grows_with_the_bytes_received_and_then_ends_the_transfer():
    clock = Clock()
    budget = Budget(DownloadLimits(timeout=5, min_rate=100, rate_window=10), clock=clock)
    clock.now += 4.9
    budget.check()  # within the 5 s
    budget.received = 1000  # 10 s more at 100 bytes/s
    clock.now += 10
    budget.check()
    clock.now += 0.2
    with pytest.raises(LimitExceeded, match=r"within the download deadline \(15.1 s; ZOO_HUB_TIMEOUT=5\)"):
        budget.check()


def test_a_push_has_time_for_its_bytes_and_says_push():
    clock = Clock()
    budget = Budget(DownloadLimits(timeout=1, min_rate=100), upload_bytes=500, clock=clock)
    clock.now += 5.5
    budget.check()  # 1 s plus 5 s for the 500 bytes
    clock.now += 1
    with pytest.raises(LimitExceeded, match=r"within the push deadline .*: retry later$"):
        budget.check()


def test_a_stream_below_the_minimum_rate_is_cut_at_the_end_of_its_window():
    clock = Clock()
    budget = Budget(DownloadLimits(timeout=100, min_rate=1000, rate_window=2), clock=clock)
    arrivals = [(0, b"x" * 3000), (2, b"x" * 10), (1, b"x" * 10), (1, b"x" * 10)]  # (seconds after the last, bytes)

    class Body(httpx2.SyncByteStream):
        def __iter__(self):
            for wait, chunk in arrivals:
                clock.now += wait
                yield chunk

    stream = transfer.MeteredStream(Body(), budget, "model.safetensors", SizeCap("an API answer", whole=True))
    received = []
    with pytest.raises(
        LimitExceeded, match=r"^model.safetensors arrived at 10.0 bytes/s over 2.0 s, below the minimum"
    ):
        for chunk in stream:  # the first window (3010 bytes in 2 s) is fast enough, the second is not
            received.append(chunk)
    assert len(received) == 3 and budget.received == 3030


def test_a_request_in_a_budget_gets_its_waits_capped_and_one_outside_is_left_alone():
    request = httpx2.Request("GET", "http://127.0.0.1:9/x", extensions={"timeout": {"connect": 60, "read": 60}})
    transfer._request_hook(request)
    assert request.extensions["timeout"] == {"connect": 60, "read": 60}
    with bounded(DownloadLimits(timeout=3, rate_window=2)):
        transfer._request_hook(request)
    timeout = request.extensions["timeout"]
    assert timeout["connect"] <= 3 and timeout["pool"] <= 3 and timeout["read"] <= 2


def test_a_push_bounds_the_requests_of_huggingface_hubs_worker_threads():
    seen = {}

    def worker():
        request = httpx2.Request("PUT", "http://127.0.0.1:9/upload")
        transfer._request_hook(request)
        seen["timeout"] = request.extensions.get("timeout")

    with bounded(DownloadLimits(timeout=3), upload_bytes=1):
        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
    assert seen["timeout"] is not None and seen["timeout"]["write"] <= 4
    assert transfer._pushes == [] and transfer._budget_here() is None  # the block's end forgets the push


def test_the_hooks_go_on_every_client_the_factory_makes_and_only_once():
    """huggingface_hub replaces its client after a connection error: the factory is wrapped, once."""
    from huggingface_hub.utils import _http

    _http.set_client_factory(lambda: httpx2.Client())
    try:
        transfer.install_hooks()
        transfer.install_hooks()
        factory = _http._GLOBAL_CLIENT_FACTORY
        assert factory.zoo_hooks
        for client in (factory(), _http.get_session()):
            assert client.event_hooks["request"].count(transfer._request_hook) == 1
            assert client.event_hooks["response"].count(transfer._response_hook) == 1
    finally:
        _http.set_client_factory(_http.default_client_factory)


@pytest.mark.parametrize(
    "headers",
    [{"ETag": '"' + "a" * 40 + '"'}, {"ETag": 'W/"' + "B" * 40 + '"'}, {"X-Linked-Etag": '"' + "c" * 64 + '"'}],
)
def test_the_hubs_own_ids_pass(headers):
    answer = SimpleNamespace(headers={"X-Repo-Commit": "d" * 40, **headers})
    transfer.check_path_headers(answer)  # no exception: the Hub's own hex ids are what it accepts


@pytest.mark.parametrize(
    "header, value", [("ETag", '"../../x"'), ("X-Repo-Commit", "/tmp/x"), ("ETag", '"' + "a" * 41)]
)
def test_a_cache_name_that_is_no_hex_id_is_refused(header, value):
    with pytest.raises(transfer.UnsafeAnswer, match=f"answered {header}: .*which is not a hex"):
        transfer.check_path_headers(SimpleNamespace(headers={header: value}))


def test_size_caps_count_every_chunk():
    """The streaming side of the caps, chunk by chunk: no Content-Length needed."""
    assert (cap_of("README.md"), cap_of("samples.png"), cap_of("an API answer")) == (1 << 20, 8 << 20, 16 << 20)
    cap = SizeCap("config.json", whole=True)
    cap.add(b"x" * (1 << 20))
    with pytest.raises(LimitExceeded, match="sent more than 1,048,576 bytes for config.json"):
        cap.add(b"x")
    with pytest.raises(LimitExceeded, match="announces 2,000,000 bytes for config.json"):
        SizeCap("config.json", whole=True).check_announced("2000000")
    header = json.dumps({"t": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}}).encode()
    weights = SizeCap("model.safetensors", whole=True)
    for byte in struct.pack("<Q", len(header)) + header + b"abcd":  # one byte at a time: the header arrives split
        weights.add(bytes([byte]))
    with pytest.raises(LimitExceeded, match=f"sent more than {8 + len(header) + 4} bytes"):
        weights.add(b"e")
    with pytest.raises(LimitExceeded, match="declares a safetensors header of"):
        SizeCap("model.safetensors", whole=True).add(struct.pack("<Q", 1 << 40))
    with pytest.raises(LimitExceeded, match="does not start with a safetensors header"):
        SizeCap("model.safetensors", whole=True).add(struct.pack("<Q", 2) + b"[]")
