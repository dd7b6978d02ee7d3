"""Reading evidence: the one definition of "the evidence as of run N", used by every view.

`run_pages(store, run_id)` is the page set a run stands for: every page the run fetched or found
unchanged, plus the last good content of pages the run could not read this time (failed, skipped
by the size cap, blocked by robots.txt, answered 404 once). Evidence, facts, the report, claims,
diff and review all read evidence through `run_evidence`, which reads exactly those pages.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from knowledge.errors import UsageError
from knowledge.evidence.model import Evidence
from knowledge.evidence.rules import rules_key, run_source
from knowledge.store import TRAP_REASON, Store


CONTENT_OUTCOMES = ("fetched", "not_modified")          # the run read the page itself
CARRIED_OUTCOMES = ("failed", "skipped", "blocked")      # no new content, but not a removal either


@dataclass(frozen=True)
class PageState:
    """One page as a run stands for it: the content it holds and where that content came from."""

    url: str              # the page URL in this run (a mirror's origin when crawled with --base-url)
    path: str             # path (+ query): the same page across origins
    sha256: str           # the stored body this run holds for the page
    fetched_at: str       # when that body was last read (for carried pages: the last good fetch)
    outcome: str          # this run's verdict for the page
    carried: bool         # True when the content is the last good one of an earlier run


def run_pages(store: Store, run_id: int) -> list[PageState]:
    """The pages a run stands for, in path order: the one definition of "the site as of run N".

    Pages fetched or found unchanged hold what the run read. Pages the run could not read this
    time keep their last good content: a failed fetch (5xx, timeout, truncated or not-text body),
    a page skipped (size cap, page limit), blocked by robots.txt, redirected off the site, or
    answering 404/410 for the first time ("possibly gone"). A page that answers 404/410 on two
    consecutive crawls (failed fetches in between say nothing) is gone; a page with no verdict at
    all in the run (no longer linked) is not part of it, nor is a link trap (a 'skipped' verdict
    whose reason starts with TRAP_REASON: endless generated pages are never evidence).
    """
    run = store.get_run(run_id)
    if run is None:
        raise UsageError(f"There is no crawl run {run_id} in {store.path}.", "See `collector runs` for run ids.")
    tool = run["tool"]
    pages = []
    for r in store.conn.execute(
            "SELECT url, path, outcome, sha256, fetched_at, reason FROM fetches WHERE run_id = ? AND "
            "(sha256 IS NOT NULL OR outcome IN (?, ?, ?, 'gone')) ORDER BY path, url",
            (run_id, *CARRIED_OUTCOMES)):
        if r["outcome"] in CONTENT_OUTCOMES:
            pages.append(PageState(r["url"], r["path"], r["sha256"], r["fetched_at"], r["outcome"], False))
            continue
        if r["outcome"] == "gone" and gone_before(store, tool, r["path"], run_id):
            continue
        if r["outcome"] == "skipped" and (r["reason"] or "").startswith(TRAP_REASON):
            continue        # a link trap (crawler.traps): crawl health, never evidence
        last = last_good_fetch(store, tool, r["path"], run_id)
        sha = r["sha256"] or (last["sha256"] if last else None)
        if sha is None:     # never read successfully: nothing to keep
            continue
        when = last["fetched_at"] if last and last["sha256"] == sha else r["fetched_at"]
        pages.append(PageState(r["url"], r["path"], sha, when, r["outcome"], True))
    return pages


def gone_before(store: Store, tool: str, path: str, run_id: int) -> bool:
    """Was the page's previous verdict (before this run) 'gone' too? A failed fetch in between
    says nothing about whether the page exists, so it is skipped."""
    row = previous_verdict(store, tool, path, run_id)
    return bool(row) and row["outcome"] == "gone"


def previous_verdict(store: Store, tool: str, path: str, run_id: int):
    """The page's newest verdict before this run that says whether it exists (not a failed fetch):
    a row with outcome and run_id, or None."""
    return store.conn.execute(
        "SELECT f.outcome, f.run_id FROM fetches f JOIN runs r ON r.id = f.run_id WHERE r.tool = ? AND f.path = ? "
        "AND f.run_id < ? AND r.status != 'running' AND f.outcome != 'failed' ORDER BY f.run_id DESC LIMIT 1",
        (tool, path, run_id)).fetchone()


def last_good_fetch(store: Store, tool: str, path: str, run_id: int):
    """The newest earlier fetch of this page that read its content (row with sha256, fetched_at, run_id)."""
    return store.conn.execute(
        "SELECT f.sha256, f.fetched_at, f.run_id FROM fetches f JOIN runs r ON r.id = f.run_id "
        "WHERE r.tool = ? AND f.path = ? AND f.run_id < ? AND f.outcome IN (?, ?) "
        "ORDER BY f.run_id DESC LIMIT 1", (tool, path, run_id, *CONTENT_OUTCOMES)).fetchone()


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i:i + size]


def run_evidence(store: Store, run_id: int, *, criterion: str | None = None,
                 build: bool = True) -> list[Evidence]:
    """Every (passage, criterion) of the pages a run stands for (run_pages), under the current
    rules, in page order. Evidence missing under the current rules is built first."""
    tool, source = run_source(store, run_id)
    key = rules_key(source)
    if build:
        from knowledge.evidence.build import build_evidence

        build_evidence(store, [run_id])
    pages = run_pages(store, run_id)
    by_sha: dict[str, list] = {}
    shas = sorted({p.sha256 for p in pages})
    for part in _chunks(shas):
        sql = ("SELECT p.page_sha256 AS sha, p.id AS pid, p.position, p.anchor, p.heading_path, p.text, "
               "p.text_hash, t.criterion, t.score, t.terms FROM passages p JOIN tags t ON t.passage_id = p.id "
               f"WHERE p.rules_version = ? AND p.page_sha256 IN ({','.join('?' * len(part))})")
        args: list = [key, *part]
        if criterion:
            sql += " AND t.criterion = ?"
            args.append(criterion)
        for r in store.conn.execute(sql, args):
            by_sha.setdefault(r["sha"], []).append(r)
    facts: dict[int, list[dict]] = {}
    pids = sorted({r["pid"] for rows in by_sha.values() for r in rows})
    for part in _chunks(pids):
        for f in store.conn.execute(
                f"SELECT * FROM facts WHERE passage_id IN ({','.join('?' * len(part))})", part):
            facts.setdefault(f["passage_id"], []).append(
                {"category": f["category"], "value": f["value"], "criterion": f["criterion"], "term": f["term"]})
    out = []
    for page in pages:
        for r in sorted(by_sha.get(page.sha256, ()), key=lambda r: (r["position"], r["criterion"])):
            out.append(Evidence(
                tool=tool, criterion=r["criterion"], url=page.url, path=page.path, anchor=r["anchor"],
                heading_path=json.loads(r["heading_path"]), text=r["text"], text_hash=r["text_hash"],
                score=r["score"], terms=json.loads(r["terms"]), run_id=run_id, fetched_at=page.fetched_at,
                position=r["position"], passage_id=r["pid"],
                facts=[f for f in facts.get(r["pid"], []) if f["criterion"] == r["criterion"]],
                carried=page.outcome if page.carried else None))
    return out


def run_passages(store: Store, run_id: int) -> list[Evidence]:
    """Every passage of the pages a run stands for, tagged or not (criterion ""), in page order.
    Assumes the run's evidence is built (run_evidence builds it)."""
    tool, source = run_source(store, run_id)
    key = rules_key(source)
    pages = run_pages(store, run_id)
    by_sha: dict[str, list] = {}
    for part in _chunks(sorted({p.sha256 for p in pages})):
        for r in store.conn.execute(
                "SELECT page_sha256 AS sha, id AS pid, position, anchor, heading_path, text, text_hash FROM passages "
                f"WHERE rules_version = ? AND page_sha256 IN ({','.join('?' * len(part))})", [key, *part]):
            by_sha.setdefault(r["sha"], []).append(r)
    return [Evidence(tool=tool, criterion="", url=page.url, path=page.path, anchor=r["anchor"],
                     heading_path=json.loads(r["heading_path"]), text=r["text"], text_hash=r["text_hash"],
                     score=0.0, terms=[], run_id=run_id, fetched_at=page.fetched_at, position=r["position"],
                     passage_id=r["pid"], carried=page.outcome if page.carried else None)
            for page in pages for r in sorted(by_sha.get(page.sha256, ()), key=lambda r: r["position"])]


# --------------------------------------------------------------------------- user-facing queries
def current_run(store: Store, tool: str, run_id: int | None = None):
    """The run to read: the given one (checked), else the tool's latest finished crawl, complete or
    partial (a partial crawl carries the last good content of the pages that failed, so it is as
    readable as a complete one; `collector diff` and the report read the same run)."""
    if run_id is not None:
        run = store.get_run(run_id)
        if run is None:
            raise UsageError(f"There is no crawl run {run_id}.", "See `collector runs` for run ids.")
        if run["tool"] != tool:
            raise UsageError(f"Run {run_id} is a crawl of {run['tool']}, not {tool}.")
        return run
    run = store.latest_finished_run(tool)
    if run is None:
        from knowledge.errors import CollectorError

        raise CollectorError(f"No finished crawl of {tool} in {store.path}.",
                             f"Run `collector crawl {tool}` first (or `collector demo` to try it offline).")
    return run


def evidence_for(store: Store, tool: str, criterion: str | None = None, run_id: int | None = None):
    """(run row, [Evidence]) for the `collector evidence` command."""
    run = current_run(store, tool, run_id)
    return run, run_evidence(store, run["id"], criterion=criterion)


def facts_for(store: Store, tools: list[str], category: str | None = None) -> list[dict]:
    """One row per (tool, criterion, category, value) with the passages that state it."""
    rows: dict[tuple, dict] = {}
    for tool in tools:
        run = store.latest_finished_run(tool)
        if run is None:   # never crawled: no facts to list
            continue
        for ev in run_evidence(store, run["id"]):
            for f in ev.facts:
                if category and f["category"] != category:
                    continue
                key = (tool, f["criterion"], f["category"], f["value"])
                row = rows.setdefault(key, {"tool": tool, "criterion": f["criterion"], "category": f["category"],
                                            "value": f["value"], "run_id": run["id"],
                                            "crawled_at": run["started_at"], "citations": []})
                if ev.citation not in row["citations"]:
                    row["citations"].append(ev.citation)
    return sorted(rows.values(), key=lambda r: (r["tool"], r["category"], r["value"], r["criterion"]))


def runs_as_of(store: Store, tools: list[str], as_of: int | str | None = None) -> dict[str, object]:
    """{tool: run row} read "as of" a crawl: the tool's latest finished (complete or partial) run
    with id <= RUN, or started on or before DATE (YYYY-MM-DD[THH:MM]); None for a tool without one.
    Without `as_of`, each tool's latest finished run."""
    if as_of is None or as_of == "":
        return {t: store.latest_finished_run(t) for t in tools}
    text = str(as_of).strip()
    if text.isdigit():
        if store.get_run(int(text)) is None:
            raise UsageError(f"There is no crawl run {text} in {store.path}.", "See `collector runs` for run ids.")
        sql, arg = "id <= ?", int(text)
    else:
        import re

        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?Z?)?", text):
            raise UsageError(f"--as-of expects a crawl run id or a date like 2026-03-02, got '{as_of}'.")
        stamp = text.replace(" ", "T").rstrip("Z")
        sql, arg = "started_at <= ?", (stamp + "T99" if len(stamp) == 10 else stamp + "Z")
    return {t: store.conn.execute(
        f"SELECT * FROM runs WHERE tool = ? AND status IN ('complete', 'partial') AND {sql} "
        "ORDER BY id DESC LIMIT 1", (t, arg)).fetchone() for t in tools}
