"""A distribution name of its own (issue 22.6): the core is ``genzoo`` on PyPI (``zoo`` there is another
project), each plugin ``genzoo-NAME`` pinning a compatible core range, one version source, and config.json
naming the distribution that brings an architecture back."""

from __future__ import annotations

import importlib.metadata
import json
import re
from pathlib import Path

import pytest
import tomllib

import zoo
from zoo._version import DISTRIBUTION, plugin_distribution

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = sorted([*ROOT.glob("plugins/*/pyproject.toml"), ROOT / "examples/zoo-example-plugin/pyproject.toml"])


def project(path: Path) -> dict:
    return tomllib.loads(path.read_text())["project"]


def test_the_core_has_its_own_name_and_one_version_source():
    core = project(ROOT / "pyproject.toml")
    assert core["name"] == DISTRIBUTION == "genzoo"
    assert "version" not in core and core["dynamic"] == ["version"]  # read from zoo/_version.py
    assert importlib.metadata.version(DISTRIBUTION) == zoo.__version__  # what the editable install says


@pytest.mark.parametrize("path", PLUGINS, ids=lambda p: p.parent.name)
def test_every_plugin_follows_the_scheme_and_pins_a_compatible_core(path):
    meta = project(path)
    folder = path.parent.name  # plugins/zoo-NAME (the example: zoo-example-plugin)
    name = folder.removeprefix("zoo-").removesuffix("-plugin")
    assert meta["name"] == f"genzoo-{name}"
    (core,) = [d for d in meta["dependencies"] if re.match(r"genzoo\b", d) or d.startswith("zoo")]
    major, minor = (int(v) for v in zoo.__version__.split(".")[:2])
    assert core == f"genzoo>={major}.{minor},<{major}.{minor + 1}", core  # 0.x: a minor release may break plugins
    for entry in meta["entry-points"]["zoo"]:  # the scheme names the distribution of each entry point
        assert plugin_distribution(entry) == meta["name"] or folder == "zoo-example-plugin"


def test_config_json_records_the_plugins_distribution_and_a_missing_plugin_names_the_pip_line(tmp_path):
    model = zoo.create("pixelcnn", levels=2, height=4, width=4, hidden=8, layers=1)
    folder = zoo.save_pretrained(model, tmp_path / "m")
    meta = json.loads((folder / "config.json").read_text())
    assert meta["plugin_distribution"] == "genzoo-pixelcnn"
    assert meta["plugin_version"] == importlib.metadata.version("genzoo-pixelcnn")

    meta["architecture"] = "pixelcnn-plus-plus"  # as a machine without that plugin sees it
    (folder / "config.json").write_text(json.dumps(meta))
    with pytest.raises(zoo.WeightsError) as info:
        zoo.load(folder)
    message = str(info.value)
    assert "unknown architecture 'pixelcnn-plus-plus'" in message
    assert message.endswith(f"pip install genzoo-pixelcnn; {meta['plugin_version']} made these weights")


def test_zoo_plugins_names_the_cores_distribution():
    builtin = [p for p in zoo.plugins() if p["source"] == "built-in"]
    assert [p["distribution"] for p in builtin] == ["genzoo"]
