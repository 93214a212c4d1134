"""Every bundled pretrained model, whatever plugin ships it, passes the pretrained check offline.

Models of the 8x8 digits are re-measured on their whole test split. Models of real data sets are
re-measured on the first 500 test images and compared with the figure their card records for those
images; they need the data files, found in ``$ZOO_DATA`` or ``../shared/data`` beside the
repository, and are skipped with the reason when the files are not on the machine.
"""

import os
from pathlib import Path

import pytest

from zoo.errors import DatasetError
from zoo.registry import get_registry
from zoo.testing import check_pretrained

ENTRIES = {name: p.entry for name, p in get_registry().pretrained.items() if p.entry.bundled}
SMALL = ("digits", "digits-binarized")  # data sets that ship with the install
QUICK = 500
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
DATA = os.environ.get("ZOO_DATA") or (str(SHARED_DATA) if SHARED_DATA.is_dir() else None)


def test_the_plugins_bundle_models():
    assert len(ENTRIES) >= 10  # 2 each: independent, pixelcnn, row-lstm, diagonal-bilstm, vae
    assert len({e.package for e in ENTRIES.values()}) >= 6  # each plugin ships its own


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_bundled_model(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = ENTRIES[name]
    if entry.dataset in SMALL:
        check_pretrained(name)
        return
    if DATA is None:
        pytest.skip(f"{entry.dataset} files are not on this machine (set ZOO_DATA or put them in {SHARED_DATA})")
    monkeypatch.setenv("ZOO_DATA", DATA)
    try:
        check_pretrained(name, limit=QUICK)
    except DatasetError as exc:
        pytest.skip(f"{entry.dataset} cannot be loaded here: {exc}")
