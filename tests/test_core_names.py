"""The core names no plugin (issue 23.7): what a plugin registers is found through the registry, never
spelt in ``zoo/`` outside docstrings and comments, so removing or renaming a plugin cannot break the core."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from zoo.registry import get_registry

CORE = Path(__file__).resolve().parents[1] / "zoo"


def _docstrings(tree: ast.AST) -> set[int]:
    """The ids of the string constants that are docstrings (of the module, classes and functions)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                found.add(id(first.value))
    return found


BUILTIN = "zoo-builtin"  # the core's own plugin may name what it registers


def plugin_names() -> set[str]:
    """Every plugin other than the core's own, and every architecture and pretrained model it registers."""
    reg = get_registry()
    names = {spec.plugin for spec in reg.models.values()} | {n for n, s in reg.models.items() if s.plugin != BUILTIN}
    names |= {n for n, spec in reg.pretrained.items() if spec.plugin != BUILTIN}
    return names - {BUILTIN}


def test_no_core_string_names_a_plugin_or_what_it_registers():
    """A string that is such a name, or holds one with a hyphen in it (``row-lstm-digits``): a one-word name
    inside a sentence (``made``, in "made these weights") is English, not a plugin."""
    names = plugin_names()
    assert {"pixelcnn", "nade", "row-lstm-digits"} <= names  # the check sees the plugins of this repository
    joined = "|".join(map(re.escape, sorted((n for n in names if "-" in n), key=len, reverse=True)))
    word = re.compile(r"(?<![\w-])(" + joined + r")(?![\w-])")
    found = []
    for path in sorted(CORE.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                match = node.value if node.value in names else (m.group(1) if (m := word.search(node.value)) else None)
                if match:
                    found.append(f"{path.relative_to(CORE.parent)}:{node.lineno}: {match!r}")
    assert not found, "the core names plugins:\n" + "\n".join(found)
