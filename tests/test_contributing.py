"""CONTRIBUTING.md's example plugin is real: its files match the guide, it installs, it passes the kit."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "zoo-example-plugin"


def test_guide_shows_the_example_files_verbatim():
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    blocks = dict(re.findall(r"```\w* title=(\S+)\n(.*?)```", guide, re.S))
    files = sorted(
        str(p.relative_to(EXAMPLE)) for p in EXAMPLE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    )
    files.remove("README.md")  # the example's own README, the one a plugin copies; the guide links it instead
    assert "examples/zoo-example-plugin/README.md" in guide
    assert sorted(blocks) == files
    for name, text in blocks.items():
        assert (EXAMPLE / name).read_text() == text, f"CONTRIBUTING.md's copy of {name} is out of date"


@pytest.mark.slow
def test_example_installs_through_its_entry_point_and_passes_its_tests(tmp_path):
    # what pip writes on install: the package importable, plus NAME.dist-info with entry_points.txt
    meta = tomllib.loads((EXAMPLE / "pyproject.toml").read_text())["project"]
    info = tmp_path / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n")
    eps = "".join(f"{k} = {v}\n" for k, v in meta["entry-points"]["zoo"].items())
    (info / "entry_points.txt").write_text(f"[zoo]\n{eps}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(EXAMPLE)])}
    listing = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "list", "left*"], capture_output=True, text=True, env=env
    )
    assert "left-context  example" in listing.stdout, listing.stdout + listing.stderr
    tests = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(EXAMPLE),
            str(EXAMPLE / "tests"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=EXAMPLE,
    )
    assert tests.returncode == 0, tests.stdout[-2000:] + tests.stderr[-2000:]
    assert "2 passed" in tests.stdout
