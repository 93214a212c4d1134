"""The core's shape: imports run one way (counting imports inside functions), and the code is lint-clean.

Both checks run the same tools a developer runs by hand (see CONTRIBUTING.md), so a cycle or a lint
error fails ``make test`` rather than waiting for a review.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CYCLES = ROOT.parent / "shared" / "tools" / "import_cycles.py"


def test_no_import_cycles_in_the_core():
    if not CYCLES.is_file():
        pytest.skip(f"{CYCLES} is not beside this checkout")
    run = subprocess.run([sys.executable, str(CYCLES), "zoo"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_the_package_init_only_re_exports():
    """zoo/__init__.py defines nothing: the front door is zoo.api, so no worker needs the package."""
    import ast

    tree = ast.parse((ROOT / "zoo" / "__init__.py").read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    assert defined == []


def test_no_core_module_imports_the_package_or_the_command_line():
    """``from . import x`` and ``import zoo`` inside zoo/ would tie a worker to the front door."""
    import ast

    offenders = []
    for path in sorted((ROOT / "zoo").rglob("*.py")):
        if path.name == "__init__.py" and path.parent.name == "zoo" or path.name in ("cli.py",):
            continue
        if path.parent.name == "testing" or path.name == "testing.py":
            continue  # the testing kit is a user of the zoo, above the front door
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module is None:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} from . import ...")
            if isinstance(node, ast.ImportFrom) and node.module == "cli" and node.level == 1:
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports the command line")
    assert offenders == []


def test_ruff_lint_and_format_are_clean():
    """``ruff check`` and ``ruff format --check`` as configured in pyproject.toml (line length 120)."""
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed: pip install -e '.[test]' -c constraints.txt")
    for args in (["check", "."], ["format", "--check", "."]):
        run = subprocess.run([ruff, *args], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 0, f"ruff {' '.join(args)} (fix with `make format`):\n{run.stdout[-3000:]}{run.stderr}"
