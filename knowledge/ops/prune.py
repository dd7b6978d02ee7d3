"""Keep the store from growing without bound.

Doc sites change every page on every deploy (build stamps), so each weekly crawl adds about one
compressed copy of each site. `prune` drops old crawls nobody can still need and everything only
they referenced: their per-page verdicts, page bodies no kept crawl or validator uses, and cached
evidence of dropped bodies or of rules that are no longer current (evidence is derived data and
is rebuilt from pages on demand).

Never pruned: the newest `keep` finished crawls per tool, any running crawl, the crawl each
reviewed cell points at (the next diff compares against it), the crawls of flags still waiting
for review, and the earlier crawls a kept crawl's evidence is read from (a page answering 404 for
the first time keeps its last good content: the crawl that read it stays). Flags and decisions
keep their own copies of the evidence they showed, so the review history stays readable.
"""
from __future__ import annotations

from knowledge.errors import UsageError
from knowledge.evidence.rules import rules_key, run_source
from knowledge.store import Store


def runs_to_keep(store: Store, keep: int) -> set[int]:
    conn = store.conn
    kept: set[int] = set()
    for (tool,) in conn.execute("SELECT DISTINCT tool FROM runs"):
        kept |= {r[0] for r in conn.execute(
            "SELECT id FROM runs WHERE tool = ? AND status IN ('complete', 'partial') ORDER BY id DESC LIMIT ?",
            (tool, keep))}
    kept |= {r[0] for r in conn.execute("SELECT id FROM runs WHERE status = 'running'")}
    kept |= {r[0] for r in conn.execute("SELECT run_id FROM reviewed_state")}
    for row in conn.execute("SELECT from_run, to_run FROM flags WHERE status IN ('open', 'uncertain')"):
        kept |= {r for r in row if r is not None}
    return kept | runs_read_by(store, kept)


def runs_read_by(store: Store, runs: set[int]) -> set[int]:
    """Earlier crawls that the evidence of `runs` is read from (knowledge.evidence.read.run_pages):
    a page answering 404 keeps the content of its last good fetch if the 404 is its first, which
    the page's previous verdict tells. Dropping either crawl would make the page vanish from, or
    come back into, a kept crawl's evidence. One step back only: the crawls kept for this are
    support, and a page gone for months would otherwise keep every crawl since."""
    from knowledge.evidence.read import last_good_fetch, previous_verdict

    conn = store.conn
    needed: set[int] = set()
    for run_id in sorted(runs):
        tool = conn.execute("SELECT tool FROM runs WHERE id = ?", (run_id,)).fetchone()
        if tool is None:
            continue
        for (path,) in conn.execute("SELECT path FROM fetches WHERE run_id = ? AND outcome = 'gone'", (run_id,)):
            previous = previous_verdict(store, tool[0], path, run_id)   # is this 404 the first?
            if previous is None:
                continue
            needed.add(previous["run_id"])
            if previous["outcome"] != "gone":   # the first 404: the page keeps its last good content
                last = last_good_fetch(store, tool[0], path, run_id)
                if last is not None:
                    needed.add(last["run_id"])
    return needed - runs


def prune(store: Store, keep: int = 8, dry_run: bool = False) -> dict:
    """Drop crawls beyond the newest `keep` per tool (see module doc); returns what went."""
    if keep < 1:
        raise UsageError("--keep must be at least 1.", "The newest crawl of each tool is always needed.")
    conn = store.conn
    kept = runs_to_keep(store, keep)
    drop = [r[0] for r in conn.execute("SELECT id FROM runs ORDER BY id") if r[0] not in kept]
    current_keys = {rules_key(run_source(store, run_id)[1]) for run_id in kept}
    stats = {"runs_dropped": drop, "runs_kept": len(kept)}
    if dry_run:
        stats["dry_run"] = True
        return stats
    before = store.path.stat().st_size if store.path.exists() else 0
    with store.transaction():
        conn.executemany("DELETE FROM fetches WHERE run_id = ?", [(r,) for r in drop])
        conn.executemany("DELETE FROM runs WHERE id = ?", [(r,) for r in drop])
        cur = conn.execute(
            "DELETE FROM blobs WHERE sha256 NOT IN (SELECT sha256 FROM fetches WHERE sha256 IS NOT NULL) "
            "AND sha256 NOT IN (SELECT sha256 FROM pages WHERE sha256 IS NOT NULL)")
        stats["pages_dropped"] = cur.rowcount
        conn.execute("DELETE FROM page_reads WHERE sha256 NOT IN (SELECT sha256 FROM blobs)")
        keys = sorted(current_keys)
        marks = ",".join("?" * len(keys)) or "NULL"
        stale = (f"page_sha256 NOT IN (SELECT sha256 FROM blobs) OR rules_version NOT IN ({marks})")
        cur = conn.execute(f"DELETE FROM passages WHERE {stale}", keys)   # tags, facts cascade
        stats["passages_dropped"] = cur.rowcount
        conn.execute(f"DELETE FROM extractions WHERE {stale}", keys)
        # Derived readings of dropped crawls (claim verdicts, the report's first readings of them).
        for table in ("claim_verdicts", "report_snapshots"):
            conn.execute(f"DELETE FROM {table} WHERE run_id NOT IN (SELECT id FROM runs)")
    conn.execute("VACUUM")   # give the space back to the file system
    stats["bytes_before"] = before
    stats["bytes_after"] = store.path.stat().st_size
    return stats
