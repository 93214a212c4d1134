"""The READMEs name only pretrained models that exist, with the figures their entries record."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import zoo

ROOT = Path(__file__).resolve().parents[1]
READMES = sorted([ROOT / "README.md", *ROOT.glob("plugins/*/README.md")])
ROW = re.compile(r"^\| `([a-z0-9-]+)` \|(.*)$", re.M)


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_pretrained_name_in_a_readme_table_is_registered(readme):
    """A table row that starts with a model-like name (``name-dataset``) names a registered model or architecture."""
    known = set(zoo.get_registry().pretrained) | set(zoo.list_models())  # unpublished entries too
    datasets = set(zoo.get_registry().datasets)
    for name, _ in ROW.findall(readme.read_text()):
        if any(name.endswith("-" + d) for d in datasets):
            assert name in known, f"{readme.relative_to(ROOT)} names {name!r}, which no plugin registers"


def _written(value: float, text: str) -> bool:
    """Whether ``text`` shows ``value`` rounded to the precision it is written with (``82.41``, ``642.90``)."""
    for figure in re.findall(r"(?<![\w.])(\d+\.\d+)(?![\w.])", text):
        decimals = len(figure.split(".")[1])
        if abs(float(figure) - value) <= 0.5 * 10**-decimals + 1e-9:
            return True
    return False


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_bundled_model_in_a_readme_table_shows_its_own_test_nll(readme):
    """A table row naming a bundled model says it is bundled and shows the test NLL its config.json records,
    so a README cannot keep an old number, or "not published", after the model changes."""
    reg = zoo.get_registry()
    for name, rest in ROW.findall(readme.read_text()):
        if name not in reg.pretrained or not reg.entry(name).bundled:
            continue
        test = (zoo.model_info(name).get("metrics") or {}).get("test")
        where = f"{readme.relative_to(ROOT)}: {name}"
        assert "not published" not in rest or "bundled" in rest, f"{where} is bundled, the table says not published"
        if test:
            assert _written(test["nll_nats"], rest), f"{where} records {test['nll_nats']:.4f} nats; the row: {rest}"
