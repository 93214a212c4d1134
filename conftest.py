"""Suite-wide test settings: no network, one thread per worker, caches in a temporary folder."""

import importlib.util
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)  # two workers on two cores: do not oversubscribe

_spec = importlib.util.spec_from_file_location("_zoo_hub_server", Path(__file__).parent / "tests" / "hub_server.py")
_hub_server = sys.modules[_spec.name] = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_hub_server)
fake_hub = _hub_server.fake_hub  # the fake Hugging Face Hub fixture, for every test that names it

CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: nothing listens, a request fails at once


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Keep every test away from the user's data, Hub cache and token, and from the real Hub.

    Tests that need a Hub start the fake one (zoo/testing/hub.py, fixture in tests/hub_server.py),
    which re-points all of this.
    """
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "zoo-data"))
    _hub_server.isolate_huggingface_hub(monkeypatch, tmp_path / "hf-home", CLOSED_PORT, token=None)
    yield
