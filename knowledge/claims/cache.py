"""The claim check's verdicts per crawl run, cached in the store (table claim_verdicts).

A run's verdicts depend on the run's evidence (its pages and the rules key they are read with), the
baseline's claims and assertions, the checklist, and the judge itself; the cache key hashes all of
them, so changing any one re-judges, and a diff, the report and `collector claims` read last
week's verdicts instead of judging them again. A store that cannot be written (read-only, busy)
still gets its verdicts, just not cached.
"""
from __future__ import annotations

import hashlib
import json
import sqlite3
import zlib
from functools import lru_cache
from importlib import resources

from knowledge.claims.judge import ToolDocs, judge_cell
from knowledge.claims.model import CellVerdict
from knowledge.domain.checklist import criterion_ids
from knowledge.evidence.rules import rules_key, run_source
from knowledge.store import Store, utcnow

# Part of the key besides the hashed files below: a way to re-judge on purpose (tests use it).
JUDGE_VERSION = "4"


@lru_cache(maxsize=1)
def _data_hash() -> str:
    """A hash of what judging reads besides the evidence: the study's data and the judge's code
    (any edit re-judges: safer than a version number someone must remember to bump)."""
    h = hashlib.sha256(JUDGE_VERSION.encode())
    parts = [resources.files("knowledge") / "data" / name for name in ("baseline.toml", "checklist.toml")]
    parts += sorted((p for p in resources.files("knowledge.claims").iterdir() if p.name.endswith(".py")),
                    key=lambda p: p.name)
    parts.append(resources.files("knowledge.domain") / "assertions.py")
    for item in parts:
        h.update(item.name.encode())
        h.update(item.read_bytes())
    return h.hexdigest()[:12]


def judge_hash() -> str:
    """What the verdicts of any crawl were judged with (the study's data and the judge's code)."""
    return _data_hash()


def verdict_key(store: Store, run_id: int) -> str:
    """What a run's cached verdicts were derived with: its rules key, the crawls of its doc
    variants read with it, and the claim data/judge hash."""
    from knowledge.claims.check import variant_runs

    variants = "+".join(str(r["id"]) for r in variant_runs(store, store.get_run(run_id)))
    return f"{rules_key(run_source(store, run_id)[1])}:{variants}:{_data_hash()}"


def run_verdicts(store: Store, run, docs_for=None) -> dict[str, CellVerdict]:
    """{criterion: CellVerdict} for every criterion of the run's tool, as of that run.

    Read from the cache when present; else judged (`docs_for(run)` gives the run's ToolDocs) and
    cached."""
    key = verdict_key(store, run["id"])
    row = store.conn.execute("SELECT data FROM claim_verdicts WHERE run_id = ? AND key = ?",
                             (run["id"], key)).fetchone()
    if row is not None:
        try:
            cells = [CellVerdict.from_dict(d) for d in json.loads(zlib.decompress(row["data"]))]
            return {c.criterion: c for c in cells}
        except (ValueError, KeyError, TypeError, zlib.error):
            pass   # an unreadable entry is judged again and replaced
    cells = judge_run(store, run, docs_for)
    data = zlib.compress(json.dumps([c.to_dict() for c in cells.values()], ensure_ascii=False).encode(), 6)
    try:
        with store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO claim_verdicts (run_id, key, created_at, data) VALUES (?, ?, ?, ?)",
                         (run["id"], key, utcnow(), data))
    except sqlite3.OperationalError:   # read-only or busy: the verdicts are right, just not kept
        pass
    return cells


def judge_run(store: Store, run, docs_for=None) -> dict[str, CellVerdict]:
    from knowledge.claims.check import tool_docs
    from knowledge.domain.baseline import baseline_for   # read at call time: tests swap the study

    tool = run["tool"]
    claims = {c: baseline_for(tool, c) for c in criterion_ids()}
    if any(claims.values()):
        docs = (docs_for or (lambda r: tool_docs(store, r)))(run)
    else:   # a tool the study never covered: nothing to judge, nothing to read
        docs = ToolDocs(tool, [], 0, {}, run["id"], run["started_at"])
    return {c: judge_cell(tool, c, claim, docs) for c, claim in claims.items()}
