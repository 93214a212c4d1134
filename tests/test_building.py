"""Huge settings are refused before the real build, in one line that names the override (zoo.building)."""

import subprocess
import sys
import time

import pytest

import zoo
from zoo.building import MAX_PARAMETERS_ENV


def test_create_refuses_a_huge_model_before_building_it():
    start = time.perf_counter()
    match = rf"pixelcnn with these settings holds [\d,]+ weights .*{MAX_PARAMETERS_ENV}="
    with pytest.raises(zoo.ConfigError, match=match):
        zoo.create("pixelcnn", hidden=4096, layers=256, height=1024, width=1024)
    assert time.perf_counter() - start < 10


def test_the_cap_is_explicit_and_can_be_moved(monkeypatch):
    small = {"height": 4, "width": 4, "levels": 2, "hidden": 4, "layers": 1}
    monkeypatch.setenv(MAX_PARAMETERS_ENV, "10")
    with pytest.raises(zoo.ConfigError, match=r"more than the 10 zoo builds unasked"):
        zoo.create("pixelcnn", **small)
    monkeypatch.setenv(MAX_PARAMETERS_ENV, "1e6")
    assert zoo.create("pixelcnn", **small).config.hidden == 4
    monkeypatch.setenv(MAX_PARAMETERS_ENV, "lots")
    with pytest.raises(zoo.ConfigError, match=rf"{MAX_PARAMETERS_ENV}='lots' is not a number"):
        zoo.create("pixelcnn", **small)


@pytest.mark.slow
def test_zoo_create_with_huge_settings_is_one_line(tmp_path):
    run = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "create", "row-lstm", "--out", tmp_path / "m"]
        + ["--set", "hidden=4096", "--set", "layers=256", "--set", "height=1024", "--set", "width=1024"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.count("\n") == 1 and "row-lstm with these settings holds" in run.stderr, run.stderr
    assert not (tmp_path / "m").exists()
