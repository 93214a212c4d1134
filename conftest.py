"""Suite-wide test settings: no network, one thread per worker, caches in a temporary folder; the real data sets.

Fixtures only the core's tests share are in tests/conftest.py.
"""

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TQDM_DISABLE", "1")
# the PixelRNN plugins' fused C++ kernels are built at first use (a minute): the suite runs their PyTorch
# path, and the tests of the kernels (plugins/zoo-*/tests/test_fused.py, marked slow) switch them on
os.environ.setdefault("ZOO_NATIVE", "0")

import pytest  # noqa: E402
import torch  # noqa: E402

if os.environ.get("PYTEST_XDIST_WORKER"):
    torch.set_num_threads(1)  # two workers on two cores: do not oversubscribe

from zoo.testing.hub import isolate_huggingface_hub  # noqa: E402

CLOSED_PORT = "http://127.0.0.1:9"  # the discard port: nothing listens, a request fails at once
#: where the real data sets are: $ZOO_DATA as the suite was started with (each test gets a ZOO_DATA of
#: its own below), else the shared/data folder beside the repository
REAL_DATA = os.environ.get("ZOO_DATA") or str(Path(__file__).resolve().parent.parent / "shared" / "data")


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Keep every test away from the user's data, Hub cache and token, and from the real Hub.

    Tests that need a Hub start the fake one (zoo/testing/hub.py, the ``fake_hub`` fixture in
    tests/conftest.py), which re-points all of this.
    """
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "zoo-data"))
    isolate_huggingface_hub(monkeypatch, tmp_path / "hf-home", CLOSED_PORT, token=None)
    yield


@pytest.fixture
def real_data(monkeypatch) -> Path:
    """The folder of the real data sets (MNIST ...), with ZOO_DATA pointed at it for the test; a test that
    measures on real images asks for it and is skipped, with the reason, on a machine without the files."""
    folder = Path(REAL_DATA)
    if not folder.is_dir():
        pytest.skip(f"the real data sets are not on this machine (set ZOO_DATA or put them in {folder})")
    monkeypatch.setenv("ZOO_DATA", str(folder))
    return folder
