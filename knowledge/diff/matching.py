"""Matching passages across two crawls, and the noise-free text form used to compare them.

Pure functions, no store access. The diff calls `match_passages` once per tool x criterion cell.

Noise never counts as a change: before comparing, text is lower-cased, version-like tokens
(2.10.3, v1.2, 1.0rc1), ISO dates/times, build hashes and object addresses (0x7f3a...) become
placeholders, and punctuation and whitespace are dropped. So case/punctuation-only edits, version
bumps and build stamps compare equal, while every real word change shows.

Boilerplate that is shaped like content is removed first (`strip_boilerplate`), for comparing and
for the word diff shown: a video's fallback text ("Your browser does not support the video tag"),
notebook download links ("Download this Notebook"), HTML markup that reached the text (notebook
cells), and admonition titles on a line of their own ("Note", "Warning", "Attention!"). A site
template adds, drops or renames these without the documentation saying anything new.

Matching runs in passes, cheapest first, each on what the previous one left:
  1. same place (page path + heading path) and same normalised text -> unchanged
     (position is ignored: reordering within a page or section is noise);
  2. same normalised text elsewhere -> moved (other page or other section);
  3. similar words (token-set Jaccard prefilter, then difflib on word tokens) -> changed;
  4. the rest -> removed (old side) / added (new side).
"""
from __future__ import annotations

import difflib
import hashlib
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from typing import Callable, Sequence

# Noise tokens, in one pass: ISO dates/times, build hashes (7+ hex characters with a digit and a
# letter: a git short sha and longer), object addresses (0x7f3a2b...), version numbers (2.10.3,
# v1.2, 1.0rc1). The leading lookahead lets the regex engine skip to candidate characters (about
# 3x faster on long passages than trying every alternative at every position).
_NOISE = re.compile(
    r"(?=[0-9a-fv])(?:"
    r"(?P<date>\b\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2})?(?:\.\d+)?(?:z|[+-]\d{2}:?\d{2})?)?\b)"
    r"|(?P<addr>\b0x[0-9a-f]{4,16}\b)"
    r"|(?P<hex>\b[0-9a-f]{7,64}\b)"
    r"|(?P<ver>\bv?\d+(?:\.\d+)+(?:[-.]?(?:rc|a|b|alpha|beta|dev|post)\.?\d*)?\b))")
# Boilerplate shaped like content (see the module docstring), one pattern per kind so that each
# runs only on texts that contain its marker word (most passages contain none).
_VIDEO = re.compile(r"your browser does not support (?:the )?(?:html5? )?(?:video|audio)(?: tag| element)?\.?", re.I)
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|admon|b|br|button|center|code|details|div|em|figcaption|figure|font|hr|i|iframe|img|li|ol|p|pre|"
    r"s|section|small|source|span|strong|sub|summary|sup|table|tbody|td|th|thead|tr|u|ul|video)(?:\s[^<>]*)?/?>", re.I)
_DOWNLOAD = re.compile(r"\bdownload (?:this|the)(?:[ \t]+[\w+.\-]+){0,8}?[ \t]+notebooks?\b", re.I)
# Admonition titles only on a line of their own: "Note that ..." in a sentence is content.
_TITLES = frozenset({"note", "notes", "tip", "tips", "warning", "important", "info", "caution", "danger", "hint",
                     "attention", "see also", "seealso", "error", "success", "example", "todo"})
_HEX_LETTER = re.compile(r"[a-f]")
_DIGIT = re.compile(r"\d")
_NONWORD = re.compile(r"[\W_]+")

SIMILAR = 0.5          # difflib word ratio at or above which two passages are "the same, reworded"
SIMILAR_SAME_PLACE = 0.3   # ... when both sit under the same heading of the same page (a rewrite)
MIN_PART_WORDS = 8     # a paragraph shorter than this (a code line, a label) is not matched on its own
_PREFILTER = 0.25      # token-set Jaccard below which the (costlier) ratio is not computed
_COMMON = 200          # tokens in more passages than this do not propose candidates
_CANDIDATES = 4        # per old passage, word ratios are computed for this many best candidates
_PLACE_BONUS = 0.4     # added to the ratio of a pair in the same section (page + heading path)
_PAGE_BONUS = 0.05     # ... and of a pair on the same page
_LONG = 3000           # words in a pair beyond which the quick (bag-of-words) ratio is used


@lru_cache(maxsize=200_000)
def normalise(text: str) -> str:
    """The comparison form of a text: noise removed, words kept (cached: texts repeat per criterion)."""
    return " ".join(_NONWORD.sub(" ", _NOISE.sub(_placeholder, strip_boilerplate(text).lower())).split())


def strip_boilerplate(text: str) -> str:
    """The text without content-shaped boilerplate (video fallbacks, notebook download links, HTML
    markup in the text, admonition titles on their own line); everything else as is."""
    low = text.lower()
    if "browser does not support" in low:
        text = _VIDEO.sub(" ", text)
    if "<" in text:
        text = _HTML_TAG.sub(" ", text)
    if "download" in low:
        text = _DOWNLOAD.sub(" ", text)
    if "\n" in text:
        lines = text.split("\n")
        kept = [line for line in lines if line.strip(" \t:!").lower() not in _TITLES]
        if len(kept) != len(lines):
            text = "\n".join(kept)
    return text


def _placeholder(m: re.Match) -> str:
    if m.lastgroup == "date":
        return " zzdate "
    if m.lastgroup == "addr":
        return " zzaddr "
    if m.lastgroup == "ver":
        return " zzver "
    tok = m.group(0)
    return " zzhash " if _HEX_LETTER.search(tok) and _DIGIT.search(tok) else tok


@lru_cache(maxsize=200_000)
def norm_hash(text: str) -> str:
    return hashlib.sha1(normalise(text).encode()).hexdigest()[:16]


def heading_key(heading_path: Sequence[str]) -> str:
    return " > ".join(normalise(h) for h in heading_path)


@dataclass
class Item:
    """One passage of one side of a cell, as the matcher sees it. `ref` is the caller's object."""

    path: str
    heading: str                 # heading_key(...)
    text: str
    ref: object = None

    @cached_property
    def norm(self) -> str:
        return normalise(self.text)

    @cached_property
    def key(self) -> str:
        return norm_hash(self.text)

    @property
    def place(self) -> tuple[str, str]:
        return self.path, self.heading


@dataclass
class Match:
    added: list[Item] = field(default_factory=list)
    removed: list[Item] = field(default_factory=list)
    changed: list[tuple[Item, Item, float]] = field(default_factory=list)   # (old, new, ratio)
    moved: list[tuple[Item, Item]] = field(default_factory=list)           # (old, new)
    moved_parts: list[tuple[Item, Item, str]] = field(default_factory=list)  # (old, new, paragraph)
    unchanged: list[tuple[Item, Item]] = field(default_factory=list)       # (old, new), same place

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moved or self.moved_parts)


def match_passages(old: Sequence[Item], new: Sequence[Item]) -> Match:
    result = Match()
    # Pass 1: same place, same text (as multisets: duplicated passages pair up one to one).
    by_place_key: dict[tuple, list[Item]] = defaultdict(list)
    for it in old:
        by_place_key[(it.place, it.key)].append(it)
    rest_new: list[Item] = []
    for it in new:
        bucket = by_place_key.get((it.place, it.key))
        if bucket:
            result.unchanged.append((bucket.pop(), it))
        else:
            rest_new.append(it)
    rest_old = [it for bucket in by_place_key.values() for it in bucket]
    if not rest_old or not rest_new:
        result.removed, result.added = rest_old, rest_new
        return result

    # Pass 2: same text, other place -> moved. Prefer a counterpart on the same page.
    by_key: dict[str, list[Item]] = defaultdict(list)
    for it in rest_old:
        by_key[it.key].append(it)
    still_new: list[Item] = []
    for it in rest_new:
        bucket = by_key.get(it.key)
        if not bucket:
            still_new.append(it)
            continue
        same_page = [o for o in bucket if o.path == it.path]
        o = same_page[0] if same_page else bucket[0]
        bucket.remove(o)
        result.moved.append((o, it))
    still_old = [it for bucket in by_key.values() for it in bucket]

    # Pass 3: similar text -> changed, best pairs first.
    pairs = _similar_pairs(still_old, still_new)
    used_old: set[int] = set()
    used_new: set[int] = set()
    for score, _bonus, i, j, ratio in sorted(pairs, reverse=True):
        if i in used_old or j in used_new:
            continue
        used_old.add(i)
        used_new.add(j)
        result.changed.append((still_old[i], still_new[j], ratio))
    result.removed = [o for i, o in enumerate(still_old) if i not in used_old]
    result.added = [n for j, n in enumerate(still_new) if j not in used_new]
    _move_parts(result)
    return result


def _move_parts(result: Match) -> None:
    """Pass 4: paragraphs that left one passage and arrived, unchanged, in another -> moved.

    A passage is a whole section, so a paragraph moving between sections shows up as two changed
    (or removed/added) sections. Paragraphs (lines) that only the old side of a changed pair or a
    removed passage has are matched to paragraphs only the new side of another pair or an added
    passage has. A change or addition/removal fully explained by such moves is dropped; a paragraph
    that only changed passage within one section (same page and heading) is reordering, not reported.
    """
    olds: dict[str, list[tuple[tuple, Item]]] = defaultdict(list)   # norm paragraph -> holders
    news: list[tuple[str, tuple, Item, str]] = []
    unexplained: dict[tuple, int] = defaultdict(int)

    def only(a: Item, b: Item | None) -> list[str]:
        other = {normalise(p) for p in b.text.split("\n")} if b is not None else set()
        return [p for p in (x.strip() for x in a.text.split("\n")) if normalise(p) and normalise(p) not in other]

    for k, (o, n, _r) in enumerate(result.changed):
        for side, a, b in (("old", o, n), ("new", n, o)):
            for p in only(a, b):
                unexplained[(k, side)] += 1
                if side == "old":
                    olds[normalise(p)].append(((k, "old"), o))
                else:
                    news.append((normalise(p), (k, "new"), n, p))
    for k, o in enumerate(result.removed):
        for p in only(o, None):
            unexplained[("r", k)] += 1
            olds[normalise(p)].append((("r", k), o))
    for k, n in enumerate(result.added):
        for p in only(n, None):
            unexplained[("a", k)] += 1
            news.append((normalise(p), ("a", k), n, p))
    if not olds or not news:
        return
    for norm, holder, n, text in news:
        if len(norm.split()) < MIN_PART_WORDS or not olds.get(norm):
            continue
        candidates = olds[norm]
        pick = next((c for c in candidates if c[1] is not n and c[0][0] != holder[0]), None)
        if pick is None:
            continue
        candidates.remove(pick)
        unexplained[pick[0]] -= 1
        unexplained[holder] -= 1
        if pick[1].place != n.place:   # within one section it is reordering: noise, not reported
            result.moved_parts.append((pick[1], n, text))
    result.changed = [c for k, c in enumerate(result.changed)
                      if unexplained[(k, "old")] > 0 or unexplained[(k, "new")] > 0]
    result.removed = [o for k, o in enumerate(result.removed) if unexplained[("r", k)] > 0]
    result.added = [n for k, n in enumerate(result.added) if unexplained[("a", k)] > 0]


def _similar_pairs(old: list[Item], new: list[Item]) -> list[tuple[float, int, int, int, float]]:
    """Candidate (score, tie-break, i, j, ratio) pairs with ratio >= the threshold for the pair."""
    if not old or not new:
        return []
    new_sets = [set(n.norm.split()) for n in new]
    postings: dict[str, list[int]] = defaultdict(list)
    for j, toks in enumerate(new_sets):
        for t in toks:
            postings[t].append(j)
    out = []
    for i, o in enumerate(old):
        o_toks = o.norm.split()
        o_set = set(o_toks)
        shared: dict[int, int] = defaultdict(int)
        for t in o_set:
            hits = postings.get(t)
            if hits and len(hits) <= _COMMON:
                for j in hits:
                    shared[j] += 1
        ranked = []
        for j in shared:
            n_set = new_sets[j]
            jaccard = len(o_set & n_set) / (len(o_set | n_set) or 1)
            if jaccard >= _PREFILTER:
                ranked.append((new[j].place == o.place, jaccard, j))
        # The costly word ratio only for the few most similar candidates (same section first).
        for _same, _jaccard, j in sorted(ranked, reverse=True)[:_CANDIDATES]:
            threshold = SIMILAR_SAME_PLACE if o.place == new[j].place else SIMILAR
            sm = difflib.SequenceMatcher(None, o_toks, new[j].norm.split(), autojunk=False)
            if sm.real_quick_ratio() < threshold or sm.quick_ratio() < threshold:
                continue
            # Very long passages (generated API pages): the multiset overlap is a close enough
            # similarity for pairing, and the exact ratio is quadratic in the worst case.
            ratio = sm.quick_ratio() if len(o_toks) + len(sm.b) > _LONG else sm.ratio()
            if ratio >= threshold:
                # A counterpart in the same section wins unless one elsewhere is far more similar.
                same_place, same_page = o.place == new[j].place, o.path == new[j].path
                score = ratio + _PLACE_BONUS * same_place + _PAGE_BONUS * same_page
                out.append((round(score, 6), int(same_place) + int(same_page), i, j, ratio))
    return out


def similarity(a: Item, b: Item, floor: float = 0.0) -> float:
    """difflib word ratio of two passages' normalised texts (bag-of-words for very long ones);
    0 as soon as a cheap upper bound shows it is below `floor`."""
    ta, tb = a.norm.split(), b.norm.split()
    sm = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    if sm.real_quick_ratio() < floor:
        return 0.0
    quick = sm.quick_ratio()
    if quick < floor or len(ta) + len(tb) > _LONG:
        return quick if quick >= floor else 0.0
    return sm.ratio()


def counterparts(items: Sequence[Item], pool: dict[tuple[str, str], list[Item]],
                 skip: Callable[[Item], bool] = lambda item: False,
                 threshold: float = SIMILAR_SAME_PLACE) -> list[tuple[Item, Item, float]]:
    """For each item, the most similar unused item of `pool` in the same place (section), if any.

    Used for passages that appear or disappear in one criterion only because their text changed:
    their counterpart is among the other side's passages of other criteria.
    """
    used: set[int] = set()
    out = []
    for it in items:
        best = None
        for cand in pool.get(it.place, []):
            if id(cand) in used or skip(cand):
                continue
            ratio = similarity(it, cand, floor=max(threshold, best[1] if best else 0.0))
            if ratio >= threshold and (best is None or ratio > best[1]):
                best = (cand, ratio)
        if best:
            used.add(id(best[0]))
            out.append((it, best[0], best[1]))
    return out


# --------------------------------------------------------------------------- word diff
def word_diff(old: str, new: str) -> list[dict]:
    """Word-level ops between two texts: [{"op": "equal"|"delete"|"insert", "text": ...}].

    Words are compared in their normalised form, so noise (case, punctuation, versions) inside a
    reworded passage shows as equal, and boilerplate (strip_boilerplate) is left out on both sides;
    the text shown is the new side's (the old side's for deletes).
    """
    a, b = strip_boilerplate(old).split(), strip_boilerplate(new).split()
    ka, kb = [normalise(w) for w in a], [normalise(w) for w in b]
    ops: list[dict] = []

    def emit(op: str, words: list[str]) -> None:
        if not words:
            return
        if ops and ops[-1]["op"] == op:
            ops[-1]["text"] += " " + " ".join(words)
        else:
            ops.append({"op": op, "text": " ".join(words)})

    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, ka, kb, autojunk=False).get_opcodes():
        if tag == "equal":
            emit("equal", b[j1:j2])
        else:
            emit("delete", a[i1:i2])
            emit("insert", b[j1:j2])
    return ops


def render_diff(ops: list[dict], context: int | None = 12) -> str:
    """[-old-]{+new+} rendering; long unchanged runs are shortened to `context` words each side."""
    parts = []
    for k, op in enumerate(ops):
        if op["op"] == "delete":
            parts.append(f"[-{op['text']}-]")
        elif op["op"] == "insert":
            parts.append(f"{{+{op['text']}+}}")
        else:
            words = op["text"].split()
            if context is not None and len(words) > 2 * context + 1:
                head = words[:context] if k > 0 else []
                tail = words[-context:] if k < len(ops) - 1 else []
                words = head + ["..."] + tail
            parts.append(" ".join(words))
    return " ".join(parts)


def inserted_text(ops: list[dict]) -> str:
    return " ".join(op["text"] for op in ops if op["op"] == "insert")


def deleted_text(ops: list[dict]) -> str:
    return " ".join(op["text"] for op in ops if op["op"] == "delete")
