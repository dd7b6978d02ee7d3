"""Word-level highlighting of changed passages, as rich markup that scraped text cannot break.

Every scraped string goes through `textsafe.safe()` (terminal escapes, control characters) and then
`rich.markup.escape()` (so "[bold]" in a page is shown as text, not applied as style).
"""
from __future__ import annotations

import difflib
import re

from rich.markup import escape

from knowledge.textsafe import safe

_TOKENS = re.compile(r"\s+|[^\s]+")


def markup(text: object, *, keep_newlines: bool = True) -> str:
    """Scraped text made inert for rich: sanitised, then markup-escaped."""
    return escape(safe(text, keep_newlines=keep_newlines))


def word_diff(old: str, new: str) -> list[tuple[str, str]]:
    """[(op, text)] with op in equal/delete/insert, word by word (whitespace kept with words)."""
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("equal", "".join(a[i1:i2])))
            continue
        if tag in ("delete", "replace"):
            ops.append(("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("insert", "".join(b[j1:j2])))
    return ops


def rich_word_diff(old: str, new: str) -> str:
    """Removed words red and struck through, added words green, the rest plain."""
    parts = []
    for op, text in word_diff(safe(old), safe(new)):
        if op == "equal":
            parts.append(markup(text))
        elif text.strip():
            style = "red strike" if op == "delete" else "bold green"
            lead, core, trail = _split_space(text)
            parts.append(f"{markup(lead)}[{style}]{markup(core)}[/]{markup(trail)}")
        else:
            parts.append(markup(text))
    return "".join(parts)


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    start = text.index(core)
    return text[:start], core, text[start + len(core):]


def fact_label(fact: object) -> str:
    """A fact from a flag payload or the baseline as 'category: value' (plain text, not yet safe)."""
    if isinstance(fact, dict):
        category, value = fact.get("category"), fact.get("value")
        if category and value is not None:
            return f"{category}: {value}"
        return ", ".join(f"{k}={v}" for k, v in fact.items())
    if isinstance(fact, (list, tuple)) and len(fact) == 2:
        return f"{fact[0]}: {fact[1]}"
    return str(fact)
