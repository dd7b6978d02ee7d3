"""Review: a person's decisions on diff flags, kept as an append-only audit trail.

Decisions (`decisions` table, see store/migrations/004_review.sql) are never rewritten: changing one
adds a row, so `history()` shows who decided what, when, on which evidence. The flag's status is
the latest decision; `reviewed_state` records, per tool x criterion cell, the crawl whose evidence
a person has seen, so the next `collector diff` flags the cell only when its evidence changes again.

What each decision does:
  accepted   the new evidence is right: status 'accepted', the cell's reviewed state advances
             to the flag's crawl (to_run, to_state).
  dismissed  seen, not relevant: status 'dismissed', the reviewed state advances too (the same
             change is not flagged again); the report still shows the cell as 'dismissed'.
  uncertain  needs a second look: status 'uncertain', the reviewed state stays; the flag stays in
             the queue, after all open flags.
  note       a remark only: the status does not change.

The flags table (store/migrations/003_flags.sql) is the contract with `collector diff`; this module reads
it directly so that review works on any store diff has written.
"""
from __future__ import annotations

import getpass
import json
import subprocess
from dataclasses import dataclass

from knowledge.diff.engine import Flag
from knowledge.errors import UsageError, unknown_name
from knowledge.store import Store, utcnow

DECISIONS = ("accepted", "dismissed", "uncertain", "note")
# The short verbs people type (`collector review accept ID`) -> the stored decision.
VERBS = {"accept": "accepted", "dismiss": "dismissed", "uncertain": "uncertain", "note": "note"}
PENDING = ("open", "uncertain")          # statuses that are still waiting for a person
ADVANCES_REVIEWED_STATE = ("accepted", "dismissed")


class ReviewFlag(Flag):
    """A flag as review shows it: knowledge.diff.Flag, serialised with its raw payload."""

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d.pop("decision", None)
        return d


@dataclass
class Decision:
    id: int
    flag_id: str
    tool: str
    criterion: str
    decision: str
    note: str | None
    reviewer: str
    decided_at: str
    to_run: int | None
    to_state: str | None

    @classmethod
    def from_row(cls, row) -> "Decision":
        return cls(**{k: row[k] for k in cls.__dataclass_fields__})

    def to_dict(self) -> dict:
        return dict(self.__dict__)


# --------------------------------------------------------------------------- who
def reviewer_name(explicit: str | None = None) -> str:
    """--reviewer, else `git config user.name`, else the login name."""
    if explicit and explicit.strip():
        return explicit.strip()
    try:
        name = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True,
                              timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        name = ""
    if name:
        return name
    try:
        return getpass.getuser()
    except Exception:  # no login name in some containers: still record something honest
        return "unknown"


# --------------------------------------------------------------------------- names
def known_tools(store: Store) -> list[str]:
    """The built-in sources' tools plus any tool this store has crawled or flagged."""
    from knowledge.domain.sources import load_sources

    names = set(load_sources())
    for sql in ("SELECT DISTINCT tool FROM runs", "SELECT DISTINCT tool FROM flags"):
        names.update(r[0] for r in store.conn.execute(sql))
    return sorted(names)


def check_tools(store: Store, tools: list[str] | None) -> list[str] | None:
    from knowledge.domain.sources import check_tool_names

    return check_tool_names(tools, known_tools(store)) if tools else None


def check_criteria(criteria: list[str] | None) -> list[str] | None:
    from knowledge.domain.checklist import get_criterion

    return [get_criterion(c).id for c in criteria] if criteria else None


# --------------------------------------------------------------------------- flags
def _where(tools: list[str] | None, criteria: list[str] | None) -> tuple[str, list]:
    sql, args = "", []
    if tools:
        sql += f" AND tool IN ({','.join('?' * len(tools))})"
        args += tools
    if criteria:
        sql += f" AND criterion IN ({','.join('?' * len(criteria))})"
        args += criteria
    return sql, args


def queue(store: Store, tools: list[str] | None = None, criteria: list[str] | None = None) -> list[ReviewFlag]:
    """Flags waiting for a person, most important first: open ones by rank, then tool and
    criterion; flags marked 'uncertain' come after every open flag, in the same order."""
    tools, criteria = check_tools(store, tools), check_criteria(criteria)
    extra, args = _where(tools, criteria)
    rows = store.conn.execute("SELECT * FROM flags WHERE status IN ('open', 'uncertain')" + extra, args)
    return sorted((ReviewFlag.from_row(r) for r in rows), key=lambda f: (f.status == "uncertain", *_order(f)))


def _order(flag: ReviewFlag) -> tuple:
    """Most important first: rank, then tool, then the checklist's criterion order (as `collector diff`)."""
    from knowledge.domain.checklist import criterion_ids

    ids = criterion_ids()
    return (flag.rank, flag.tool, ids.index(flag.criterion) if flag.criterion in ids else len(ids),
            flag.created_at or "", flag.id)


def list_flags(store: Store, tools: list[str] | None = None, criteria: list[str] | None = None,
               *, include_all: bool = False) -> list[ReviewFlag]:
    """The queue, or with `include_all` every flag (decided and superseded ones too)."""
    if not include_all:
        return queue(store, tools, criteria)
    tools, criteria = check_tools(store, tools), check_criteria(criteria)
    extra, args = _where(tools, criteria)
    rows = store.conn.execute("SELECT * FROM flags WHERE 1" + extra, args)
    return sorted((ReviewFlag.from_row(r) for r in rows), key=_order)


def get_flag(store: Store, flag_id: str) -> ReviewFlag:
    """The flag with this id (a unique prefix of it is enough); UsageError when unknown."""
    flag_id = (flag_id or "").strip()
    row = store.conn.execute("SELECT * FROM flags WHERE id = ?", (flag_id,)).fetchone()
    if row is None and flag_id:
        rows = store.conn.execute("SELECT * FROM flags WHERE id LIKE ? ESCAPE '\\' LIMIT 2",
                                  (_like_prefix(flag_id),)).fetchall()
        if len(rows) == 1:
            row = rows[0]
        elif len(rows) > 1:
            raise UsageError(f"Flag id '{flag_id}' is ambiguous: several flags start with it.",
                             "Give more characters of the id; `collector review list --all` shows them.")
    if row is None:
        raise UsageError(f"There is no flag '{flag_id}' in {store.path}.",
                         "See `collector review list` (or `collector review list --all`) for flag ids.")
    return ReviewFlag.from_row(row)


def _like_prefix(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


# --------------------------------------------------------------------------- deciding
def decide(store: Store, flag_id: str, decision: str, note: str | None = None,
           reviewer: str | None = None) -> Decision:
    """Record a decision on a flag (one new row, never an update) and apply it.

    `decision` is accepted/dismissed/uncertain/note (or the verbs accept/dismiss). A 'note' needs
    text and leaves the status alone. Everything happens in one transaction.
    """
    decision = VERBS.get(decision, decision)
    if decision not in DECISIONS:
        raise unknown_name("decision", decision, list(VERBS))
    note = (note or "").strip() or None
    if decision == "note" and not note:
        raise UsageError("A note needs some text.", "Example: collector review note ID \"docs moved to ...\"")
    flag = get_flag(store, flag_id)
    who = reviewer_name(reviewer)
    now = utcnow()
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO decisions (flag_id, tool, criterion, decision, note, reviewer, decided_at, to_run, to_state) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (flag.id, flag.tool, flag.criterion, decision, note, who, now, flag.to_run, flag.to_state))
        if decision != "note":
            conn.execute("UPDATE flags SET status = ?, updated_at = ? WHERE id = ?", (decision, now, flag.id))
            _update_reviewed_state(conn, flag, decision, now)
        row = conn.execute("SELECT * FROM decisions WHERE id = ?", (cur.lastrowid,)).fetchone()
    return Decision.from_row(row)


def _update_reviewed_state(conn, flag: ReviewFlag, decision: str, now: str) -> None:
    current = conn.execute("SELECT * FROM reviewed_state WHERE tool = ? AND criterion = ?",
                           (flag.tool, flag.criterion)).fetchone()
    if decision in ADVANCES_REVIEWED_STATE:
        # Deciding an older flag late must not move the cell back behind a newer reviewed crawl.
        if current is None or flag.to_run >= current["run_id"]:
            conn.execute("INSERT OR REPLACE INTO reviewed_state (tool, criterion, run_id, state, flag_id, reviewed_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)",
                         (flag.tool, flag.criterion, flag.to_run, flag.to_state, flag.id, now))
        return
    # Taking back an accept/dismiss ('uncertain' now): the cell falls back to the newest other
    # flag that is still accepted or dismissed, or to having no reviewed state.
    if current is None or current["flag_id"] != flag.id:
        return
    other = conn.execute(
        "SELECT f.id, f.to_run, f.to_state FROM flags f WHERE f.tool = ? AND f.criterion = ? AND f.id != ? "
        "AND f.status IN ('accepted', 'dismissed') ORDER BY f.to_run DESC, f.updated_at DESC LIMIT 1",
        (flag.tool, flag.criterion, flag.id)).fetchone()
    if other is None:
        conn.execute("DELETE FROM reviewed_state WHERE tool = ? AND criterion = ?", (flag.tool, flag.criterion))
    else:
        conn.execute("UPDATE reviewed_state SET run_id = ?, state = ?, flag_id = ?, reviewed_at = ? "
                     "WHERE tool = ? AND criterion = ?",
                     (other["to_run"], other["to_state"], other["id"], now, flag.tool, flag.criterion))


# --------------------------------------------------------------------------- reading decisions
def history(store: Store, tool: str | None = None, criterion: str | None = None,
            flag_id: str | None = None) -> list[Decision]:
    """Every decision, oldest first, optionally for one tool / criterion / flag."""
    tools = check_tools(store, [tool] if tool else None)
    criteria = check_criteria([criterion] if criterion else None)
    extra, args = _where(tools, criteria)
    if flag_id:
        extra += " AND flag_id = ?"
        args.append(flag_id)
    rows = store.conn.execute("SELECT * FROM decisions WHERE 1" + extra + " ORDER BY id", args).fetchall()
    return [Decision.from_row(r) for r in rows]


def current_decisions(store: Store) -> dict[str, Decision]:
    """{flag_id: its latest status decision (accepted/dismissed/uncertain)}; notes do not count."""
    rows = store.conn.execute(
        "SELECT d.* FROM decisions d JOIN (SELECT flag_id, MAX(id) AS id FROM decisions "
        "WHERE decision != 'note' GROUP BY flag_id) last ON last.id = d.id ORDER BY d.id").fetchall()
    return {r["flag_id"]: Decision.from_row(r) for r in rows}


def cell_reviews(store: Store) -> dict[tuple[str, str], Decision]:
    """{(tool, criterion): the cell's latest status decision}, for the report."""
    rows = store.conn.execute(
        "SELECT d.* FROM decisions d JOIN (SELECT tool, criterion, MAX(id) AS id FROM decisions "
        "WHERE decision != 'note' GROUP BY tool, criterion) last ON last.id = d.id").fetchall()
    return {(r["tool"], r["criterion"]): Decision.from_row(r) for r in rows}


def findings(store: Store) -> dict[tuple[str, str], dict]:
    """{(tool, criterion): the cell's new finding}: the note of the latest accepted decision on a flag
    that reported the study's claim as contradicted (accepting a stale verdict with a note records
    what the docs now say in place of the study's finding). Derived from the decision history."""
    out: dict[tuple[str, str], dict] = {}
    for r in store.conn.execute(
            "SELECT d.*, f.payload FROM decisions d JOIN flags f ON f.id = d.flag_id "
            "WHERE d.decision = 'accepted' AND d.note IS NOT NULL AND d.note != '' ORDER BY d.id"):
        try:
            claim = (json.loads(r["payload"] or "{}") or {}).get("claim") or {}
        except ValueError:
            continue
        if claim.get("verdict") == "stale":
            out[(r["tool"], r["criterion"])] = {"text": r["note"], "reviewer": r["reviewer"],
                                                "decided_at": r["decided_at"], "flag_id": r["flag_id"],
                                                "run_id": r["to_run"]}
    return out


# --------------------------------------------------------------------------- one flag in full
def baseline_claim(tool: str, criterion: str) -> dict | None:
    """The study's claim for a cell as a plain dict (None when the study says nothing)."""
    from knowledge.domain.baseline import baseline_for

    claim = baseline_for(tool, criterion)
    if claim is None:
        return None
    fields = ("tool", "criterion", "claim", "citations", "status", "facts")
    return {k: _plain(getattr(claim, k, None)) for k in fields}


def _plain(value):
    if isinstance(value, (set, frozenset, tuple, list)):
        return [_plain(v) for v in (sorted(value, key=str) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def describe(store: Store, flag_id: str) -> dict:
    """Everything a reviewer needs about one flag: the flag and its evidence payload, the
    criterion's question, the study's claim, the crawl dates compared, and earlier decisions."""
    from knowledge.domain.checklist import get_criterion
    from knowledge.errors import CollectorError

    flag = get_flag(store, flag_id)
    try:
        crit = get_criterion(flag.criterion)
        criterion = {"id": crit.id, "title": crit.title, "question": crit.question}
    except CollectorError:  # a criterion retired from the checklist: still reviewable
        criterion = {"id": flag.criterion, "title": flag.criterion, "question": ""}
    runs = {}
    for side in ("from_run", "to_run"):
        run = store.get_run(getattr(flag, side)) if getattr(flag, side) else None
        runs[side] = {"id": run["id"], "started_at": run["started_at"], "status": run["status"]} if run else None
    return {"flag": flag.to_dict(), "criterion": criterion, "baseline": baseline_claim(flag.tool, flag.criterion),
            "runs": runs, "terms": matched_terms(store, flag),
            "decisions": [d.to_dict() for d in history(store, flag_id=flag.id)]}


def matched_terms(store: Store, flag: ReviewFlag) -> dict[str, list[str]]:
    """{citation: terms that tagged the passage with the flag's criterion}, from both crawls compared.

    Read from the evidence `collector diff` already built (nothing is extracted here); a passage
    whose evidence was rebuilt under newer rules since simply has no terms listed."""
    from knowledge.evidence.read import run_evidence

    out: dict[str, list[str]] = {}
    for run_id in (flag.from_run, flag.to_run):
        if run_id is None or store.get_run(run_id) is None:
            continue
        for ev in run_evidence(store, run_id, criterion=flag.criterion, build=False):
            out.setdefault(ev.citation, list(ev.terms))
    return out
