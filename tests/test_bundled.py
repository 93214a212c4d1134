"""Every bundled pretrained model, whatever plugin ships it, passes the pretrained check offline.

Models of the 8x8 digits are re-measured on their whole test split. Models of real data sets are
re-measured on the first 500 test images and compared with the figure their card records for those
images; they need the data files (the ``real_data`` fixture: ``$ZOO_DATA`` or ``../shared/data`` beside
the repository) and are skipped with the reason when the files are not on the machine.
"""

import pytest

from zoo.errors import DatasetError
from zoo.registry import get_registry
from zoo.testing import check_pretrained

ENTRIES = {name: p.entry for name, p in get_registry().pretrained.items() if p.entry.bundled}
SMALL = ("digits", "digits-binarized")  # data sets that ship with the install


def test_the_plugins_bundle_models():
    assert len(ENTRIES) >= 10  # 2 each: independent, pixelcnn, row-lstm, diagonal-bilstm, vae
    assert len({e.package for e in ENTRIES.values()}) >= 6  # each plugin ships its own


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_bundled_model(name, monkeypatch, request, quick=500):
    """``quick``: the test images a model of real data is re-measured on (its card records the figure)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    entry = ENTRIES[name]
    if entry.dataset in SMALL:
        check_pretrained(name)
        return
    request.getfixturevalue("real_data")  # the data files, or a skip that says where they are looked for
    try:
        check_pretrained(name, limit=quick)
    except DatasetError as exc:
        pytest.skip(f"{entry.dataset} cannot be loaded here: {exc}")
