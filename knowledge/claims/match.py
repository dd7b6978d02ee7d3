"""Finding what an assertion talks about in passage text: pure functions, no store access.

Terms are case-insensitive phrases matched on word boundaries (a phrase "dvc run" does not match
"dvc run-cache"), or regular expressions written "re:...". Matching is per sentence, so `context`
words (and the deprecation cues below) must share a sentence with the term.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Sequence

# A sentence ends at . ! ? followed by space, or at a line break (list items, table rows, code).
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=\S)|\n+")
_SENTENCE_END = re.compile(r"[.!?](?=\s+\S)")
# The docs say a named thing is gone or renamed: "X is deprecated", "X has been removed",
# "X was renamed to", "X is no longer supported", "the X command was removed", "X (deprecated)",
# "formerly X", "deprecated X", "replaces X". Only a few linking words may stand between the term
# and the cue, so "the Model Registry's stages are deprecated" does not retire the Model Registry.
_LINK = r"(?:\s+(?:command|decorator|option|flag|feature|function|api|method|module|component|argument|parameter|" \
        r"integration|plugin|support|syntax|field|keyword))?"
_END = r"(?=\s*(?:[.;:!,)]|$|\s(?:in|since|as\s+of|from|with|and|starting)\b))"
_CUE_AFTER = re.compile(
    r"\s*[`'\"]?" + _LINK + r"\s*[`'\"]?\s*(?:\((?:deprecated|removed|legacy)\b|(?:is|are|was|were|has\s+been|"
    r"have\s+been|will\s+be|is\s+now|are\s+now|has\s+now\s+been)\s+(?:now\s+|being\s+|officially\s+)?"
    r"(?:deprecated\b|discontinued\b|retired\b|superseded\b|sunset\b|(?:removed|dropped)" + _END +
    r"|renamed\s+(?:to|as)\b|replaced\s+(?:by|with)\b|no\s+longer\s+(?:supported|available|maintained|recommended|"
    r"documented)\b)|(?:is|are)\s+no\s+longer\s+(?:supported|available|maintained|part)\b)", re.I)
_CUE_BEFORE = re.compile(
    r"\b(?:formerly(?:\s+known\s+as)?|previously\s+(?:known\s+as|called|named)|renamed\s+from)\s*(?:the\s+)?"
    r"(?:`|'|\")?\s*$", re.I)
# The deprecated thing is the term itself only when nothing but a determiner, a capitalised name
# (a tool name, a sentence start) or punctuation stands right before it: "the mleap model flavor
# is deprecated" retires one flavor, not flavors.
_DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "its", "our", "your", "their", "all", "any"}


def prefilter(term: str) -> re.Pattern:
    """A looser pattern for the term on lower-cased text that starts with a literal where it can:
    Python's re scans for a literal prefix fast, so one pass over a whole crawl takes about a
    millisecond (the exact, case-insensitive check runs on the few passages it finds)."""
    if not term.startswith("re:"):
        return re.compile(r"\s+".join(re.escape(w) for w in term.lower().split()))
    src = term[3:]
    while src.startswith("\\b"):
        src = src[2:]
    return re.compile(_lower_regex(src))


def _lower_regex(src: str) -> str:
    """Lower-case a regular expression's letters, leaving escapes (\\S, \\W, \\B, ...) alone."""
    out, i = [], 0
    while i < len(src):
        if src[i] == "\\" and i + 1 < len(src):
            out.append(src[i:i + 2])
            i += 2
            continue
        out.append(src[i].lower())
        i += 1
    return "".join(out)


# Any word a deprecation cue needs: a passage without one has no deprecated mention.
CUE_WORDS = (r"re:deprecat|removed|renamed|replaced|no\s+longer|formerly|previously|discontinu|retired|"
             r"supersed|sunset|dropped|\(legacy")
CUE_WORD = re.compile(CUE_WORDS[3:], re.I)


def sentence_at(text: str, pos: int) -> str:
    """The sentence of `text` around position `pos` (same boundaries as `sentences`)."""
    # (no endpos: the look-ahead of a sentence end must see the text after it)
    last = 0
    for m in _SENTENCE_END.finditer(text, text.rfind("\n", 0, pos) + 1):
        if m.end() > pos:
            break
        last = m.end()
    start = max(text.rfind("\n", 0, pos), last - 1)
    end_nl = text.find("\n", pos)
    m = _SENTENCE_END.search(text, pos)
    ends = [e for e in (end_nl, m.start() + 1 if m else -1) if e != -1]
    return text[start + 1 if start >= 0 else 0: min(ends) if ends else len(text)].strip()


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


@lru_cache(maxsize=4096)
def term_regex(term: str, prefix: bool = False) -> re.Pattern:
    """A compiled, case-insensitive pattern for one term (phrase or "re:..." regular expression).
    With `prefix`, a phrase also matches at the start of a longer word ("experiment" in
    "experiments"): how context words are read."""
    if term.startswith("re:"):
        return re.compile(term[3:], re.I)
    words = [re.escape(w) for w in term.split()]
    # Phrase boundaries: not inside a word ("Spark-based" mentions Spark; a term that must not
    # match a longer command, like "dvc run" in "dvc run-cache", is written as a regex).
    return re.compile(r"(?<![\w@])" + r"\s+".join(words) + ("" if prefix else r"(?!\w)"), re.I)


@lru_cache(maxsize=1024)
def any_regex(terms: tuple[str, ...], prefix: bool = False) -> re.Pattern | None:
    """One pattern matching any of the terms (named groups are not needed: callers re-check)."""
    if not terms:
        return None
    return re.compile("|".join(f"(?:{term_regex(t, prefix).pattern})" for t in terms), re.I)


@dataclass(frozen=True)
class Mention:
    """One sentence that mentions an assertion's term."""

    term: str            # the text that matched
    sentence: str
    deprecated: bool     # the sentence says the term is deprecated / removed / renamed
    in_heading: bool


def find_mentions(text: str, heading_path: Sequence[str], terms: tuple[str, ...],
                  context: tuple[str, ...] = (), except_context: tuple[str, ...] = (),
                  heading_only: bool = False) -> list[Mention]:
    """The sentences of a passage (and its headings) that mention one of `terms`."""
    rx = any_regex(terms)
    if rx is None:
        return []
    ctx, exc = any_regex(context, True), any_regex(except_context, True)
    out: list[Mention] = []
    for heading in heading_path:
        for m in rx.finditer(heading):
            if not (exc and exc.search(heading)) and not (ctx and not ctx.search(heading)):
                out.append(Mention(m.group(0), heading, _deprecated(heading, m), True))
                break
    if heading_only:
        return out
    first = rx.search(text)
    if not first:                # most passages mention nothing: skip the sentence split
        return out
    if ctx is None and exc is None and not CUE_WORD.search(text):
        # Nothing to check per sentence: the first mention (with its sentence) is enough.
        out.append(Mention(first.group(0), sentence_at(text, first.start()), False, False))
        return out
    seen: set[str] = set()
    for hit in rx.finditer(text):
        sentence = sentence_at(text, hit.start())
        if sentence in seen:
            continue
        seen.add(sentence)
        if ctx and not ctx.search(sentence):
            continue
        if exc and exc.search(sentence):
            continue
        dep = any(_deprecated(sentence, mm) for mm in rx.finditer(sentence))
        out.append(Mention(hit.group(0), sentence, dep, False))
    return out


def _deprecated(sentence: str, m: re.Match) -> bool:
    before = sentence[: m.start()]
    if _CUE_BEFORE.search(before):
        return True
    return bool(_CUE_AFTER.match(sentence, m.end())) and _is_head(before)


def _is_head(before: str) -> bool:
    words = before.split()
    last = words[-1].strip("`'\"*") if words else ""
    if not last or not any(ch.isalnum() for ch in last) or last[-1] in ":,;(" or last.lower() in _DETERMINERS:
        return True
    return last[0].isupper()


def numbers_stated(text: str, pattern: str, context: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    """(number, sentence) for every sentence where `pattern` (group 1 = the number) matches."""
    rx = re.compile(pattern, re.I)
    ctx = any_regex(context, True)
    out = []
    for sentence in sentences(text):
        if ctx and not ctx.search(sentence):
            continue
        for m in rx.finditer(sentence):
            out.append((_number(m.group(1)), sentence))
    return out


_WORDS = {"one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
          "eight": "8", "nine": "9", "ten": "10", "twenty": "20"}


def _number(text: str) -> str:
    t = text.strip().lower()
    return _WORDS.get(t, t)


# "Name: description" (optionally a bullet) at the start of a line: how docs enumerate components.
_ITEM = re.compile(r"^[ \t]*(?:[-*•][ \t]*|\d+[.)][ \t]*)?([A-Z][\w&/+ -]{1,48}?)[ \t]*[:–—][ \t]+\S", re.M)


def listed_items(text: str) -> list[str]:
    """Names that a passage enumerates as "Name: description" lines."""
    return [m.group(1).strip() for m in _ITEM.finditer(text)]


def item_key(name: str, drop: Iterable[str] = ()) -> str:
    """Comparison form of an item name: lower case, leading tool name and plural 's' dropped."""
    words = [w for w in re.split(r"[^\w+]+", name.lower()) if w]
    while words and words[0] in drop:
        words = words[1:]
    key = " ".join(words)
    return key[:-1] if key.endswith("s") and not key.endswith("ss") else key


def same_item(a: str, b: str) -> bool:
    """Two item keys name the same thing when they are equal or one is the other plus qualifiers
    ("model registry" ~ "registry" is not enough: the shorter must be whole words of the longer)."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    return bool(short) and re.search(r"(?<!\w)" + re.escape(short) + r"(?!\w)", long_) is not None \
        and len(short.split()) >= len(long_.split()) - 1 and short.split()[-1] == long_.split()[-1]
