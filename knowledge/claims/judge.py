"""Judging one claim against the current documentation: pure functions over passages.

For each assertion of a claim (knowledge/domain/assertions.py) the judge finds the passages that
support or contradict it; then the cell gets one verdict:

  stale     an assertion is contradicted firmly enough: an asserted thing is gone, deprecated or
            renamed; an asserted absence or limit no longer holds; an exhaustive list has grown.
  extended  no firm contradiction, and the docs show notable evidence the study did not have:
            fact values of the criterion (backends, frameworks, capabilities, ...) the claim does
            not name, each in at least MIN_NEW passages.
  holds     neither.
  no-claim  the study gave no finding for the cell ("to be tested", "work in progress").

The thresholds are constants here, chosen by what the words mean (a value seen once may be a
passing mention; a thing no page of a large crawl mentions is gone), not fitted to a key.
"""
from __future__ import annotations

import bisect
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urlsplit

from knowledge.claims.match import (CUE_WORDS, find_mentions, item_key, listed_items, numbers_stated, prefilter, same_item,
                                    term_regex)
from knowledge.claims.model import AssertionResult, CellVerdict, PassageRef
from knowledge.domain.assertions import Assertion

STALE_AT = 0.5          # a cell is stale when its firmest contradiction reaches this
MIN_NEW = 2             # passages that must show a new fact value before it counts as notable
MIN_PAGES_FOR_GONE = 20  # a crawl smaller than this may have missed the page: "not found" says nothing
MAX_PASSAGES = 4        # passages kept per assertion (strongest first)
TEXT_LIMIT = 1200       # characters of passage text kept in a citation
# Values every tool has: never notable news.
GENERIC = {("compute_backend", "local"), ("storage_backend", "local"), ("language", "python")}


@dataclass
class DocPassage:
    """One passage of the tool's current docs, with its tags and facts (any criterion)."""

    url: str                     # citation: page URL with #anchor
    path: str
    heading_path: tuple[str, ...]
    text: str
    crawled_at: str
    run_id: int
    tags: dict[str, float] = field(default_factory=dict)              # criterion -> score
    facts: set[tuple[str, str, str]] = field(default_factory=set)      # (criterion, category, value)

    def ref(self, quote: str = "", strength: float = 0.0) -> PassageRef:
        text = self.text if len(self.text) <= TEXT_LIMIT else self.text[: TEXT_LIMIT - 1].rstrip() + "…"
        return PassageRef(self.url, list(self.heading_path), text, self.crawled_at, self.run_id, quote, strength)


@dataclass
class CitedPage:
    """What became of one URL the study cites, in the crawl judged."""

    url: str
    status: str                  # present / section-gone / redirected / gone / not-crawled (judging adds redirected-away)
    final_url: str = ""
    detail: str = ""

    def to_dict(self) -> dict:
        return {"url": self.url, "status": self.status, "final_url": self.final_url, "detail": self.detail}

    @property
    def lost(self) -> bool:
        return self.status in ("gone", "section-gone")


class ToolDocs:
    """Every passage of one tool's crawl, searchable with one regular expression scan."""

    def __init__(self, tool: str, passages: list[DocPassage], n_pages: int,
                 cited: dict[str, CitedPage] | None = None, run_id: int | None = None, crawled_at: str = "",
                 left_out: str = ""):
        self.tool = tool
        self.passages = passages
        self.n_pages = n_pages
        # What of the docs this crawl did not read (doc variants left out, a page limit hit): then a
        # thing no page mentions may still be documented there.
        self.left_out = left_out
        self.cited = cited or {}
        self.run_id = run_id
        self.crawled_at = crawled_at
        parts, self._starts, pos = [], [], 0
        for p in passages:
            chunk = " \n".join(p.heading_path) + "\n\n" + p.text
            self._starts.append(pos)
            parts.append(chunk)
            pos += len(chunk) + 1
        self._blob = "\x00".join(parts).lower()
        self._term_hits: dict[str, list[int]] = {}
        self._cells: dict[str, list[int]] = {}
        # Which passages could call something deprecated at all: only those need a sentence-by-
        # sentence reading, the others a single search. One scan of the whole crawl.
        self.cue = [False] * len(passages)
        for i in self.hits([CUE_WORDS]):
            self.cue[i] = True

    def hits(self, terms: tuple[str, ...] | list[str]) -> list[int]:
        """Indices of passages whose headings or text may mention one of `terms`: a superset, from
        one fast scan of the lower-cased crawl per term (callers check each passage exactly)."""
        found: set[int] = set()
        for term in terms:
            if term not in self._term_hits:
                idx: list[int] = []
                for m in prefilter(term).finditer(self._blob):
                    i = bisect.bisect_right(self._starts, m.start()) - 1
                    if not idx or idx[-1] != i:
                        idx.append(i)
                self._term_hits[term] = idx
            found.update(self._term_hits[term])
        return sorted(found)

    def in_cell(self, criterion: str) -> list[int]:
        if criterion not in self._cells:
            self._cells[criterion] = [i for i, p in enumerate(self.passages) if criterion in p.tags]
        return self._cells[criterion]


# --------------------------------------------------------------------------- one cell
def judge_cell(tool: str, criterion: str, claim, docs: ToolDocs | None) -> CellVerdict:
    """The verdict for one tool x criterion cell. `claim` is a BaselineClaim or None."""
    text = getattr(claim, "claim", "") if claim is not None else ""
    run_id = docs.run_id if docs else None
    crawled = docs.crawled_at if docs else ""
    if claim is None or not getattr(claim, "has_finding", True) or not getattr(claim, "assertions", ()):
        passages = _top_cell_passages(docs, criterion) if docs else []
        if claim is None:
            why = "the study has no claim for this cell"
        elif getattr(claim, "has_finding", True):
            why = "the claim has no assertions to check (add [[claim.assertion]] tables to the baseline)"
        else:
            why = f"the study gave no finding ({claim.status.replace('_', ' ')})"
        return CellVerdict(tool, criterion, "no-claim", 0.0, text, [], passages, run_id, crawled,
                           deciding=why + (f"; {len(passages)} passages of today's docs to start from"
                                           if passages else ""))
    if docs is None:
        return CellVerdict(tool, criterion, "holds", 0.0, text, [], [], None, "",
                           deciding="not crawled yet: nothing to judge against")
    results = [judge_assertion(a, docs) for a in claim.assertions]
    results += new_evidence(claim, criterion, docs)
    contradicted = sorted((r for r in results if r.status == "contradicted"), key=lambda r: -r.strength)
    news = sorted((r for r in results if r.status == "new"), key=lambda r: -r.strength)
    if contradicted and contradicted[0].strength >= STALE_AT:
        core = [r for r in contradicted if r.weight == "core" and r.strength >= STALE_AT]
        score = min(0.99, contradicted[0].strength + 0.05 * max(0, len(core) - 1))
        verdict, deciding = "stale", contradicted[0].reason
    elif news:
        score = min(0.95, 0.4 + 0.1 * len(news))
        verdict = "extended"
        deciding = "new: " + "; ".join(r.text for r in news[:3]) + (f"; +{len(news) - 3} more" if len(news) > 3 else "")
    else:
        checked = [r for r in results if r.status in ("supported", "unsupported")]
        supported = sum(r.status == "supported" for r in checked)
        score = (supported / len(checked)) if checked else 0.0
        verdict = "holds"
        if supported:
            deciding = f"{supported} of {len(checked)} statements still documented"
        else:   # nothing contradicts the claim, but nothing in the docs shows it either
            deciding = f"no evidence either way: none of its {len(checked)} statements found in the docs"
        if contradicted:
            deciding += f"; minor: {contradicted[0].reason}"
    score = round(score, 3)     # as stored: a cached verdict ranks exactly like a fresh one
    order = {"contradicted": 0, "new": 1, "supported": 2, "unsupported": 3}
    results.sort(key=lambda r: (order[r.status], -r.strength))
    passages = _cell_passages(results, verdict)
    return CellVerdict(tool, criterion, verdict, score, text, results, passages, run_id, crawled, deciding=deciding)


def _cell_passages(results: list[AssertionResult], verdict: str) -> list[PassageRef]:
    seen, out = set(), []
    want = {"stale": ("contradicted",), "extended": ("new",)}.get(verdict, ("supported",))
    for r in sorted(results, key=lambda r: (r.status not in want, -r.strength)):
        for p in r.passages:
            if p.url not in seen:
                seen.add(p.url)
                out.append(p)
    return out[:8]


def _top_cell_passages(docs: ToolDocs, criterion: str) -> list[PassageRef]:
    cell = sorted(docs.in_cell(criterion), key=lambda i: -docs.passages[i].tags[criterion])
    return [docs.passages[i].ref(strength=docs.passages[i].tags[criterion]) for i in cell[:5]]


# --------------------------------------------------------------------------- one assertion
def judge_assertion(a: Assertion, docs: ToolDocs) -> AssertionResult:
    return {"exists": _exists, "absent": _absent, "limit": _limit, "list": _list}[a.kind](a, docs)


def _result(a: Assertion, status: str, strength: float, reason: str, passages: list[PassageRef],
            docs: ToolDocs) -> AssertionResult:
    if a.weight == "minor" and status == "contradicted":
        strength *= 0.5
    strength = round(strength, 3)
    passages = sorted(passages, key=lambda p: -p.strength)[:MAX_PASSAGES]
    cited = [docs.cited[u].to_dict() if u in docs.cited else {"url": u, "status": "not-crawled"} for u in a.cited]
    gone = [c for c in cited if c["status"] in ("gone", "section-gone")]
    if status == "unsupported" and gone and len(gone) == len(cited):
        reason += "; every page the study cites for it is gone (" + ", ".join(c["url"] for c in gone[:3]) + ")"
    return AssertionResult(a.key, a.says, a.kind, status, strength, reason, a.weight, passages, cited)


def _scope(a: Assertion, docs: ToolDocs) -> set[int] | None:
    """Passage indices an assertion may look at (None: all of the tool)."""
    return set(docs.in_cell(a.criterion)) if a.scope == "cell" else None


def _mentions(a: Assertion, docs: ToolDocs, enough: int | None = None) -> tuple[list, bool]:
    """([(passage index, [Mention])], complete) for the assertion's terms within its scope.

    Every passage that could call a term deprecated is read; of the others, passages tagged with
    the criterion come first, and reading stops once `enough` passages are found (complete=False):
    a statement shown by a dozen passages needs no more."""
    if not a.terms:
        return [], True
    scope = _scope(a, docs)
    cands = [i for i in docs.hits(a.terms) if scope is None or i in scope]
    cands.sort(key=lambda i: (not docs.cue[i], -docs.passages[i].tags.get(a.criterion, 0.0), i))
    out = []
    for n, i in enumerate(cands):
        if enough is not None and len(out) >= enough and not docs.cue[i]:
            return out, False
        p = docs.passages[i]
        ms = find_mentions(p.text, p.heading_path, a.terms, a.context, a.except_context, a.heading_only)
        if ms:
            out.append((i, ms))
    return out, True


def _fact_hits(a: Assertion, docs: ToolDocs) -> dict[tuple[str, str], list[int]]:
    """(category, value) -> passage indices stating it, within the assertion's scope."""
    want = a.fact_pairs()
    out: dict[tuple[str, str], list[int]] = defaultdict(list)
    if not want:
        return out
    for i, p in enumerate(docs.passages):
        for crit, cat, val in p.facts:
            if (cat, val) in want and (a.scope == "tool" or crit == a.criterion):
                if not out[(cat, val)] or out[(cat, val)][-1] != i:
                    out[(cat, val)].append(i)
    return out


def _strength_of(p: DocPassage, criterion: str, base: float, in_heading: bool = False) -> float:
    return base + 0.5 * p.tags.get(criterion, 0.0) + (0.3 if in_heading else 0.0)


def _cited_lost(a: Assertion, docs: ToolDocs) -> list[CitedPage]:
    """The study's citations for the statement that no longer show it: gone, without the cited
    section, or redirecting to a page that does not mention it (a redirect to an overview)."""
    lost = [docs.cited[u] for u in a.cited if u in docs.cited and docs.cited[u].lost]
    moved = [docs.cited[u] for u in a.cited if u in docs.cited and docs.cited[u].status == "redirected"
             and docs.cited[u].final_url]
    if moved and a.terms:
        mentioning = {path_key(docs.passages[i].url) for i in docs.hits(a.terms)
                      if find_mentions(docs.passages[i].text, docs.passages[i].heading_path, a.terms, a.context)}
        for c in moved:
            if path_key(c.final_url) not in mentioning:
                lost.append(CitedPage(c.url, "redirected-away", c.final_url,
                                      f"redirects to {c.final_url}, which does not mention it"))
    return lost


def _terms_label(a: Assertion) -> str:
    shown = list(dict.fromkeys(readable(t) for t in a.terms[:3]))
    return ", ".join(f"'{t}'" for t in shown if t) or ", ".join(f"{c}={v}" for c, v in sorted(a.fact_pairs()))


def readable(term: str) -> str:
    """A term as a reader would write it: "re:\\bdvc run\\b(?![-\\w])" -> "dvc run"."""
    if not term.startswith("re:"):
        return term
    t = re.sub(r"\(\?<?[!=][^)]*\)", "", term[3:])          # look-arounds
    t = re.sub(r"\\[bB]", "", t)
    t = re.sub(r"\\s[+*]?", " ", t)
    t = re.sub(r"\[[^\]]*\][+*?]?|\\[wWdDS][+*?]?|[.][+*?]", "", t)   # classes and wildcards
    t = t.replace("(?:", "(")
    t = t.split("|")[0] if "(" not in t else t
    t = re.sub(r"(\w)\?", r"\1", t)                         # optional plural s etc.
    t = re.sub(r"[()?*+{}\\^$]|\d+,\d*", "", t)
    return " ".join(t.split())


def _exists(a: Assertion, docs: ToolDocs) -> AssertionResult:
    mentions, complete = _mentions(a, docs, enough=12)
    facts = _fact_hits(a, docs)
    lost = _cited_lost(a, docs)
    deprecated = [(i, m) for i, ms in mentions for m in ms if m.deprecated]
    if deprecated:
        refs = [docs.passages[i].ref(m.sentence, _strength_of(docs.passages[i], a.criterion, 1.0, m.in_heading))
                for i, m in deprecated]
        strength = 0.85 + (0.05 if lost else 0.0)
        return _result(a, "contradicted", strength,
                       f"the docs call it deprecated, removed or renamed: \"{_clip(deprecated[0][1].sentence)}\"",
                       refs, docs)
    found = {i for i, _ in mentions} | {i for idx in facts.values() for i in idx}
    if found:
        by_idx = dict(mentions)
        refs = []
        for i in found:
            ms = by_idx.get(i, [])
            quote = ms[0].sentence if ms else ""
            refs.append(docs.passages[i].ref(quote, _strength_of(docs.passages[i], a.criterion, 0.2,
                                                                 any(m.in_heading for m in ms))))
        reason = f"still documented ({'' if complete else 'at least '}{len(found)} passage{'s' * (len(found) != 1)})"
        if lost:
            reason += "; but the study's citation " + _cited_words(lost[0])
        return _result(a, "supported", min(1.0, 0.5 + 0.1 * len(found)), reason, refs, docs)
    if docs.n_pages < MIN_PAGES_FOR_GONE:
        return _result(a, "unsupported", 0.0, f"not found, but the crawl has only {docs.n_pages} pages", [], docs)
    reason = f"no longer documented: no page of {docs.n_pages} mentions {_terms_label(a)}"
    if lost:
        reason += "; the study's citation " + _cited_words(lost[0])
        return _result(a, "contradicted", 0.85, reason, [], docs)
    if docs.left_out:   # absence of a mention is evidence only where the crawl read the whole docs
        return _result(a, "contradicted", 0.45, reason + f"; but this crawl leaves out {docs.left_out}, which "
                       "may still document it", [], docs)
    return _result(a, "contradicted", 0.75, reason, [], docs)


def _absent(a: Assertion, docs: ToolDocs) -> AssertionResult:
    mentions, _complete = _mentions(a, docs, enough=8)
    facts = _fact_hits(a, docs)
    shown: dict[int, str] = {i: ms[0].sentence for i, ms in mentions}
    for (cat, val), idx in facts.items():
        for i in idx:
            shown.setdefault(i, "")
    if not shown:
        return _result(a, "supported", 0.5, f"still nothing about {_terms_label(a)} in the docs", [], docs)
    refs = [docs.passages[i].ref(q, _strength_of(docs.passages[i], a.criterion, 0.5)) for i, q in shown.items()]
    what = sorted({f"{c}={v}" for (c, v), idx in facts.items() if idx})
    first = next((q for q in shown.values() if q), "")
    reason = "the docs now show otherwise" + (f" ({', '.join(what[:4])})" if what else "") + \
        (f": \"{_clip(first)}\"" if first else "")
    strength = min(0.85, 0.55 + 0.1 * (len(shown) - 1))
    return _result(a, "contradicted", strength, reason, refs, docs)


def _limit(a: Assertion, docs: ToolDocs) -> AssertionResult:
    scope = _scope(a, docs)
    stated: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for i in docs.hits(["re:" + a.pattern]):
        if scope is not None and i not in scope:
            continue
        for number, sentence in numbers_stated(docs.passages[i].text, a.pattern, a.context):
            stated[number].append((i, sentence))
    if not stated:
        return _result(a, "unsupported", 0.0, f"the docs state no such number (the study: {a.value})", [], docs)
    other = {n: hits for n, hits in stated.items() if n != a.value}
    if not other:
        refs = [docs.passages[i].ref(s, 0.5) for i, s in stated[a.value]]
        return _result(a, "supported", 0.8, f"the docs still say {a.value}", refs, docs)
    refs = [docs.passages[i].ref(s, 1.0) for hits in other.values() for i, s in hits]
    first_sentence = next(iter(other.values()))[0][1]
    strength = 0.5 if a.value in stated else 0.85
    return _result(a, "contradicted", strength,
                   f"the docs now say {', '.join(sorted(other))} (the study: {a.value}): \"{_clip(first_sentence)}\"", refs,
                   docs)


def _list(a: Assertion, docs: ToolDocs) -> AssertionResult:
    claimed = a.fact_pairs()
    categories = {c for c, _ in claimed}
    present: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in (sorted(_scope(a, docs)) if a.scope == "cell" else range(len(docs.passages))):
        for crit, cat, val in docs.passages[i].facts:
            if cat in categories and (a.scope == "tool" or crit == a.criterion):
                if not present[(cat, val)] or present[(cat, val)][-1] != i:
                    present[(cat, val)].append(i)
    extra = {k: v for k, v in present.items() if k not in claimed and k not in GENERIC}
    items_found, extra_items = _items(a, docs)
    found_claimed = [k for k in claimed if present.get(k)] + items_found
    # A list has grown when the docs show the new values in more than a passing mention: at least
    # MIN_NEW passages between them (or an enumeration of the listed items that names more).
    grown = len({i for idx in extra.values() for i in idx}) >= MIN_NEW or bool(extra_items)
    if a.exhaustive and grown:
        refs = [docs.passages[i].ref("", _strength_of(docs.passages[i], a.criterion, 0.5))
                for idx in extra.values() for i in idx]
        refs += [docs.passages[i].ref(name, 1.0) for name, i in extra_items]
        grown = [f"+{v} ({len(idx)} passage{'s' * (len(idx) != 1)})" for (_c, v), idx in
                 sorted(extra.items(), key=lambda kv: -len(kv[1]))]
        grown += [f"+{name}" for name, _ in extra_items]
        strength = min(0.9, 0.6 + 0.1 * (len(grown) - 1))
        return _result(a, "contradicted", strength, "the list has grown: " + ", ".join(grown[:6]), refs, docs)
    if found_claimed:
        idx = sorted({i for k in claimed for i in present.get(k, [])})
        refs = [docs.passages[i].ref("", _strength_of(docs.passages[i], a.criterion, 0.2)) for i in idx]
        missing = sorted(v for (c, v) in claimed if not present.get((c, v)))
        reason = f"{len(found_claimed)} of {len(claimed) + len(a.items)} listed still documented"
        if missing:
            reason += f" (not seen: {', '.join(missing)})"
        return _result(a, "supported", 0.5 + 0.5 * len(found_claimed) / (len(claimed) + len(a.items)), reason,
                       refs, docs)
    return _result(a, "unsupported", 0.0, "none of the listed values is seen in the docs", [], docs)


def _items(a: Assertion, docs: ToolDocs) -> tuple[list[str], list[tuple[str, int]]]:
    """(claimed items seen, [(new item name, passage index)]) from the passages that enumerate them."""
    if not a.items:
        return [], []
    drop = {a.tool.lower()}
    claimed = [item_key(x, drop) for x in a.items]
    scope = _scope(a, docs)
    seen: list[str] = []
    extra: list[tuple[str, int]] = []
    context = term_regex("re:" + a.items_context)
    for i in docs.hits(["re:" + a.items_context]):
        p = docs.passages[i]
        if scope is not None and i not in scope:
            continue
        if not (context.search(p.text) or any(context.search(h) for h in p.heading_path)):
            continue
        names = listed_items(p.text)
        matched = {n: next((c for c in claimed if same_item(c, item_key(n, drop))), None) for n in names}
        # An enumeration of the things the study listed names at least two of them; lists of
        # something else (audiences, steps) are not read.
        if len({c for c in matched.values() if c}) < 2:
            continue
        for name, match in matched.items():
            if match:
                seen.append(match)
            elif all(not same_item(item_key(name, drop), item_key(n, drop)) for n, _ in extra):
                extra.append((name, i))
    return sorted(set(seen)), extra


# --------------------------------------------------------------------------- new evidence
def new_evidence(claim, criterion: str, docs: ToolDocs) -> list[AssertionResult]:
    """Fact values of the cell that the claim does not name, each seen in MIN_NEW+ passages."""
    covered = {(c, v) for c, vs in (claim.facts or {}).items() for v in vs}
    closed: set[str] = set()        # categories whose values are judged by an assertion already
    for a in claim.assertions:
        covered |= a.fact_pairs()
        # What an absence or an exhaustive list covers is judged there (as a contradiction).
        if a.kind == "absent" or (a.kind == "list" and a.exhaustive):
            closed |= {c for c, _ in a.fact_pairs()}
    counts: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in docs.in_cell(criterion):
        for crit, cat, val in docs.passages[i].facts:
            if crit == criterion and (cat, val) not in covered and cat not in closed and (cat, val) not in GENERIC:
                counts[(cat, val)].append(i)
    out = []
    for (cat, val), idx in sorted(counts.items(), key=lambda kv: (-len(set(kv[1])), kv[0])):
        idx = sorted(set(idx))
        if len(idx) < MIN_NEW:
            continue
        refs = [docs.passages[i].ref("", _strength_of(docs.passages[i], criterion, 0.2)) for i in idx]
        refs = sorted(refs, key=lambda p: -p.strength)[:MAX_PASSAGES]
        label = f"{cat.replace('_', ' ')} {val}"
        out.append(AssertionResult(f"{docs.tool}.{criterion}.new:{cat}={val}", label, "new", "new",
                                   round(min(1.0, 0.3 + 0.1 * len(idx)), 3),
                                   f"{label}: {len(idx)} passages, not in the study",
                                   "core", refs, []))
    return out


# --------------------------------------------------------------------------- helpers
def _clip(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _cited_words(c: CitedPage) -> str:
    return {"gone": f"{c.url} is gone", "section-gone": f"{c.url} no longer has that section",
            "redirected-away": f"{c.url} now {c.detail}"}.get(c.status, f"{c.url} is {c.status}")


def path_key(url: str) -> str:
    """A cited URL's path as the crawl stores pages: no trailing slash, no index.html."""
    path = urlsplit(url).path or "/"
    if path.endswith("/index.html"):
        path = path[: -len("index.html")]
    return path.rstrip("/") or "/"


def iter_cited(claims: Iterable) -> list[str]:
    return sorted({u for c in claims for a in c.assertions for u in a.cited})
