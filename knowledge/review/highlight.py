"""Word-level highlighting of changed passages, as rich markup that scraped text cannot break.

Every scraped string goes through `textsafe.safe()` (terminal escapes, control characters) and then
`rich.markup.escape()` (so "[bold]" in a page is shown as text, not applied as style). The helpers
shared with `collector diff` live in knowledge.diff.markup and are re-exported here.
"""
from __future__ import annotations

import difflib
import re

from knowledge.diff.markup import (CONTEXT_WORDS, clip, fact_labels, mark, markup,  # noqa: F401 (re-exported)
                                   rich_diff_ops, trim)
from knowledge.textsafe import safe

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]+")


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


def rich_word_diff(old: str, new: str, *, plain: bool = False, context: int | None = CONTEXT_WORDS) -> str:
    """Removed words red and struck through, added words green, the rest as is (long unchanged
    stretches shortened to `context` words around each change)."""
    parts = []
    ops = word_diff(safe(old), safe(new))
    for i, (op, text) in enumerate(ops):
        if op == "equal":
            parts.append(markup(trim(text, first=i == 0, last=i == len(ops) - 1, keep=context)))
        elif not text.strip():
            parts.append(markup(text))
        else:
            lead, core, trail = _split_space(text)
            parts.append(f"{markup(lead)}{mark(op, core, plain)}{markup(trail)}")
    return "".join(parts)


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    start = text.index(core)
    return text[:start], core, text[start + len(core):]
