"""Strings zoo did not write, made safe to print and to publish: a downloaded config.json, a card or a
plugin's metadata is data, never markup or terminal control.

Why a module: a ``recipe`` of ``"\\n```\\n## Results\\n| test | 10000 | 1.00 |"`` in a config.json, put into a
card as it is, closes the card's code block and publishes a fake results table; an ANSI escape in a
plugin's name, printed as it is, rewrites the user's terminal. Every such string goes through one of the
functions here on its way out.
"""

from __future__ import annotations

import re

__all__ = ["clean", "printable", "md_text", "md_code", "md_cell", "md_fence", "MAX_SHOWN"]

MAX_SHOWN = 300  # characters of one untrusted string shown in a message: the rest is cut with an ellipsis

# C0 and C1 controls, DEL, and the Unicode format characters that reorder or hide text (bidi overrides)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029\x0b\x0c\x85]+")
_BACKTICKS = re.compile("`+")
_MARKDOWN = re.compile(r"([\\`*\[\]!|#~])")


def clean(value: object) -> str:
    """``value`` as text for a terminal: line breaks and tabs kept, every other control character (an ANSI
    escape, a carriage return that overwrites the line, a bidi override) shown as ``?``."""
    return _CONTROL.sub("?", str(value).replace("\r\n", "\n"))


def printable(value: object, limit: int = MAX_SHOWN) -> str:
    """``value`` as one line of plain text: control characters and line breaks shown as ``?`` / a space,
    cut to ``limit`` characters. For every downloaded string zoo prints."""
    text = _CONTROL.sub("?", _LINE_BREAKS.sub(" ", str(value)))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def md_text(value: object, limit: int = 2000) -> str:
    """``value`` as markdown prose on one line: HTML and markdown punctuation escaped, so it reads as the
    characters it holds (no tag, link, image, heading or table cell comes out of it)."""
    text = printable(value, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", text)


def md_code(value: object, limit: int = 2000, cell: bool = False) -> str:
    """``value`` as an inline code span (literal: markdown and HTML are not interpreted there), delimited
    by more backticks than it holds in a row; ``cell=True`` also escapes ``|`` for a table cell."""
    text = printable(value, limit)
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    span = f"{ticks}{pad}{text}{pad}{ticks}"
    return span.replace("|", "\\|") if cell else span


def md_cell(value: object, limit: int = 200) -> str:
    """``value`` as the plain text of a table cell (see :func:`md_text`; ``|`` cannot end the cell)."""
    return md_text(value, limit)


def md_fence(block: str) -> tuple[str, str]:
    """The body of a fenced code block holding ``block`` (line breaks kept, other controls shown as ``?``)
    and the fence: more backticks than any run inside, so no line of ``block`` can close it."""
    body = "\n".join(_CONTROL.sub("?", line) for line in block.replace("\r\n", "\n").split("\n"))
    longest = max((len(run) for run in _BACKTICKS.findall(body)), default=0)
    return body, "`" * max(3, longest + 1)
