"""What the crawls learned about a documentation site besides its pages.

- `cited_status`: the study's cited pages (`cited` in the sources file) as of a tool's latest
  finished crawl: still answering, redirected (to where), gone, failed, blocked, or not checked.
- `page_aliases`: other URLs of the tool's pages (/x/index.html, rel=canonical, redirects).
- `doc_versions`: the releases the pages of a run state they document ("2.11.0": n pages).
- `stored_sources`: the source each tool in the store was last crawled with, so that a tool added
  with `--sources` needs no flag afterwards.

All read-only; the crawler writes the rows (crawler/records.py, migration 005_site_records.sql).
"""
from __future__ import annotations

import json
from collections import Counter

from knowledge.store import Store

CITED_STATUSES = ("fetched", "redirected", "gone", "failed", "blocked", "unchecked")


def cited_status(store: Store, tool: str, run_id: int | None = None) -> list[dict]:
    """One dict per study citation of `tool`, in the sources file's order, as checked by the tool's
    latest finished crawl (or by `run_id`):

    {"url": as cited (live URL with #fragment), "status": one of CITED_STATUSES, "final_url": where
     redirects ended (None when the URL answered itself), "anchor_found": True/False whether the
     cited #fragment is an id on the final page (None: no fragment, or not fetched), "http_status",
     "reason", "run_id", "checked_at" (ISO 8601 UTC; None when unchecked)}

    "unchecked": the crawl did not check it (a mirror crawl leaves citations on other hosts alone,
    or the tool was never crawled: then run_id is None). The citations listed are those of the
    source the crawl used; with no crawl, those of `sources` in the caller's hands are not known
    here, so the list is empty.
    """
    if run_id is None:
        run = store.latest_finished_run(tool)
        if run is None:
            return []
        run_id = run["id"]
    else:
        run = store.get_run(run_id)
        if run is None:
            return []
    source = (json.loads(run["settings"] or "{}").get("source") or {})
    checks = {r["url"]: r for r in store.conn.execute("SELECT * FROM cited_checks WHERE run_id = ?", (run_id,))}
    out = []
    for url in dict.fromkeys(list(source.get("cited") or []) + list(checks)):
        r = checks.get(url)
        if r is None:
            out.append({"url": url, "status": "unchecked", "final_url": None, "anchor_found": None,
                        "http_status": None, "reason": "not checked by this crawl", "run_id": run_id,
                        "checked_at": None})
            continue
        out.append({"url": url, "status": r["status"], "final_url": r["final_url"],
                    "anchor_found": None if r["anchor_found"] is None else bool(r["anchor_found"]),
                    "http_status": r["http_status"], "reason": r["reason"], "run_id": run_id,
                    "checked_at": r["checked_at"]})
    return out


def page_aliases(store: Store, tool: str) -> list[dict]:
    """[{alias, url, kind ("index" | "canonical" | "redirect"), first_run, last_run}], by page."""
    return [dict(r) for r in store.conn.execute(
        "SELECT alias, url, kind, first_run, last_run FROM page_aliases WHERE tool = ? ORDER BY url, alias",
        (tool,))]


def doc_versions(store: Store, run_id: int) -> dict[str, int]:
    """{release: pages of the run stating it}, most stated first; {} when no page states one."""
    counts = Counter(r[0] for r in store.conn.execute(
        "SELECT doc_version FROM fetches WHERE run_id = ? AND doc_version IS NOT NULL", (run_id,)))
    return dict(counts.most_common())


def stored_sources(store: Store) -> dict[str, dict]:
    """{tool: the source dict of its newest crawl}, for every tool the store has crawled."""
    out: dict[str, dict] = {}
    for r in store.conn.execute("SELECT tool, settings FROM runs ORDER BY id DESC"):
        if r["tool"] not in out:
            source = (json.loads(r["settings"] or "{}").get("source") or {})
            if source:
                out[r["tool"]] = source
    return out


def all_cited(store: Store | None, sources: dict[str, dict]) -> list[dict]:
    """`cited_status` for every tool of `sources` ({tool: source dict}) and every tool the store has
    crawled, each row with its "tool"; a tool never crawled lists its citations as "unchecked"."""
    stored = stored_sources(store) if store is not None else {}
    out = []
    for tool in list(dict.fromkeys(list(sources) + list(stored))):
        rows = cited_status(store, tool) if store is not None else []
        if not rows:
            rows = [{"url": url, "status": "unchecked", "final_url": None, "anchor_found": None, "http_status": None,
                     "reason": "not crawled yet", "run_id": None, "checked_at": None}
                    for url in dict.fromkeys((sources.get(tool) or stored.get(tool) or {}).get("cited") or [])]
        out += [{"tool": tool, **r} for r in rows]
    return out
