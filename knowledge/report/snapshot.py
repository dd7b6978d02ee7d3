"""One crawl run as the report reads it, recorded in the store (table report_snapshots, migration 008).

A snapshot is the evidence-derived half of the matrix for one run of one tool: per criterion the
passages and pages backing the cell, its facts (each with a citation), its best citations, the
dates its evidence was read, and the study's claim with its verdict (knowledge.claims). It is
derived data, keyed by what derived it:

  rules_version   the extraction rules key the run's evidence was read with (evidence.rules)
  claims_version  the claim check and this summary: a hash of the baseline, the checklist, the
                  claim check's code and this module

Why record it at all, when it can be recomputed? Two reasons:
  - `collector report --as-of RUN` must print the same bytes later. Recomputing with newer rules
    or a retuned claim check would not; the run's first reading (normally made right after the
    crawl, by the weekly report) is "the matrix as it was" (`--rules then`), and it never changes.
  - Speed: judging the claims of a run takes seconds; a recorded snapshot is read in milliseconds.

The first reading of a run under a key wins (INSERT OR IGNORE): created_at is when the run was
first read that way. A read-only store is read without recording.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

from knowledge.store import Store, utcnow

TOP_CITATIONS = 3


@dataclass
class Snapshot:
    run_id: int
    tool: str
    rules_version: str
    claims_version: str
    created_at: str
    pages: int                                   # pages the run stands for (evidence.read.run_pages)
    cells: dict[str, dict] = field(default_factory=dict)   # criterion -> cell summary (see _cell)

    @property
    def key(self) -> tuple[str, str]:
        return self.rules_version, self.claims_version

    def to_json(self) -> str:
        return json.dumps({"tool": self.tool, "pages": self.pages, "cells": self.cells},
                          sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_row(cls, row) -> "Snapshot":
        data = json.loads(row["data"])
        return cls(row["run_id"], data["tool"], row["rules_version"], row["claims_version"], row["created_at"],
                   data["pages"], data["cells"])


# --------------------------------------------------------------------------- keys
@lru_cache(maxsize=1)
def claims_version() -> str:
    """Changes whenever the study's data, the claim check's code (knowledge.claims.cache.judge_hash)
    or this summary's code changes."""
    from knowledge.claims.cache import judge_hash

    h = hashlib.sha256(judge_hash().encode())
    h.update((resources.files("knowledge.report") / "snapshot.py").read_bytes())
    return h.hexdigest()[:12]


def current_key(store: Store, run_id: int) -> tuple[str, str]:
    from knowledge.evidence.rules import rules_key, run_source

    return rules_key(run_source(store, run_id)[1]), claims_version()


# --------------------------------------------------------------------------- reading recorded snapshots
def find(store: Store, run_id: int, key: tuple[str, str]) -> Snapshot | None:
    row = store.conn.execute("SELECT * FROM report_snapshots WHERE run_id = ? AND rules_version = ? AND "
                             "claims_version = ?", (run_id, *key)).fetchone()
    return Snapshot.from_row(row) if row else None


def first(store: Store, run_id: int) -> Snapshot | None:
    """The run as the report first read it (normally right after the crawl): `--rules then`."""
    row = store.conn.execute("SELECT * FROM report_snapshots WHERE run_id = ? ORDER BY created_at, rowid LIMIT 1",
                             (run_id,)).fetchone()
    return Snapshot.from_row(row) if row else None


def first_keys(store: Store, tool: str) -> dict[int, tuple[str, str]]:
    """{run id: the key of its first reading} for every recorded run of the tool (no data loaded)."""
    rows = store.conn.execute(
        "SELECT s.run_id, s.rules_version, s.claims_version, s.created_at FROM report_snapshots s JOIN runs r "
        "ON r.id = s.run_id WHERE r.tool = ? ORDER BY s.run_id, s.created_at DESC, s.rowid DESC", (tool,))
    return {r["run_id"]: (r["rules_version"], r["claims_version"]) for r in rows}   # the last row per run wins


def first_use(store: Store, tool: str, key: tuple[str, str]) -> str | None:
    """When any run of the tool was first read this way."""
    row = store.conn.execute(
        "SELECT MIN(s.created_at) FROM report_snapshots s JOIN runs r ON r.id = s.run_id WHERE r.tool = ? "
        "AND s.rules_version = ? AND s.claims_version = ?", (tool, *key)).fetchone()
    return row[0] if row else None


def current(store: Store, run) -> Snapshot:
    """The run read with today's rules and claim check: recorded, else computed and recorded."""
    key = current_key(store, run["id"])
    return find(store, run["id"], key) or _record(store, compute(store, run, key))


# --------------------------------------------------------------------------- computing one
def compute(store: Store, run, key: tuple[str, str] | None = None) -> Snapshot:
    """Read one finished run: its evidence once (evidence.read.run_evidence), judged once."""
    from knowledge.claims.cache import run_verdicts
    from knowledge.claims.check import tool_docs
    from knowledge.domain.checklist import load_checklist
    from knowledge.evidence.read import run_evidence, run_pages

    run_id, tool = run["id"], run["tool"]
    key = key or current_key(store, run_id)
    evidence = run_evidence(store, run_id)
    # the claim check's own cache (knowledge.claims.cache); judged here from the evidence just read
    verdicts = run_verdicts(store, run, lambda r: tool_docs(store, r, evidence))
    by_crit: dict[str, list] = {}
    for e in evidence:
        by_crit.setdefault(e.criterion, []).append(e)
    cells = {crit.id: _cell(tool, crit.id, by_crit.get(crit.id, []), verdicts.get(crit.id))
             for crit in load_checklist()}
    return Snapshot(run_id, tool, key[0], key[1], utcnow(), len(run_pages(store, run_id)), cells)


def _cell(tool: str, criterion: str, items: list, verdict) -> dict:
    from knowledge.domain import baseline

    items = sorted(items, key=lambda e: (-e.score, e.path, e.position))
    facts: dict[tuple[str, str], str] = {}
    for e in items:                       # best-scoring passage first: it is the fact's citation
        for f in e.facts:
            facts.setdefault((f["category"], str(f["value"])), cite(e.citation, e.fetched_at))
    claim = baseline.baseline_for(tool, criterion)
    read = [e.fetched_at for e in items if e.fetched_at]
    top = verdict.passages[0] if verdict and verdict.passages else None
    return {
        "claim": _text(getattr(claim, "claim", "")),
        "claim_status": _text(getattr(claim, "status", "")),
        "verdict": verdict.verdict if verdict else "",
        "reason": verdict.deciding if verdict else "",
        "verdict_citation": cite(top.url, top.crawled_at) if top else "",
        "dead_citations": _dead_citations(verdict) if verdict else [],
        "passages": len({(e.path, e.position) for e in items}),
        "pages": len({e.path for e in items}),
        "facts": [[cat, val, c] for (cat, val), c in sorted(facts.items())],
        "citations": [cite(e.citation, e.fetched_at) for e in items[:TOP_CITATIONS]],
        "newest": max(read) if read else "",
        "oldest": min(read) if read else "",
        "gone_only": bool(items) and all(e.carried == "gone" for e in items),
    }


def cite(url: str, when: str) -> str:
    """A citation as everything shows it: URL#section (crawled YYYY-MM-DD)."""
    return f"{url} (crawled {str(when)[:10]})" if when else url


def _dead_citations(verdict) -> list[str]:
    dead = {c["url"]: c for a in verdict.assertions for c in a.cited if c["status"] in ("gone", "section-gone")}
    return [f"{url} ({'404' if c['status'] == 'gone' else 'section gone'})" for url, c in sorted(dead.items())]


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return "; ".join(map(str, value))
    return str(value)


def _record(store: Store, snap: Snapshot) -> Snapshot:
    """Keep the first reading under a key; a store we cannot write is simply read without it."""
    try:
        store.conn.execute("INSERT OR IGNORE INTO report_snapshots (run_id, rules_version, claims_version, "
                           "created_at, data) VALUES (?, ?, ?, ?, ?)",
                           (snap.run_id, snap.rules_version, snap.claims_version, snap.created_at, snap.to_json()))
    except sqlite3.OperationalError:      # read-only file or folder, or busy past the timeout
        return snap
    return find(store, snap.run_id, snap.key) or snap
