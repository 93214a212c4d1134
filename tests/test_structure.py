"""The core's shape: imports run down the layers (counting imports inside functions), and the code is lint-clean.

Both checks run the same tools a developer runs by hand (``lint-imports``, ``ruff``; see CONTRIBUTING.md),
so a layering break, a cycle or a lint error fails ``make test`` rather than waiting for a review. The layers
are the import-linter contracts in pyproject.toml; docs/ARCHITECTURE.md explains them.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# One step of an import-linter report: "zoo.errors -> zoo.api (l.103)" or "(l.12, l.40)".
_STEP = re.compile(r"(zoo(?:\.\w+)*) -> (zoo(?:\.\w+)*) \(l\.([\d, l.]+)\)")


def _lint_imports(root: Path) -> tuple[int, str]:
    """Run the import-linter contracts on the ``zoo`` package under ``root``; the report, each import as file:line.

    A subprocess, so that the package analysed is the one under ``root`` (the editable install points at this
    checkout); ``--no-cache`` so that nothing is written into the tree.
    """
    linter = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert linter, "import-linter is not installed: pip install -e '.[test]' -c constraints.txt (make venv does)"
    run = subprocess.run(
        [linter, str(root / "pyproject.toml"), "--no-cache", "--no-logo"],
        cwd=root,
        env={"PATH": "", "PYTHONPATH": str(root), "PYTHONNOUSERSITE": "1"},
        capture_output=True,
        text=True,
    )
    located = []
    for importer, imported, lines in _STEP.findall(run.stdout):
        path = Path(*importer.split("."))
        path = path / "__init__.py" if (root / path).is_dir() else path.with_suffix(".py")
        located += [f"{path}:{n.strip()}: {importer} imports {imported}" for n in lines.replace("l.", "").split(",")]
    report = run.stdout[run.stdout.find("Broken contracts") :] if run.returncode else run.stdout
    return run.returncode, "\n".join(dict.fromkeys(located)) + "\n" + report + run.stderr


def test_the_core_imports_only_down_its_layers_and_has_no_cycles():
    """The layer order in pyproject.toml holds for every import in zoo/ (fix the import, or the layers and the docs)."""
    code, report = _lint_imports(ROOT)
    assert code == 0, f"zoo's layering is broken (docs/ARCHITECTURE.md, 'Layers'):\n{report}"


def test_a_broken_layer_is_named_by_file_and_line(tmp_path):
    """A lower module importing a higher one inside a function still breaks the contract, and the report says where."""
    shutil.copytree(ROOT / "zoo", tmp_path / "zoo", ignore=shutil.ignore_patterns("__pycache__", "pretrained"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    errors = tmp_path / "zoo" / "errors.py"
    text = errors.read_text()
    errors.write_text(text + "\n\ndef _late():\n    from .api import load\n\n    return load\n")
    line = text.count("\n") + 4
    code, report = _lint_imports(tmp_path)
    assert code != 0
    assert f"zoo/errors.py:{line}: zoo.errors imports zoo.api" in report, report


def test_the_architecture_notes_name_every_layer():
    """docs/ARCHITECTURE.md's layer table names each module the contract places, so the notes move with it."""
    import tomllib

    contract = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"][0]
    modules = {m.strip() for layer in contract["layers"] for m in re.split(r"[|:]", layer)}
    notes = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    section = notes[notes.index("## Layers") : notes.index("\n## ", notes.index("## Layers") + 1)]
    missing = sorted(m for m in modules if f"`{m}`" not in section)
    assert missing == [], f"docs/ARCHITECTURE.md, section Layers, does not name {missing}: add them to its table"


def test_the_package_init_only_re_exports():
    """zoo/__init__.py defines nothing: the front door is zoo.api, so no worker needs the package. Its
    module ``__getattr__`` and ``__dir__`` only hand out, on first use, names it would otherwise import."""
    import ast

    tree = ast.parse((ROOT / "zoo" / "__init__.py").read_text())
    defined = [n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))]
    assert set(defined) <= {"__getattr__", "__dir__"}


def test_no_core_module_imports_the_package_or_the_command_line():
    """``from . import x`` and ``import zoo`` inside zoo/ would tie a worker to the front door (``python -m zoo``
    is the command line's second door, so ``zoo/__main__.py`` runs it)."""
    import ast

    offenders = []
    for path in sorted((ROOT / "zoo").rglob("*.py")):
        if path.name == "__init__.py" and path.parent.name == "zoo" or path.name in ("cli.py", "__main__.py"):
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
