"""Word-level highlighting of changed passages, as rich markup that scraped text cannot break.

Every scraped string goes through `textsafe.safe()` (terminal escapes, control characters) and then
`rich.markup.escape()` (so "[bold]" in a page is shown as text, not applied as style).
"""
from __future__ import annotations

import difflib
import re

from rich.markup import escape

from knowledge.textsafe import safe

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]+")
CONTEXT_WORDS = 12   # unchanged words kept on each side of a change; longer stretches become "…"


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


def _mark(op: str, text: str, plain: bool) -> str:
    """One changed run of words: coloured, or `[-removed-]` / `{+added+}` (git's word-diff
    notation) when the output has no colours, so the change stays visible in a pipe or a log."""
    if plain:
        return markup(f"[-{text}-]" if op == "delete" else f"{{+{text}+}}")
    return f"[{'red strike' if op == 'delete' else 'bold green'}]{markup(text)}[/]"


def trim(text: str, *, first: bool, last: bool, keep: int | None = CONTEXT_WORDS) -> str:
    """Shorten an unchanged stretch to `keep` words next to each change: a reviewer needs the
    context of a change, not the whole page section. `first`/`last`: the stretch opens/closes the
    passage (so only one side borders a change). keep=None keeps everything."""
    words = text.split()
    if keep is None or (first and last) or len(words) <= 2 * keep + 2:
        return text
    lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
    head, tail = " ".join(words[:keep]), " ".join(words[-keep:])
    if first:
        return f"… {tail}{trail}"
    if last:
        return f"{lead}{head} …"
    return f"{lead}{head} … {tail}{trail}"


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
            parts.append(f"{markup(lead)}{_mark(op, core, plain)}{markup(trail)}")
    return "".join(parts)


def _split_space(text: str) -> tuple[str, str, str]:
    core = text.strip()
    start = text.index(core)
    return text[:start], core, text[start + len(core):]


def rich_diff_ops(ops: list, *, plain: bool = False, context: int | None = CONTEXT_WORDS) -> str:
    """Render word-diff ops as computed by `collector diff` ([{"op", "text"}], words joined by
    spaces) the same way; malformed entries are skipped rather than trusted."""
    ops = [o for o in ops if isinstance(o, dict) and isinstance(o.get("text"), str)]
    parts = []
    for i, item in enumerate(ops):
        op, text = item.get("op"), item["text"]
        if op in ("delete", "insert"):
            parts.append(_mark(op, text, plain))
        else:
            parts.append(markup(trim(text, first=i == 0, last=i == len(ops) - 1, keep=context)))
    return " ".join(parts)


def clip(text: str, limit: int | None) -> str:
    """A long added/removed passage cut at a word boundary, saying how much was left out."""
    if limit is None or len(text) <= limit + 80:     # not worth hiding a few words
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut} … (+{len(text) - len(cut)} characters)"


def fact_labels(facts: object) -> list[str]:
    """Facts from a flag payload or the baseline as 'category: value' strings (not yet safe).

    Accepts {category: [values]} (what `collector diff` stores), or a list of
    {"category", "value"} dicts / (category, value) pairs / plain strings."""
    if isinstance(facts, dict):
        out = []
        for category, values in facts.items():
            values = values if isinstance(values, (list, tuple, set)) else [values]
            out += [f"{category}: {v}" for v in values]
        return out
    out = []
    for fact in facts or []:
        if isinstance(fact, dict) and fact.get("category") and fact.get("value") is not None:
            out.append(f"{fact['category']}: {fact['value']}")
        elif isinstance(fact, (list, tuple)) and len(fact) == 2:
            out.append(f"{fact[0]}: {fact[1]}")
        else:
            out.append(str(fact))
    return out
