"""Keep the store from growing without bound.

Doc sites change every page on every deploy (build stamps), so each weekly crawl adds about one
compressed copy of each site. `prune` drops old crawls nobody can still need and everything only
they referenced: their per-page verdicts, page bodies no kept crawl or validator uses, and cached
evidence of dropped bodies or of rules that are no longer current (evidence is derived data and
is rebuilt from pages on demand).

Never pruned: the newest `keep` finished crawls per tool, any running crawl, the crawl each
reviewed cell points at (the next diff compares against it), and the crawls of flags still waiting
for review. Flags and decisions keep their own copies of the evidence they showed, so the review
history stays readable.
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
    return kept


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
