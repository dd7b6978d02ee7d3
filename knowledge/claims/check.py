"""`collector claims`: the study's claims judged against the evidence of the crawls, from the first
crawl on. Reads the evidence as every view does (knowledge.evidence.read), builds one searchable
ToolDocs per tool, and asks knowledge.claims.judge for a verdict per cell.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from knowledge.claims.cache import run_verdicts
from knowledge.claims.judge import CitedPage, DocPassage, ToolDocs, path_key
from knowledge.claims.model import CellVerdict, rank_cells
from knowledge.domain.checklist import check_criteria
from knowledge.errors import CollectorError
from knowledge.evidence.read import run_evidence, run_pages, run_passages, runs_as_of
from knowledge.store import Store


@dataclass
class ClaimsResult:
    cells: list[CellVerdict]
    runs: dict[str, dict | None]                 # tool -> the run judged (None: never crawled)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"schema": 1, "runs": self.runs, "cells": [c.to_dict() for c in self.cells], "notes": self.notes}


def check_claims(store: Store, tools: list[str] | None = None, criteria: list[str] | None = None,
                 as_of: int | str | None = None) -> ClaimsResult:
    """Every claim of the given tools (default: every crawled or built-in tool) x criteria, ranked."""
    crit = check_criteria(criteria)
    names = _tools(store, tools)
    runs = runs_as_of(store, names, as_of)
    if not any(runs.values()):
        raise CollectorError(f"No finished crawl in {store.path}" + (f" as of {as_of}" if as_of else "")
                             + ": nothing to judge the claims against.",
                             "Run `collector crawl` first (or `collector demo` to try it offline).")
    cells: list[CellVerdict] = []
    notes = []
    for tool in names:
        run = runs[tool]
        if run is None:
            notes.append(f"{tool}: no finished crawl" + (f" as of {as_of}" if as_of else "") + "; its claims are "
                         f"not judged (run `collector crawl {tool}`).")
            continue
        verdicts = run_verdicts(store, run)
        cells += [verdicts[c] for c in crit if c in verdicts]
    info = {t: (None if r is None else {"run_id": r["id"], "status": r["status"], "started_at": r["started_at"]})
            for t, r in runs.items()}
    return ClaimsResult(rank_cells(cells), info, notes)


def _tools(store: Store, tools: list[str] | None) -> list[str]:
    from knowledge.domain.sources import check_tool_names, load_sources

    crawled = [r[0] for r in store.conn.execute("SELECT DISTINCT tool FROM runs ORDER BY tool")]
    sources = load_sources()
    known = list(dict.fromkeys(list(sources) + crawled))
    if not tools:   # doc variants (metaflow-r) have no claims of their own: named explicitly only
        variants = {t for t, s in sources.items() if s.variant_of}
        return [t for t in known if t in crawled and t not in variants] or [t for t in known if t not in variants]
    return check_tool_names(tools, known)


def variant_runs(store: Store, run) -> list:
    """The crawls of the tool's doc variants shown separately (e.g. "metaflow-r" for Metaflow's R
    docs), as of this run: each variant tool's last finished crawl that started before this run
    ended. A thing the study names is still documented if a variant documents it."""
    from knowledge.evidence.site import stored_sources

    variants = sorted(t for t, src in stored_sources(store).items() if src.get("variant_of") == run["tool"])
    until = run["finished_at"] or run["started_at"]
    out = []
    for tool in variants:
        row = store.conn.execute(
            "SELECT * FROM runs WHERE tool = ? AND status IN ('complete', 'partial') AND started_at <= ? "
            "ORDER BY id DESC LIMIT 1", (tool, until)).fetchone()
        if row is not None:
            out.append(row)
    return out


def tool_docs(store: Store, run, evidence: list | None = None) -> ToolDocs:
    """Every passage of the run (the evidence as of that run), with its tags and facts, plus the
    passages of its doc variants (untagged: they count where a statement is searched for in the
    whole of the tool's docs, never as evidence of a criterion cell).
    `evidence`: the run's run_evidence when the caller has it already."""
    if evidence is None:
        evidence = run_evidence(store, run["id"])
    tags: dict[int, dict[str, float]] = {}
    facts: dict[int, set] = {}
    for e in evidence:
        tags.setdefault(e.passage_id, {})[e.criterion] = e.score
        for f in e.facts:
            facts.setdefault(e.passage_id, set()).add((f["criterion"], f["category"], f["value"]))
    passages = [DocPassage(e.citation, e.path, tuple(e.heading_path), e.text, e.fetched_at, e.run_id,
                           tags.get(e.passage_id, {}), facts.get(e.passage_id, set()))
                for e in run_passages(store, run["id"])]
    for variant in variant_runs(store, run):
        run_evidence(store, variant["id"])        # builds what is missing under the current rules
        passages += [DocPassage(e.citation, e.path, tuple(e.heading_path), e.text, e.fetched_at, e.run_id)
                     for e in run_passages(store, variant["id"])]
    pages = run_pages(store, run["id"])
    return ToolDocs(run["tool"], passages, len(pages), cited_pages(store, run, pages), run["id"], run["started_at"],
                    left_out=_left_out(run, bool(variant_runs(store, run))))


def _left_out(run, variants_read: bool) -> str:
    """What of the tool's docs this crawl did not read, in words ("" when it read them all)."""
    settings = json.loads(run["settings"] or "{}")
    source = settings.get("source") or {}
    stats = json.loads(run["stats"] or "{}")
    parts = []
    if source.get("variants") and not variants_read:
        parts.append("its doc variants (" + ", ".join(f"{name} docs under {prefix}" for name, prefix in
                                                      sorted(dict(source["variants"]).items())) + ")")
    if stats.get("page_limit_hit"):
        parts.append("pages beyond the page limit")
    return " and ".join(parts)


# --------------------------------------------------------------------------- the study's citations
_ID_ATTR = re.compile(rb"""\bid\s*=\s*["']([^"'<>]+)["']""", re.I)
# Sphinx numbers anonymous targets (id49, toc-entry-3): such ids change with every build, so a
# missing one says nothing about the section.
_UNSTABLE_ID = re.compile(r"^(?:id\d+|toc-entry-\d+)$")


def cited_pages(store: Store, run, pages=None) -> dict[str, CitedPage]:
    """For each URL the study cites for this tool: is its page (and section) in this crawl?"""
    from knowledge.domain.baseline import baseline_for
    from knowledge.domain.checklist import criterion_ids

    pages = pages if pages is not None else run_pages(store, run["id"])
    by_path = {path_key(p.url): p for p in pages}
    claims = [baseline_for(run["tool"], c) for c in criterion_ids()]
    urls = sorted({u for claim in claims if claim is not None for a in getattr(claim, "assertions", ())
                   for u in a.cited})
    from knowledge.evidence.site import cited_status

    checked = {c["url"]: c for c in cited_status(store, run["tool"], run["id"]) if c["status"] != "unchecked"}
    out: dict[str, CitedPage] = {}
    for url in urls:
        if url in checked:          # the crawl requested the citation itself (redirects followed)
            out[url] = _from_check(checked[url])
            continue
        # Otherwise (a mirror crawl leaves other hosts alone): find the cited page among the crawl's.
        key = path_key(url)
        fragment = url.split("#", 1)[1] if "#" in url else ""
        page = by_path.get(key)
        if page is None:
            row = store.conn.execute(
                "SELECT outcome, final_url FROM fetches WHERE run_id = ? AND (path = ? OR path = ?) LIMIT 1",
                (run["id"], key, key + "/")).fetchone()
            if row is not None and row["outcome"] == "gone":
                out[url] = CitedPage(url, "gone", detail="answers 404")
            elif row is not None and row["final_url"]:
                out[url] = CitedPage(url, "redirected", row["final_url"])
            else:
                out[url] = CitedPage(url, "not-crawled")
            continue
        if fragment and not _UNSTABLE_ID.match(fragment):
            body = store.get_blob(page.sha256) or b""
            ids = {m.group(1).decode("utf-8", "replace") for m in _ID_ATTR.finditer(body)}
            if fragment not in ids:
                out[url] = CitedPage(url, "section-gone", page.url, f"the page has no #{fragment} any more")
                continue
        out[url] = CitedPage(url, "present", page.url)
    return out


def _from_check(c: dict) -> CitedPage:
    final = c.get("final_url") or ""
    if c["status"] == "gone":
        return CitedPage(c["url"], "gone", final, c.get("reason") or f"answers {c.get('http_status') or 404}")
    if c["status"] in ("fetched", "redirected"):
        fragment = c["url"].split("#", 1)[1] if "#" in c["url"] else ""
        if c.get("anchor_found") is False and not _UNSTABLE_ID.match(fragment):
            return CitedPage(c["url"], "section-gone", final or c["url"], f"the page has no #{fragment} any more")
        return CitedPage(c["url"], "redirected" if c["status"] == "redirected" else "present", final)
    return CitedPage(c["url"], "not-crawled", final, c.get("reason") or c["status"])
