"""The comparison over time: crawls, "as of", and the flags and reviews as they stood then.

Definitions every time-aware view of the report uses (the report, `--as-of`, the changelog):

crawl
    The finished (complete or partial) runs one `collector crawl` made: runs of different tools
    that started within CRAWL_WINDOW of the crawl's first run. A crawl's `finished_at` is the
    moment its first run finished, i.e. the moment the report first showed any of it.
as of
    The runs read: `knowledge.evidence.read.runs_as_of` (per tool its last finished crawl with
    id <= RUN, or started on or before DATE), the one definition `collector claims` uses too.
then (the cutoff)
    When the next finished run of a reported tool finished: until then, `collector report` showed
    these runs. Flags and review decisions count when they were made strictly before the cutoff
    (timestamps are to the second: one made in the second the next crawl finished counts after
    it). When no newer run has finished yet, there is no cutoff: every
    flag and decision so far counts, and later reviews still change the report until the next
    crawl finishes. A closed period never changes again, which is what makes `--as-of`
    reproducible.
flag status then
    The latest status decision (accepted / dismissed / uncertain) made before the cutoff; else
    "superseded" when a newer flag of the same cell was created before the cutoff (or the flag
    was superseded before it); else "open". Without a cutoff, the flags table's own status.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from knowledge.store import Store

FINISHED = ("complete", "partial")
CRAWL_WINDOW = 3600          # seconds: runs of one `collector crawl` start together
PENDING = ("open", "uncertain")


@dataclass
class Crawl:
    runs: dict[str, object]            # tool -> run row
    started_at: str
    finished_at: str

    @property
    def run_ids(self) -> dict[str, int]:
        return {t: r["id"] for t, r in self.runs.items()}


@dataclass
class FlagThen:
    """A flag as it stood at the cutoff."""

    id: str
    tool: str
    criterion: str
    kind: str
    summary: str
    status: str
    created_at: str


def flag_shown(store: Store, flag: FlagThen) -> dict:
    """{kind, summary, citation, run_id} of a flag as the report first showed it (recorded then)."""
    import sqlite3

    from knowledge.store import utcnow

    row = store.conn.execute("SELECT * FROM report_flags WHERE flag_id = ?", (flag.id,)).fetchone()
    if row is not None:
        return {k: row[k] for k in ("kind", "summary", "citation", "run_id")}
    citation, run_id = flag_source(store, flag)
    shown = {"kind": flag.kind, "summary": flag.summary, "citation": citation, "run_id": run_id}
    try:
        store.conn.execute("INSERT OR IGNORE INTO report_flags (flag_id, kind, summary, citation, run_id, recorded_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)", (flag.id, flag.kind, flag.summary, citation, run_id, utcnow()))
    except sqlite3.OperationalError:      # a store we cannot write: shown as it is now
        pass
    return shown


def _claim_passage(payload) -> str:
    """A flag about the study's claim alone (no passage changed): the first passage its contradicted
    assertions cite ("" for an absence: no page mentions it any more)."""
    claim = payload.get("claim") if isinstance(payload, dict) else None
    assertions = claim.get("assertions") if isinstance(claim, dict) else None
    for a in sorted((a for a in assertions or [] if isinstance(a, dict)), key=lambda a: a.get("status") != "contradicted"):
        for p in a.get("passages") or []:
            if isinstance(p, dict) and p.get("url"):
                return p["url"]
    return ""


def flag_source(store: Store, flag: FlagThen) -> tuple[str, int | None]:
    """(citation, run id) for a flag: its most important passage as URL#section with the date of the crawl
    that `collector diff` flagged it after (the tool's latest finished run when the flag was made).

    A later diff that finds the same change again rewrites the flag's runs and passage dates, so
    they are not used: an old report must keep citing what it cited. Payloads can be large, so
    they are read only for the flags shown."""
    from knowledge.report.snapshot import cite

    run = store.conn.execute(
        "SELECT id, started_at FROM runs WHERE tool = ? AND status IN ('complete', 'partial') AND "
        "COALESCE(finished_at, started_at) <= ? ORDER BY id DESC LIMIT 1", (flag.tool, flag.created_at)).fetchone()
    row = store.conn.execute("SELECT payload FROM flags WHERE id = ?", (flag.id,)).fetchone()
    try:
        payload = json.loads(row["payload"] or "{}") if row else {}
    except ValueError:
        payload = {}
    parts = ("added", "changed", "removed", "restored", "possibly_removed", "moved")
    entries = [p for part in parts for p in ((payload.get(part) or []) if isinstance(payload, dict) else [])
               if isinstance(p, dict) and p.get("url")]
    # the most important passage (docs/diff-json.md: `importance`), else the first one
    best = max(entries, key=lambda p: p.get("importance") or 0, default=None)
    url = best["url"] if best else _claim_passage(payload)
    if not url:
        return "", run["id"] if run else None
    return cite(url, run["started_at"] if run else ""), run["id"] if run else None


# --------------------------------------------------------------------------- crawls
def finished_runs(store: Store, tools: list[str]) -> list:
    marks = ",".join("?" * len(tools))
    return store.conn.execute(f"SELECT * FROM runs WHERE tool IN ({marks}) AND status IN ('complete', 'partial') "
                              "ORDER BY id", tools).fetchall() if tools else []


def crawls(store: Store, tools: list[str]) -> list[Crawl]:
    """Every crawl of these tools, oldest first."""
    out: list[Crawl] = []
    for run in finished_runs(store, tools):
        last = out[-1] if out else None
        if last and run["tool"] not in last.runs and _seconds(last.started_at, run["started_at"]) <= CRAWL_WINDOW:
            last.runs[run["tool"]] = run
            last.finished_at = min(last.finished_at, _finish(run))
            continue
        out.append(Crawl({run["tool"]: run}, run["started_at"], _finish(run)))
    return out


def _finish(run) -> str:
    return run["finished_at"] or run["started_at"]


def _seconds(a: str, b: str) -> float:
    try:
        return abs((_parse(b) - _parse(a)).total_seconds())
    except ValueError:
        return float("inf")


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def cutoff(store: Store, tools: list[str], runs: dict[str, object]) -> str | None:
    """When the next finished run of these tools finished (None: these are still the latest)."""
    stamps = []
    for tool in tools:
        run = runs.get(tool)
        row = store.conn.execute(
            "SELECT MIN(COALESCE(finished_at, started_at)) FROM runs WHERE tool = ? AND status IN ('complete', "
            "'partial') AND id > ?", (tool, run["id"] if run else 0)).fetchone()
        if row[0]:
            stamps.append(row[0])
    return min(stamps) if stamps else None


def period_of(crawl_list: list[Crawl], stamp: str) -> int | None:
    """Index of the crawl whose period holds this moment: the latest crawl finished at or before it."""
    found = None
    for i, c in enumerate(crawl_list):
        if c.finished_at <= stamp:
            found = i
    return found


# --------------------------------------------------------------------------- flags and decisions then
def decisions(store: Store, tools: list[str], before: str | None = None) -> list:
    """Review decisions on these tools' cells made before the cutoff, oldest first."""
    marks = ",".join("?" * len(tools))
    sql = f"SELECT * FROM decisions WHERE tool IN ({marks})"
    args: list = list(tools)
    if before is not None:
        sql += " AND decided_at < ?"
        args.append(before)
    return store.conn.execute(sql + " ORDER BY id", args).fetchall() if tools else []


def flags(store: Store, tools: list[str], before: str | None = None, decided: list | None = None) -> list[FlagThen]:
    """These tools' flags created before the cutoff, with their status then, oldest first."""
    if not tools:
        return []
    marks = ",".join("?" * len(tools))
    sql = ("SELECT id, tool, criterion, kind, summary, status, created_at, updated_at FROM flags "
           f"WHERE tool IN ({marks})")
    args: list = list(tools)
    if before is not None:
        sql += " AND created_at < ?"
        args.append(before)
    rows = store.conn.execute(sql + " ORDER BY created_at, id", args).fetchall()
    if before is None:
        return [_flag(r, r["status"]) for r in rows]
    decided = decided if decided is not None else decisions(store, tools, before)
    latest = {d["flag_id"]: d["decision"] for d in decided if d["decision"] != "note"}
    newest_in_cell: dict[tuple[str, str], str] = {}
    for r in rows:
        newest_in_cell[(r["tool"], r["criterion"])] = max(newest_in_cell.get((r["tool"], r["criterion"]), ""),
                                                          r["created_at"])
    out = []
    for r in rows:
        if r["id"] in latest:
            status = latest[r["id"]]
        elif (newest_in_cell[(r["tool"], r["criterion"])] > r["created_at"]
              or (r["status"] == "superseded" and r["updated_at"] < before)):
            status = "superseded"
        else:
            status = "open"
        out.append(_flag(r, status))
    return out


def _flag(row, status: str) -> FlagThen:
    return FlagThen(row["id"], row["tool"], row["criterion"], row["kind"], row["summary"], status,
                    row["created_at"])


def findings(store: Store, decided: list) -> dict[tuple[str, str], dict]:
    """{(tool, criterion): the cell's new finding} from these decisions (those made before the
    cutoff): the note of the latest accepted decision on a flag that reported the study's claim as
    contradicted, as knowledge.review.decisions.findings defines it for the whole history."""
    out: dict[tuple[str, str], dict] = {}
    for d in decided:                 # oldest first: the latest wins
        if d["decision"] != "accepted" or not d["note"]:
            continue
        row = store.conn.execute("SELECT payload FROM flags WHERE id = ?", (d["flag_id"],)).fetchone()
        try:
            claim = (json.loads(row["payload"] or "{}") or {}).get("claim") or {} if row else {}
        except (ValueError, AttributeError):
            continue
        if isinstance(claim, dict) and claim.get("verdict") == "stale":
            out[(d["tool"], d["criterion"])] = {"text": d["note"], "reviewer": d["reviewer"],
                                                "decided_at": d["decided_at"], "flag_id": d["flag_id"]}
    return out
