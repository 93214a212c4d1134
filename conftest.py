"""Suite-wide test settings: no network, one thread per worker, an empty zoo cache."""

import os

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)  # two workers on two cores: do not oversubscribe


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Keep every test away from the user's caches: data, Hub cache and tokens live in tmp."""
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "zoo-data"))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    yield
