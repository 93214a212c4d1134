"""Every bundled pretrained model, whatever plugin ships it, passes the pretrained check offline."""

import pytest

from zoo.registry import get_registry
from zoo.testing import check_pretrained

BUNDLED = sorted(name for name, (entry, _) in get_registry().pretrained.items() if entry.bundled)


def test_the_plugins_bundle_models():
    assert len(BUNDLED) >= 10  # 2 each: independent, pixelcnn, row-lstm, diagonal-bilstm, vae


@pytest.mark.parametrize("name", BUNDLED)
def test_bundled_model(name, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    check_pretrained(name)
