"""Habits of the test suite that a test can hold (issue 23.8): a test that starts a process is marked ``slow``,
so ``make test-fast`` is the edit-test loop and ``make test`` still runs everything."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPAWNS = ("subprocess.", "Popen(", "sys.executable")  # what starting a Python or a tool looks like here
#: tests that run a checker taking a second or so, and stay in ``make test-fast`` on purpose: the layer
#: rule and the lint are what an edit breaks first
QUICK_TOOLS = {"tests/test_structure.py"}


def _marked(decorators: list[ast.expr], src: str, names: tuple[str, ...]) -> bool:
    return any(any(n in ast.get_source_segment(src, d) for n in names) for d in decorators)


def unmarked_spawning_tests(path: Path) -> list[str]:
    """The tests of one file that start a process (directly, or through a helper function of the same
    file) without the ``slow`` mark on themselves or on the module (``install`` tests count as marked)."""
    src = path.read_text()
    tree = ast.parse(src)
    if str(path.relative_to(ROOT)) in QUICK_TOOLS:
        return []
    if "pytestmark = pytest.mark.slow" in src or "pytestmark = pytest.mark.install" in src:
        return []
    functions = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
    helpers = {
        f.name
        for f in functions
        if not f.name.startswith("test_") and any(s in ast.get_source_segment(src, f) for s in SPAWNS)
    }
    found = []
    for f in functions:
        if not f.name.startswith("test_") or _marked(f.decorator_list, src, ("slow", "install")):
            continue
        body = ast.get_source_segment(src, f)
        called = {n.func.id for n in ast.walk(f) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        uses = called | {a.arg for a in f.args.args}  # a helper called, or a fixture of that name
        if any(s in body for s in SPAWNS) or uses & helpers:
            found.append(f"{path.relative_to(ROOT)}::{f.name}")
    return found


def test_every_test_that_starts_a_process_is_marked_slow():
    files = sorted([*ROOT.glob("tests/test_*.py"), *ROOT.glob("plugins/*/tests/test_*.py")])
    assert len(files) > 40
    found = [name for path in files for name in unmarked_spawning_tests(path)]
    assert not found, "start a process without @pytest.mark.slow:\n" + "\n".join(found)
