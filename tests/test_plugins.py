"""Plugin discovery through entry points, and isolation of broken plugins."""

import os
import subprocess
import sys

import pytest

import zoo
from zoo import registry

from .plugin_fixtures import write_all, write_hostile

pytestmark = pytest.mark.filterwarnings("ignore::zoo.registry.PluginConflictWarning")


@pytest.fixture
def installed(tmp_path, monkeypatch):
    site = write_all(tmp_path / "site")
    monkeypatch.syspath_prepend(str(site))
    registry.reload()
    yield site
    registry.reload()


def by_name():
    return {p["name"]: p for p in zoo.plugins()}


def test_good_plugin_is_discovered(installed):
    plugins = by_name()
    assert plugins["zoo_good_ext"]["errors"] == []
    assert plugins["zoo_good_ext"]["version"] == "0.1"
    assert "good-ext" in zoo.list_models()
    model = zoo.create("good-ext", height=2, width=2, levels=2)
    assert model.log_prob(model.sample(2)).shape == (2,)


def test_broken_import_is_recorded_not_fatal(installed):
    errors = by_name()["zoo_broken"]["errors"]
    assert len(errors) == 1
    assert "failed to load zoo_broken: ImportError: this plugin needs libfoo 9" in errors[0]
    assert "independent" in zoo.list_models() and "good-ext" in zoo.list_models()


def test_taken_name_is_reported_and_first_owner_kept(installed):
    errors = by_name()["zoo_dup"]["errors"]
    assert errors == [
        "architecture 'independent' is also registered by zoo-builtin, which keeps it "
        "(the built-in plugin keeps its names); ignored"
    ]
    assert registry.get_registry().model("independent").plugin == "zoo-builtin"
    assert "dup-fine" in zoo.list_models()  # the plugin's other names still work


def test_hook_that_raises_is_recorded(installed):
    errors = by_name()["zoo_hook_raises"]["errors"]
    assert errors == ["zoo_register_datasets raised RuntimeError: dataset index is corrupt"]


@pytest.mark.slow
def test_cli_shows_broken_plugins_and_keeps_working(installed):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(installed), os.environ.get("PYTHONPATH", "")])}
    run = lambda *a: subprocess.run([sys.executable, "-m", "zoo.cli", *a], capture_output=True, text=True, env=env)  # noqa: E731
    out = run("plugins")
    assert out.returncode == 0, out.stderr
    line = next(row for row in out.stdout.splitlines() if row.startswith("zoo_broken"))
    assert "ERROR: failed to load zoo_broken: ImportError: this plugin needs libfoo 9" in line
    assert any(row.startswith("zoo_good_ext") and row.endswith("ok") for row in out.stdout.splitlines())
    listing = run("list")
    assert listing.returncode == 0
    assert "good-ext" in listing.stdout and "independent" in listing.stdout
    assert "plugin(s) with errors; see `zoo plugins`" in listing.stderr


def test_every_hook_is_documented_in_code_and_in_the_guide():
    import inspect
    from pathlib import Path

    from zoo import hookspecs

    guide = (Path(__file__).resolve().parent.parent / "CONTRIBUTING.md").read_text()
    hooks = [name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("zoo_")]
    assert len(hooks) == 5
    for name in hooks:
        assert (getattr(hookspecs, name).__doc__ or "").strip(), f"{name} has no docstring"
        assert f"`{name}`" in guide, f"CONTRIBUTING.md does not describe {name}"


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    site = write_hostile(tmp_path / "hostile-site")
    monkeypatch.syspath_prepend(str(site))
    registry.reload()
    yield site
    registry.reload()


def test_misbehaving_plugins_are_recorded_and_the_rest_works(hostile):
    with pytest.warns(registry.PluginConflictWarning):
        plugins = by_name()
    assert plugins["zoo_reentrant_import"]["errors"][0].startswith(
        "failed to load zoo_reentrant_import: zoo.errors.PluginError: a plugin used the zoo registry while plugins "
        "are loading"
    )
    assert plugins["zoo_reentrant_hook"]["errors"][0].startswith(
        "zoo_register_models raised zoo.errors.PluginError: a plugin used the zoo registry while plugins are loading"
    )
    assert plugins["zoo_exits"]["errors"] == ["failed to load zoo_exits: SystemExit: 3"]
    assert plugins["zoo_misspelt"]["errors"][0].startswith("implements unknown hook(s) zoo_register_model; zoo's hooks")
    assert "config_class must be a zoo.ModelConfig subclass" in plugins["zoo_not_pydantic"]["errors"][0]
    assert "plain-config" not in zoo.list_models()
    # the impostor sorts first, but the genuine plugin keeps its names, and only the impostor is blamed
    assert plugins["pixelcnn"]["errors"] == []
    assert plugins["aaa_impostor"]["errors"] == [
        "architecture 'pixelcnn' is also registered by pixelcnn, which keeps it (the name belongs to pixelcnn); "
        "ignored",
        "pretrained model 'pixelcnn-digits' is also registered by pixelcnn, which keeps it "
        "(the name belongs to pixelcnn); ignored",
    ]
    assert registry.get_registry().model("pixelcnn").cls.__name__ == "PixelCNN"
    assert registry.get_registry().entry("pixelcnn-digits").bundled == "pixelcnn-digits"
    assert zoo.load("pixelcnn-digits").sample(1).shape == (1, 1, 8, 8)


@pytest.mark.slow
def test_import_time_timing_is_recorded_and_shown(installed):
    assert all(p.import_seconds >= 0 for p in registry.get_registry().plugins.values())
    run = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "plugins"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(installed)},
    )
    assert run.returncode == 0 and "import s" in run.stdout.splitlines()[0]


@pytest.mark.slow
def test_cli_survives_a_plugin_that_exits_or_asks_for_the_registry(hostile):
    env = {**os.environ, "PYTHONPATH": str(hostile)}
    run = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "list"], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0 and "pixelcnn" in run.stdout
    assert "plugin(s) with errors; see `zoo plugins`" in run.stderr
