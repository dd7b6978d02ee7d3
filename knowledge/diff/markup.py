"""Scraped text as Rich markup that cannot break out: sanitised, escaped, changed words marked.

Shared by `collector diff` (knowledge.diff.render) and `collector review` (knowledge.review).
Every scraped string goes through `textsafe.safe()` (terminal escapes, control characters) and then
`rich.markup.escape()` (so "[bold]" in a page is shown as text, not applied as a style). Without
colours (a pipe, NO_COLOR) a change is marked in the text itself, as git's word diff does:
`[-removed-]` and `{+added+}`.
"""
from __future__ import annotations

from rich.markup import escape

from knowledge.textsafe import safe

CONTEXT_WORDS = 12   # unchanged words kept on each side of a change; longer stretches become "…"


def markup(text: object, *, keep_newlines: bool = True) -> str:
    """Scraped text made inert for rich: sanitised, then markup-escaped."""
    return escape(safe(text, keep_newlines=keep_newlines))


def mark(op: str, text: str, plain: bool) -> str:
    """One changed run of words: coloured, or `[-removed-]` / `{+added+}` when there are no colours,
    so the change stays visible in a pipe or a log."""
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


def rich_diff_ops(ops: list, *, plain: bool = False, context: int | None = CONTEXT_WORDS,
                  max_changed: int | None = None, max_changes: int | None = None) -> str:
    """Render word-diff ops as computed by `collector diff` ([{"op", "text"}], words joined by
    spaces): unchanged stretches shortened to `context` words around each change; with
    `max_changed` each changed run is cut to that many words, with `max_changes` only the first
    changes are shown (and counted). Malformed entries are skipped."""
    ops = [o for o in ops if isinstance(o, dict) and isinstance(o.get("text"), str)]
    parts = []
    changes = 0
    for i, item in enumerate(ops):
        op, text = item.get("op"), item["text"]
        if op in ("delete", "insert"):
            # A replacement (delete then insert) is one change.
            starts = not (op == "insert" and i > 0 and ops[i - 1].get("op") == "delete")
            if starts:
                changes += 1
            if max_changes is not None and changes > max_changes:
                left = sum(1 for j, o in enumerate(ops[i:], i) if o.get("op") in ("delete", "insert") and not (
                    o.get("op") == "insert" and j > 0 and ops[j - 1].get("op") == "delete"))
                parts.append(markup(f"… (+{left} more change{'s' if left != 1 else ''})"))
                break
            parts.append(mark(op, clip_words(text, max_changed), plain))
        else:
            last = i == len(ops) - 1 or (max_changes is not None and changes >= max_changes)
            parts.append(markup(trim(text, first=i == 0, last=last, keep=context)))
    return " ".join(parts)


def clip(text: str, limit: int | None) -> str:
    """A long passage cut at a word boundary, saying how much was left out."""
    if limit is None or len(text) <= limit + 80:     # not worth hiding a few words
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return f"{cut} … (+{len(text) - len(cut)} characters)"


def clip_words(text: str, limit: int | None) -> str:
    words = text.split()
    if limit is None or len(words) <= limit + 3:
        return text
    return " ".join(words[:limit]) + f" … (+{len(words) - limit} words)"


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
