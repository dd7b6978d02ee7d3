"""`collector diff`: what evidence changed, per tool x criterion, since the last review.

What is compared
  Default: per tool, the latest comparable crawl against, per criterion, the crawl a person last
  reviewed (reviewed_state.run_id) -- the first time, against the tool's earliest comparable crawl.
  `from_run`/`to_run`: any two comparable crawls of one tool (an exploration: nothing is saved).
  Comparable = status 'complete' or 'partial'. A partial run is one where some pages failed to
  fetch; the crawler carried their last good content forward, so the run is a full picture and is
  compared as is (a note says so). Running, interrupted and failed runs are never used; when one is
  newer than the run used, a note says so.

Both sides are read with the current rules (knowledge.evidence.run_evidence builds what is
missing), so a rule change never shows as a docs change.

Pages (what knowledge.evidence.read.run_pages says a run stands for)
  failed (and skipped/blocked) without content: their last good content is carried forward ->
      no change, listed under crawl health. Failed fetches never count as removals.
  gone (404/410) once: "possibly gone". Its content stays in the run's evidence (every view shows
      it), but the diff reads the page as not live: its passages that exist nowhere else are
      "possibly removed (404 since DATE; confirmed on the next crawl)", ranked below content
      changes. The cell's state leaves the page out, so the next crawl confirms the removal
      without a new flag (a pending flag keeps its id; its entries become `removed`), or withdraws
      it (the page is back: the cell returns to its state, or the passages show as `restored`).
  gone on two consecutive crawls of the tool (failed fetches in between skipped), or no verdict
      at all in the run (not reached, out of scope): no content -> its passages are removed.

Identity of a passage (knowledge.diff.matching, then here)
  Passages are matched by place and normalised text, then by text anywhere, then by similar words
  (see matching.py). A site-wide prefix move (knowledge.diff.moves: /doc/x -> /x for many pages)
  maps old addresses onto new ones before matching, so those passages are unchanged, and the move
  is one crawl-health line. What is left then follows the text across pages and weeks: a new
  passage whose normalised text exists anywhere in the older crawl is `moved` (or `restored`,
  when it is back on a page that had answered 404 once), never `added`; a passage gone from its
  place whose text is still somewhere in the newer crawl is `moved`, never `removed`.

Flags
  Every changed cell is one flag. A cell's state is a hash of its live normalised evidence (page
  path, heading path, normalised text, facts), so noise (see knowledge.diff.matching) never changes
  it and the flag id "F" + hash(tool, criterion, from_state, to_state) is stable: running diff
  again finds the same ids. A newer flag for a cell supersedes its older pending flags; a pending
  flag whose cell is back to its reviewed state is superseded too; a cell whose only change is a
  site move is not flagged. Kinds, ranked (knowledge.diff.weigh says what counts as reference
  material and where capability words count):
    1 contradiction     the change changes the status of one of the study's claims: the flag
                        carries payload["claim"] = {verdict, assertions, summary_line, ...},
                        set by the claims stage (knowledge.claims, issue 11) when it judges both
                        sides; the digest prints it first.
    2 capability        facts gained or lost, or capability words in the changed words of prose
                        (inserted/deleted words, a whole new passage)
    3 evidence          prose passages added or removed (incl. ones that gained/lost the criterion)
    4 wording           prose reworded or moved only (or back after a 404)
    5 reference         only reference material changed (API signatures, option tables, ...)
    6 possibly_removed  only passages of pages that answered 404 once
  The study's baseline facts are compared too (payload["baseline"]), as context; disagreeing with
  the study is not a kind of its own any more (it said nothing about what changed this week).

API (the JSON form of everything is documented in docs/diff-json.md)
  run_diff(store, tools, criteria, from_run, to_run, include_reviewed, fair) -> DiffResult
  open_flags(store, tools, criteria) -> [Flag]      saved flags with status 'open'
  get_flag(store, flag_id) -> Flag | None
  Review (knowledge.review.decisions) accepts a flag by setting flags.status and writing
  reviewed_state(tool, criterion, run_id=flag.to_run, state=flag.to_state).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable, Iterable

from knowledge.diff.claimcheck import claim_change, claim_state, verdict_summary
from knowledge.diff.matching import (Item, counterparts, deleted_text, heading_key, inserted_text, match_passages,
                                     norm_hash, normalise, word_diff)
from knowledge.diff.moves import SiteMove, find_site_moves, path_map
from knowledge.diff.weigh import STATUS_CUES
from knowledge.diff.weigh import cues as _cues
from knowledge.diff.weigh import importance, is_reference
from knowledge.domain.checklist import check_criteria, criterion_ids
from knowledge.errors import UsageError
from knowledge.evidence.build import build_evidence
from knowledge.evidence.model import Evidence
from knowledge.evidence.read import PageState, gone_before, last_good_fetch, run_evidence, run_pages, run_passages
from knowledge.evidence.rules import rules_key
from knowledge.store import Store, utcnow

COMPARABLE = ("complete", "partial")
PENDING = ("open", "uncertain")                        # flags still waiting for a person
REVIEWED = ("accepted", "dismissed", "uncertain")
KINDS = {"contradiction": 1, "capability": 2, "evidence": 3, "wording": 4, "reference": 5, "possibly_removed": 6}
SCHEMA = 2               # of DiffResult.to_dict (docs/diff-json.md)
ENTRY_LISTS = ("changed", "added", "removed", "possibly_removed", "restored", "moved")


# --------------------------------------------------------------------------- data
@dataclass
class Flag:
    """One changed tool x criterion cell (a row of the flags table, payload decoded).

    The passages and facts live in `payload` (see docs/diff-json.md); the properties below read them.
    """

    id: str
    tool: str
    criterion: str
    kind: str
    rank: int
    status: str
    summary: str
    from_run: int | None
    to_run: int
    from_state: str | None
    to_state: str
    rules_version: str
    payload: dict = field(default_factory=dict)
    created_at: str = ""
    updated_at: str = ""
    decision: dict | None = None     # latest review decision (with include_reviewed)

    @classmethod
    def from_row(cls, row) -> "Flag":
        d = dict(row)
        try:
            payload = json.loads(d.get("payload") or "{}")
        except ValueError:
            payload = {}
        d["payload"] = payload if isinstance(payload, dict) else {}
        return cls(**{k: d.get(k) for k in cls.__dataclass_fields__ if k != "decision"})

    @property
    def facts_gained(self) -> dict[str, list[str]]:
        return self.payload.get("facts_gained", {})

    @property
    def facts_lost(self) -> dict[str, list[str]]:
        return self.payload.get("facts_lost", {})

    @property
    def added(self) -> list[dict]:
        return self.payload.get("added", [])

    @property
    def removed(self) -> list[dict]:
        return self.payload.get("removed", [])

    @property
    def changed(self) -> list[dict]:
        return self.payload.get("changed", [])

    @property
    def moved(self) -> list[dict]:
        return self.payload.get("moved", [])

    @property
    def possibly_removed(self) -> list[dict]:
        return self.payload.get("possibly_removed", [])

    @property
    def restored(self) -> list[dict]:
        return self.payload.get("restored", [])

    @property
    def baseline(self) -> dict | None:
        return self.payload.get("baseline")

    @property
    def claim(self) -> dict | None:
        """The claims stage's judgement of the cell, when the change changes a claim's status."""
        return self.payload.get("claim")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in ("id", "tool", "criterion", "kind", "rank", "status", "summary",
                                            "from_run", "to_run", "from_state", "to_state", "rules_version",
                                            "created_at", "updated_at", "facts_gained", "facts_lost", "added",
                                            "removed", "changed", "moved", "possibly_removed", "restored",
                                            "baseline", "claim")}
        for key, empty in (("cues", []), ("cues_removed", []), ("facts_possibly_lost", {}), ("site_moves", [])):
            d[key] = self.payload.get(key, empty)
        if self.decision is not None:
            d["decision"] = self.decision
        return d


@dataclass
class DiffResult:
    mode: str                                   # "reviewed" (default) or "explicit"
    from_runs: dict[str, list[dict]]            # tool -> runs used as the old side (+ criteria)
    to_runs: dict[str, dict]                    # tool -> run used as the new side
    flags: list[Flag]
    crawl_health: dict[str, dict]
    notes: list[str] = field(default_factory=list)
    compare: dict[str, list[dict]] = field(default_factory=dict)
    saved: bool = True

    @property
    def pending(self) -> list[Flag]:
        return [f for f in self.flags if f.status in PENDING or f.status == "unsaved"]

    def to_dict(self) -> dict:
        return {
            "schema": SCHEMA,
            "mode": self.mode,
            "saved": self.saved,
            "from": self.from_runs,
            "to": self.to_runs,
            "flags": [f.to_dict() for f in self.flags],
            "crawl_health": self.crawl_health,
            "compare": self.compare,
            "notes": self.notes,
        }


# --------------------------------------------------------------------------- entry points
def run_diff(store: Store, tools: list[str] | None = None, criteria: list[str] | None = None,
             from_run: int | None = None, to_run: int | None = None, include_reviewed: bool = False,
             fair: bool = False, progress: Callable[[int, int, int], None] | None = None) -> DiffResult:
    """Diff evidence per tool x criterion; in default mode, save flags (idempotently).

    `progress(run_id, done, total)` is called before (done 0) and after (done == total) evidence is
    built for the `total` pages of a run not yet extracted under the current rules.
    """
    crit = check_criteria(criteria)
    tools = _check_tools(store, tools)
    ctx = _Context(store, progress)
    if from_run is not None or to_run is not None:
        result = _explicit(ctx, tools, crit, from_run, to_run)
    else:
        result = _reviewed(ctx, tools, crit)
    if include_reviewed:
        result.flags += _reviewed_flags(store, list(result.to_runs), crit,
                                        exclude={f.id for f in result.flags})
    _attach_decisions(store, result.flags)
    if fair:
        result.compare = _fair(ctx, result, crit)
    return result


def open_flags(store: Store, tools: list[str] | None = None, criteria: list[str] | None = None) -> list[Flag]:
    """Saved flags waiting for review (status open), most important first."""
    return _select_flags(store, ("open",), tools, criteria)


def get_flag(store: Store, flag_id: str) -> Flag | None:
    """The saved flag with exactly this id, or None."""
    row = store.conn.execute("SELECT * FROM flags WHERE id = ?", (flag_id,)).fetchone()
    return Flag.from_row(row) if row else None


def cell_state(evidence: Iterable[Evidence]) -> str:
    """Hash of a cell's normalised evidence: where each passage is, what it says, which facts."""
    evidence = list(evidence)
    entries = sorted(f"{e.path}\x1f{heading_key(e.heading_path)}\x1f{norm_hash(e.text)}" for e in evidence)
    facts = sorted({f"{f['category']}={f['value']}" for e in evidence for f in e.facts})
    return _h("\n".join(entries) + "\n--\n" + "\n".join(facts))


def flag_id(tool: str, criterion: str, from_state: str | None, to_state: str, claim: str = "") -> str:
    """Stable per (cell, the two evidence states, what changed in the claim): diff is idempotent."""
    tail = f"|{claim}" if claim else ""
    return "F" + _h(f"{tool}|{criterion}|{from_state or ''}|{to_state}{tail}")[:10]


# --------------------------------------------------------------------------- selection
def _check_tools(store: Store, tools: list[str] | None) -> list[str]:
    from knowledge.domain.sources import check_tool_names, load_sources

    in_store = [r[0] for r in store.conn.execute("SELECT DISTINCT tool FROM runs ORDER BY tool")]
    if not tools:
        return in_store
    return check_tool_names(tools, list(dict.fromkeys(list(load_sources()) + in_store)))


def _comparable_runs(store: Store, tool: str) -> list:
    return store.conn.execute(
        f"SELECT * FROM runs WHERE tool = ? AND status IN ({','.join('?' * len(COMPARABLE))}) ORDER BY id",
        (tool, *COMPARABLE)).fetchall()


def _run_info(run) -> dict:
    stats = json.loads(run["stats"] or "{}") if run["stats"] else {}
    return {"run_id": run["id"], "tool": run["tool"], "status": run["status"], "started_at": run["started_at"],
            "finished_at": run["finished_at"], "stats": stats}


def _newer_incomplete_note(store: Store, tool: str, used_id: int) -> str | None:
    rows = store.conn.execute(
        f"SELECT id, status FROM runs WHERE tool = ? AND id > ? AND status NOT IN ({','.join('?' * len(COMPARABLE))}) "
        "ORDER BY id", (tool, used_id, *COMPARABLE)).fetchall()
    if not rows:
        return None
    listed = ", ".join(f"run {r['id']} ({r['status']})" for r in rows)
    return (f"{tool}: newer crawl(s) not used because they did not finish: {listed}; "
            f"comparing run {used_id}. Run `collector crawl {tool}` again to get a complete crawl.")


def _partial_note(run) -> str | None:
    if run["status"] != "partial":
        return None
    return (f"{run['tool']}: run {run['id']} is partial (some pages failed to fetch); their last good content "
            f"was carried forward, so it is compared as is. Failed pages are listed under crawl health.")


# --------------------------------------------------------------------------- modes
def _reviewed(ctx: "_Context", tools: list[str], crit: list[str]) -> DiffResult:
    store = ctx.store
    result = DiffResult("reviewed", {}, {}, [], {})
    reviewed = {(r["tool"], r["criterion"]): r for r in store.conn.execute("SELECT * FROM reviewed_state")}
    for tool in tools:
        runs = _comparable_runs(store, tool)
        if not runs:
            result.notes.append(f"{tool}: no complete crawl yet, nothing to compare. "
                                f"Run `collector crawl {tool}` first.")
            continue
        to = runs[-1]
        for note in (_newer_incomplete_note(store, tool, to["id"]), _partial_note(to)):
            if note:
                result.notes.append(note)
        result.to_runs[tool] = _run_info(to)
        result.crawl_health[tool] = ctx.health(to)
        from_by_run: dict[int, list[str]] = {}
        cell_flags: dict[str, Flag | None] = {}
        for c in crit:
            rs = reviewed.get((tool, c))
            base = rs["run_id"] if rs and store.get_run(rs["run_id"]) is not None else runs[0]["id"]
            from_by_run.setdefault(base, []).append(c)
            cell_flags[c] = _cell_flag(ctx, tool, c, base, to["id"], against_study=rs is None,
                                       old_claim=_reviewed_claim(store, rs))
        result.from_runs[tool] = [
            dict(_run_info(store.get_run(rid)), criteria=cs,
                 basis="reviewed" if any((tool, c) in reviewed for c in cs) else "earliest")
            for rid, cs in sorted(from_by_run.items())]
        result.flags += _save(store, tool, cell_flags)
    result.flags = [f for f in result.flags if f.status in PENDING]
    result.flags.sort(key=_order)
    return result


def _explicit(ctx: "_Context", tools: list[str], crit: list[str], from_run: int | None,
              to_run: int | None) -> DiffResult:
    store = ctx.store
    if from_run is None or to_run is None:
        raise UsageError("--from and --to go together: give both run ids.", "See `collector runs` for run ids.")
    runs = {}
    for label, rid in (("--from", from_run), ("--to", to_run)):
        run = store.get_run(rid)
        if run is None:
            raise UsageError(f"{label} {rid}: there is no crawl run {rid} in {store.path}.",
                             "See `collector runs` for run ids.")
        if run["status"] not in COMPARABLE:
            raise UsageError(
                f"{label} {rid}: run {rid} of {run['tool']} is {run['status']}, so its pages are incomplete "
                f"and a diff would show pages that were never fetched as removed.",
                "Pick a complete (or partial) run; see `collector runs`.")
        runs[label] = run
    a, b = runs["--from"], runs["--to"]
    if a["tool"] != b["tool"]:
        raise UsageError(f"--from {from_run} is a crawl of {a['tool']} but --to {to_run} is a crawl of {b['tool']}.",
                         "Compare two crawls of the same tool.")
    tool = a["tool"]
    if tools and tool not in tools:
        raise UsageError(f"Runs {from_run} and {to_run} are crawls of {tool}, not of {', '.join(tools)}.",
                         "Drop --tool, or pick runs of that tool.")
    result = DiffResult("explicit", {tool: [dict(_run_info(a), criteria=crit, basis="explicit")]},
                        {tool: _run_info(b)}, [], {tool: ctx.health(b)}, saved=False)
    for note in (_newer_incomplete_note(store, tool, b["id"]), _partial_note(b), _partial_note(a)):
        if note:
            result.notes.append(note)
    for c in crit:
        flag = _cell_flag(ctx, tool, c, a["id"], b["id"])
        if flag is None:
            continue
        saved = get_flag(store, flag.id)
        flag.status = saved.status if saved else "unsaved"
        result.flags.append(flag)
    result.flags.sort(key=_order)
    return result


def _order(f: Flag) -> tuple:
    ids = criterion_ids()
    return (f.rank, f.tool, ids.index(f.criterion) if f.criterion in ids else 99, f.id)


# --------------------------------------------------------------------------- one cell
def _reviewed_claim(store: Store, rs) -> dict | None:
    """The claim check's verdict as the reviewer saw it: recorded in the flag they decided."""
    if rs is None or not rs["flag_id"]:
        return None
    flag = get_flag(store, rs["flag_id"])
    return (flag.payload or {}).get("claim_verdict") if flag else None


def _cell_flag(ctx: "_Context", tool: str, criterion: str, from_id: int, to_id: int,
               against_study: bool = False, old_claim: dict | None = None) -> Flag | None:
    # What the change did to the study's claim (knowledge.diff.claimcheck): a cell whose verdict
    # changes is a flag even when no passage of it did (a rule improved, or nobody has reviewed a
    # stale claim yet). The older side is the verdict as reviewed when a decision recorded it.
    new_verdict = ctx.verdicts(to_id).get(criterion)
    if old_claim is None and not against_study:
        old_claim = verdict_summary(ctx.verdicts(from_id).get(criterion))
    claim = claim_change(old_claim, new_verdict, against_study=against_study)
    claim_verdict = verdict_summary(new_verdict)
    old_all = ctx.side(from_id).get(criterion, [])
    new_all = ctx.side(to_id).get(criterion, [])
    # A page that answered 404 once keeps its content in the run's evidence, but it is not live: its
    # passages are "possibly removed" here, and the cell's state leaves them out, so the next crawl
    # confirms (same state) or withdraws (the page is back) without a second definition of the run.
    old = [e for e in old_all if e.carried != "gone"]
    new = [e for e in new_all if e.carried != "gone"]
    from_state, to_state = cell_state(old), cell_state(new)
    if from_state == to_state:
        return _claim_flag(ctx, tool, criterion, from_id, to_id, from_state, to_state, claim,
                           claim_verdict) if claim else None
    moves = ctx.site_map(from_id, to_id)
    m = match_passages([_item(e, moves) for e in old], [_item(e) for e in new])
    # A passage that became (or stopped being) evidence for this criterion because its text changed
    # is shown as changed, with its counterpart among the other side's passages of the same section.
    old_ids, new_ids = {e.passage_id for e in old}, {e.passage_id for e in new}
    gained_tag = counterparts(m.added, ctx.places(from_id, moves), skip=lambda it: it.ref.passage_id in old_ids) \
        if m.added else []
    lost_tag = counterparts(m.removed, ctx.places(to_id), skip=lambda it: it.ref.passage_id in new_ids) \
        if m.removed else []
    converted = {id(n) for n, _o, _r in gained_tag} | {id(o) for o, _n, _r in lost_tag}
    added, removed, moved_elsewhere, restored, possibly = _follow_text(
        ctx, from_id, to_id, [it for it in m.added if id(it) not in converted],
        [it for it in m.removed if id(it) not in converted], old_ids, new_ids)

    old_facts, new_facts = _facts(old), _facts(new)
    gained = new_facts - old_facts
    lost = old_facts - new_facts
    maybe_lost = lost & _facts([e for e in new_all if e.carried == "gone"])   # still on a 404-once page
    lost -= maybe_lost
    gone_once, gone_twice = ctx.gone_once(to_id), ctx.gone_twice(to_id)

    def entry(kind: str, d: dict, ev: Evidence, facts: set, cue_words=(), changed_words: int = 0) -> dict:
        ref = is_reference(ev.path, ev.heading_path, ev.text)
        mine = {(f["category"], f["value"]) for f in ev.facts} & facts
        d.update(reference=ref, cues=sorted(cue_words), facts=[f"{c}: {v}" for c, v in sorted(mine)],
                 importance=importance(kind, reference=ref, score=ev.score or 0.5, changed_words=changed_words,
                                       cue_words=cue_words, facts=bool(mine), tagged=d.get("tagged")))
        return d

    def changed(o: Item, n: Item, ratio: float, tagged: str | None = None) -> dict:
        d = _changed(o, n, ratio)
        ins, dele = normalise(inserted_text(d["diff"])), normalise(deleted_text(d["diff"]))
        d["cues_removed"] = sorted((_cues(dele) - _cues(n.norm)) & STATUS_CUES)
        if tagged:
            d["tagged"] = tagged
        words = len(ins.split()) + len(dele.split())
        return entry("changed", d, n.ref, gained | lost, sorted(_cues(ins) - _cues(o.norm)), words)

    def whole(kind: str, it: Item, facts: set, **extra) -> dict:
        d = dict(_cite(it.ref), **extra)
        # A whole new passage: every word (and its own heading) is new, so its capability words count.
        words = _cues(normalise(" ".join(list(it.ref.heading_path[-1:]) + [it.text]))) if kind == "added" else ()
        return entry(kind, d, it.ref, facts, words)

    def moved(o: Item, n: Item, **extra) -> dict:
        d = dict(_cite(n.ref), old_url=o.ref.citation, old_heading_path=list(o.ref.heading_path),
                 old_crawled_at=o.ref.fetched_at, part=False, **extra)
        return entry("moved", d, n.ref, set())

    payload = {
        "facts_gained": _fact_dict(gained),
        "facts_lost": _fact_dict(lost),
        "facts_possibly_lost": _fact_dict(maybe_lost),
        "added": [whole("added", it, gained) for it in added],
        "removed": [whole("removed", it, lost, **_gone(gone_twice, it.ref.path)) for it in removed],
        "possibly_removed": [whole("possibly_removed", it, lost | maybe_lost, gone_since=gone_once[it.ref.path])
                             for it in possibly],
        "restored": [whole("restored", n, gained, old_url=o.ref.citation, old_crawled_at=o.ref.fetched_at)
                     for o, n in restored],
        "changed": [changed(o, n, r) for o, n, r in m.changed]
                   + [changed(o, n, r, "gained") for n, o, r in gained_tag]
                   + [changed(o, n, r, "lost") for o, n, r in lost_tag],
        "moved": [moved(o, n) for o, n in m.moved]
                 + [dict(moved(o, n), text=text, part=True) for o, n, text in m.moved_parts]
                 + [moved(o, n, **extra) for o, n, extra in moved_elsewhere],
    }
    # Passages that followed a site move are unchanged (matched at their mapped address): counted.
    followed: dict[tuple[str, str], int] = {}
    prefixes = {old: (mv.old_prefix, mv.new_prefix) for mv in ctx.site_moves(from_id, to_id) for old, _ in mv.pages}
    for o, n in m.unchanged:
        if o.ref.path != n.ref.path and o.ref.path in prefixes:
            followed[prefixes[o.ref.path]] = followed.get(prefixes[o.ref.path], 0) + 1
    payload["site_moves"] = [{"from": a, "to": b, "passages": k} for (a, b), k in sorted(followed.items())]
    if not any(payload[k] for k in ENTRY_LISTS + ("facts_gained", "facts_lost", "facts_possibly_lost")):
        # only a site move: one crawl-health line, no flag (unless the claim changed all the same)
        return _claim_flag(ctx, tool, criterion, from_id, to_id, from_state, to_state, claim,
                           claim_verdict) if claim else None
    prose = [d for k in ENTRY_LISTS for d in payload[k] if not d["reference"]]
    payload["cues"] = sorted({c for d in prose for c in d["cues"]})
    payload["cues_removed"] = sorted({c for d in prose for c in d.get("cues_removed", ())})
    payload["baseline"] = _baseline(tool, criterion, new_facts, payload["facts_lost"])
    if claim:
        payload["claim"] = claim
    payload["claim_verdict"] = claim_verdict
    kind = _kind(payload)
    now = utcnow()
    return Flag(id=flag_id(tool, criterion, from_state, to_state, claim_state(claim)), tool=tool, criterion=criterion,
                kind=kind, rank=KINDS[kind], status="open", summary=_summary(payload), from_run=from_id,
                to_run=to_id, from_state=from_state, to_state=to_state, rules_version=ctx.rules(to_id),
                payload=payload, created_at=now, updated_at=now)


def _claim_flag(ctx: "_Context", tool: str, criterion: str, from_id: int, to_id: int, from_state: str,
                to_state: str, claim: dict, claim_verdict: dict | None) -> Flag:
    """A flag for a cell whose claim verdict changed while its evidence did not."""
    payload = {k: [] for k in ENTRY_LISTS} | {"facts_gained": {}, "facts_lost": {}, "facts_possibly_lost": {},
                                             "cues": [], "cues_removed": [], "site_moves": [], "claim": claim,
                                             "claim_verdict": claim_verdict}
    payload["baseline"] = _baseline(tool, criterion, _facts(ctx.side(to_id).get(criterion, [])), {})
    kind = _kind(payload)
    now = utcnow()
    return Flag(id=flag_id(tool, criterion, from_state, to_state, claim_state(claim)), tool=tool, criterion=criterion,
                kind=kind, rank=KINDS[kind], status="open", summary=_summary(payload), from_run=from_id,
                to_run=to_id, from_state=from_state, to_state=to_state, rules_version=ctx.rules(to_id),
                payload=payload, created_at=now, updated_at=now)


def _follow_text(ctx: "_Context", from_id: int, to_id: int, added: list[Item], removed: list[Item],
                 old_ids: set[int], new_ids: set[int]):
    """Identity across pages and weeks: text is judged by whether it exists, not where it sat.

    An added passage whose normalised text is anywhere in the older crawl is moved (from there),
    or restored when it is back on a page that answered 404 once in the older crawl; a removed
    passage whose text is still anywhere live in the newer crawl is moved (to there); a removed
    passage on a page that answered 404 once in the newer crawl is possibly removed.
    Returns (added, removed, moved [(old, new, extra)], restored [(old, new)], possibly removed).
    """
    moved, restored, still_added, still_removed, possibly = [], [], [], [], []
    if added:
        before = ctx.texts(from_id)
        for it in added:
            hit = before.get(it.key)
            if hit is None:
                still_added.append(it)
            elif hit.ref.carried == "gone" and hit.ref.path == it.ref.path:
                restored.append((hit, it))
            else:
                extra = {} if hit.ref.passage_id in old_ids else {"tagged": "gained"}
                moved.append((hit, it, extra))
    if removed:
        after, maybe = ctx.texts(to_id, live=True), ctx.gone_once(to_id)
        for it in removed:
            hit = after.get(it.key)
            if hit is not None:
                moved.append((it, hit, {} if hit.ref.passage_id in new_ids else {"tagged": "lost"}))
            elif it.ref.path in maybe:
                possibly.append(it)
            else:
                still_removed.append(it)
    return still_added, still_removed, moved, restored, possibly


def _kind(p: dict) -> str:
    """The first kind that applies (see the module docstring); reference entries never decide a
    kind above 'reference'."""
    if (p.get("claim") or {}).get("contradicts"):
        return "contradiction"
    if p["facts_gained"] or p["facts_lost"] or p["cues"] or p["cues_removed"]:
        return "capability"

    def prose(key: str) -> list[dict]:
        return [d for d in p[key] if not d.get("reference")]

    # A passage that became (stopped being) evidence counts as added (removed) when words changed;
    # a tag that flipped with boilerplate alone is wording.
    if prose("added") or prose("removed") or any(d.get("tagged") and any(o.get("op") != "equal" for o in d["diff"])
                                                 for d in prose("changed")):
        return "evidence"
    if prose("changed") or p["moved"] or p["restored"]:
        return "wording"
    if p.get("claim"):           # the verdict changed (no contradiction) while only reference text did
        return "evidence"
    if p["added"] or p["removed"] or p["changed"]:
        return "reference"
    return "possibly_removed"


def _gone(gone_twice: dict[str, dict], path: str) -> dict:
    return {"gone": gone_twice[path]} if path in gone_twice else {}


def _item(e: Evidence, moves: dict[str, str] | None = None) -> Item:
    return Item(path=moves.get(e.path, e.path) if moves else e.path, heading=heading_key(e.heading_path),
                text=e.text, ref=e)


def _cite(e: Evidence) -> dict:
    return {"url": e.citation, "heading_path": list(e.heading_path), "text": e.text,
            "crawled_at": e.fetched_at, "run_id": e.run_id}


def _changed(o: Item, n: Item, ratio: float) -> dict:
    ops = word_diff(o.text, n.text)
    return {"url": n.ref.citation, "old_url": o.ref.citation, "heading_path": list(n.ref.heading_path),
            "old_heading_path": list(o.ref.heading_path), "old_text": o.text, "text": n.text, "diff": ops,
            "similarity": round(ratio, 3), "crawled_at": n.ref.fetched_at, "old_crawled_at": o.ref.fetched_at,
            "run_id": n.ref.run_id}


def _facts(evs: list[Evidence]) -> set[tuple[str, str]]:
    return {(f["category"], f["value"]) for e in evs for f in e.facts}


def _fact_dict(facts: set[tuple[str, str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for cat, val in sorted(facts):
        out.setdefault(cat, []).append(val)
    return out


def _summary(p: dict) -> str:
    # Paragraphs moved together from one section to another count as one move.
    n = {k: len(p.get(k) or []) for k in ("added", "removed", "changed", "possibly_removed", "restored")}
    moved = p.get("moved") or []
    n["moved"] = len([m for m in moved if not m.get("part")]) + len(
        {(m["old_url"], m["url"]) for m in moved if m.get("part")})
    counts = [f"{sign}{n[k]} {k.replace('_', ' ')}" for sign, k in (
        ("+", "added"), ("-", "removed"), ("~", "changed"), (">", "moved"), ("?", "possibly_removed"),
        ("^", "restored")) if n[k]]
    gained, lost = p.get("facts_gained") or {}, p.get("facts_lost") or {}
    maybe = p.get("facts_possibly_lost") or {}
    facts = [f"{cat}: " + ", ".join([f"+{v}" for v in gained.get(cat, [])] + [f"-{v}" for v in lost.get(cat, [])]
                                    + [f"-{v}?" for v in maybe.get(cat, [])])
             for cat in sorted(set(gained) | set(lost) | set(maybe))]
    parts = [", ".join(counts)] if counts else []
    parts += facts
    words = list(p.get("cues") or []) + [f"{c} (deleted)" for c in p.get("cues_removed") or []]
    if words:
        parts.append("mentions " + ", ".join(f"'{c}'" for c in words))
    if p.get("claim"):
        parts.insert(0, p["claim"]["summary_line"])
    return "; ".join(parts) or "evidence changed"


def _baseline(tool: str, criterion: str, facts: set[tuple[str, str]], lost: dict) -> dict | None:
    """The study's claim for the cell, and where the current facts disagree with it."""
    try:
        from knowledge.domain.baseline import baseline_for
    except ImportError:
        return None
    claim = baseline_for(tool, criterion)
    if claim is None:
        return None
    claimed = {cat: set(vals) for cat, vals in (getattr(claim, "facts", None) or {}).items()}
    now: dict[str, set[str]] = {}
    for cat, val in facts:
        now.setdefault(cat, set()).add(val)
    not_in_baseline = {cat: sorted(now.get(cat, set()) - vals) for cat, vals in claimed.items()}
    lost_claimed = {cat: sorted(set(lost.get(cat, [])) & vals) for cat, vals in claimed.items()}
    not_in_baseline = {k: v for k, v in not_in_baseline.items() if v}
    lost_claimed = {k: v for k, v in lost_claimed.items() if v}
    return {"claim": getattr(claim, "claim", ""), "status": getattr(claim, "status", ""),
            "citations": list(getattr(claim, "citations", ()) or ()),
            "facts": {cat: sorted(v) for cat, v in claimed.items()},
            "docs_not_in_baseline": not_in_baseline, "baseline_lost_in_docs": lost_claimed,
            "contradicts": bool(not_in_baseline or lost_claimed)}


# --------------------------------------------------------------------------- saving
def _save(store: Store, tool: str, cell_flags: dict[str, Flag | None]) -> list[Flag]:
    """Insert new flags, reopen superseded ones that are current again, supersede stale ones."""
    out = []
    now = utcnow()
    with store.transaction() as conn:
        for criterion, flag in cell_flags.items():
            keep = flag.id if flag else ""
            conn.execute(f"UPDATE flags SET status = 'superseded', updated_at = ? WHERE tool = ? AND criterion = ? "
                         f"AND status IN ({','.join('?' * len(PENDING))}) AND id != ?",
                         (now, tool, criterion, *PENDING, keep))
            if flag is None:
                continue
            row = conn.execute("SELECT * FROM flags WHERE id = ?", (flag.id,)).fetchone()
            if row is None:
                conn.execute(
                    "INSERT INTO flags (id, tool, criterion, kind, rank, summary, from_run, to_run, from_state, "
                    "to_state, rules_version, payload, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'open', ?, ?)",
                    (flag.id, tool, criterion, flag.kind, flag.rank, flag.summary, flag.from_run, flag.to_run,
                     flag.from_state, flag.to_state, flag.rules_version, json.dumps(flag.payload), now, now))
            else:
                status = "open" if row["status"] == "superseded" else row["status"]
                # Same states, so the same evidence; the runs may be newer crawls of identical content.
                conn.execute("UPDATE flags SET status = ?, kind = ?, rank = ?, summary = ?, to_run = ?, "
                             "payload = ?, rules_version = ?, updated_at = CASE WHEN status = ? THEN updated_at "
                             "ELSE ? END WHERE id = ?",
                             (status, flag.kind, flag.rank, flag.summary, flag.to_run, json.dumps(flag.payload),
                              flag.rules_version, status, now, flag.id))
            out.append(Flag.from_row(conn.execute("SELECT * FROM flags WHERE id = ?", (flag.id,)).fetchone()))
    return out


def _select_flags(store: Store, statuses: tuple[str, ...], tools, criteria) -> list[Flag]:
    sql = f"SELECT * FROM flags WHERE status IN ({','.join('?' * len(statuses))})"
    args: list = list(statuses)
    if tools:
        sql += f" AND tool IN ({','.join('?' * len(tools))})"
        args += list(tools)
    if criteria:
        sql += f" AND criterion IN ({','.join('?' * len(criteria))})"
        args += list(criteria)
    return sorted((Flag.from_row(r) for r in store.conn.execute(sql, args)), key=_order)


def _reviewed_flags(store: Store, tools: list[str], crit: list[str], exclude: set[str]) -> list[Flag]:
    return [f for f in _select_flags(store, REVIEWED, tools, crit) if f.id not in exclude]


def _attach_decisions(store: Store, flags: list[Flag]) -> None:
    if not flags:
        return
    try:
        rows = store.conn.execute(
            "SELECT d.* FROM decisions d JOIN (SELECT flag_id, MAX(id) AS id FROM decisions "
            "WHERE decision != 'note' GROUP BY flag_id) last ON last.id = d.id").fetchall()
    except Exception:  # a store without the review tables: no decisions to show
        return
    latest = {r["flag_id"]: {"decision": r["decision"], "note": r["note"], "reviewer": r["reviewer"],
                             "decided_at": r["decided_at"]} for r in rows}
    for f in flags:
        if f.id in latest:
            f.decision = latest[f.id]


# --------------------------------------------------------------------------- fairness
def _fair(ctx: "_Context", result: DiffResult, crit: list[str]) -> dict[str, list[dict]]:
    """For each flagged criterion, the same criterion for every tool: evidence count, open flags."""
    store = ctx.store
    flagged = [c for c in crit if any(f.criterion == c and f.status in PENDING for f in result.flags)]
    all_tools = [r[0] for r in store.conn.execute("SELECT DISTINCT tool FROM runs ORDER BY tool")]
    out: dict[str, list[dict]] = {}
    for c in flagged:
        rows = []
        for tool in all_tools:
            runs = _comparable_runs(store, tool)
            if not runs:
                continue
            evs = ctx.side(runs[-1]["id"]).get(c, [])
            n_open = store.conn.execute(
                f"SELECT COUNT(*) FROM flags WHERE tool = ? AND criterion = ? AND status IN "
                f"({','.join('?' * len(PENDING))})", (tool, c, *PENDING)).fetchone()[0]
            rows.append({"tool": tool, "run_id": runs[-1]["id"], "crawled_at": runs[-1]["started_at"],
                         "evidence": len(evs), "pages": len({e.path for e in evs}), "open_flags": n_open,
                         "flagged_here": any(f.tool == tool and f.criterion == c for f in result.flags)})
        out[c] = rows
    return out


# --------------------------------------------------------------------------- evidence per side
class _Context:
    """Evidence per run for one diff invocation, with failed / possibly-gone pages carried forward."""

    def __init__(self, store: Store, progress: Callable[[int, int, int], None] | None = None):
        self.store = store
        self.progress = progress
        self._raw: dict[int, list[Evidence]] = {}
        self._sides: dict[int, dict[str, list[Evidence]]] = {}
        self._passages: dict[int, list[Item]] = {}
        self._places: dict[tuple, dict[tuple[str, str], list[Item]]] = {}
        self._texts: dict[tuple[int, bool], dict[str, Item]] = {}
        self._pages: dict[int, list[PageState]] = {}
        self._moves: dict[tuple[int, int], list[SiteMove]] = {}
        self._gone: dict[int, tuple[dict, dict]] = {}
        self._rules: dict[int, str] = {}
        self._verdicts: dict[int, dict] = {}

    def verdicts(self, run_id: int) -> dict:
        """{criterion: CellVerdict} of the claim check as of this run (cached in the store)."""
        if run_id not in self._verdicts:
            try:
                from knowledge.claims.cache import run_verdicts
                from knowledge.claims.check import tool_docs

                run = self.store.get_run(run_id)
                self._verdicts[run_id] = run_verdicts(self.store, run,
                                                      lambda r: tool_docs(self.store, r, self.raw(r["id"])))
            except ImportError:    # no study to judge against (tests switch the baseline module off)
                self._verdicts[run_id] = {}
        return self._verdicts[run_id]

    def rules(self, run_id: int) -> str:
        if run_id not in self._rules:
            from knowledge.evidence.rules import run_source

            self._rules[run_id] = rules_key(run_source(self.store, run_id)[1])
        return self._rules[run_id]

    def raw(self, run_id: int) -> list[Evidence]:
        """The run's evidence as every view reads it (knowledge.evidence.read.run_evidence)."""
        if run_id not in self._raw:
            report = self.progress
            if report:
                missing = self.store.conn.execute(
                    "SELECT COUNT(DISTINCT f.sha256) FROM fetches f LEFT JOIN extractions e ON "
                    "e.page_sha256 = f.sha256 AND e.rules_version = ? WHERE f.run_id = ? AND f.sha256 IS NOT NULL "
                    "AND e.page_sha256 IS NULL", (self.rules(run_id), run_id)).fetchone()[0]
                if missing:
                    report(run_id, 0, missing)
                    build_evidence(self.store, [run_id])
                    report(run_id, missing, missing)
            self._raw[run_id] = run_evidence(self.store, run_id)
        return self._raw[run_id]

    def passages(self, run_id: int) -> list[Item]:
        """Every passage of the run, tagged or not (knowledge.evidence.read.run_passages)."""
        if run_id not in self._passages:
            self.raw(run_id)                       # makes sure the run's evidence is built
            self._passages[run_id] = [_item(e) for e in run_passages(self.store, run_id)]
        return self._passages[run_id]

    def places(self, run_id: int, moves: dict[str, str] | None = None) -> dict[tuple[str, str], list[Item]]:
        """The run's live passages (not on a page that answered 404 once), tagged or not, by place
        (page path, heading path); with `moves`, old page paths are read as their new ones."""
        key = (run_id, tuple(sorted(moves.items())) if moves else ())
        if key not in self._places:
            by_place: dict[tuple[str, str], list[Item]] = {}
            for it in self.passages(run_id):
                if it.ref.carried == "gone":
                    continue
                if moves and it.path in moves:
                    it = _item(it.ref, moves)
                by_place.setdefault(it.place, []).append(it)
            self._places[key] = by_place
        return self._places[key]

    def texts(self, run_id: int, live: bool = False) -> dict[str, Item]:
        """{normalised text key: one passage of the run with that text} (a live one when there is one;
        `live`: only passages of live pages)."""
        if (run_id, live) not in self._texts:
            out: dict[str, Item] = {}
            for it in self.passages(run_id):
                gone = it.ref.carried == "gone"
                if live and gone:
                    continue
                if it.key not in out or (out[it.key].ref.carried == "gone" and not gone):
                    out[it.key] = it
            self._texts[(run_id, live)] = out
        return self._texts[(run_id, live)]

    def side(self, run_id: int) -> dict[str, list[Evidence]]:
        """{criterion: [Evidence]} as this run holds it (pages it could not read keep their content)."""
        if run_id not in self._sides:
            by_crit: dict[str, list[Evidence]] = {}
            for e in self.raw(run_id):
                by_crit.setdefault(e.criterion, []).append(e)
            self._sides[run_id] = by_crit
        return self._sides[run_id]

    def pages(self, run_id: int) -> list[PageState]:
        if run_id not in self._pages:
            self._pages[run_id] = run_pages(self.store, run_id)
        return self._pages[run_id]

    def live_paths(self, run_id: int) -> set[str]:
        """Pages the run read or kept (failed fetches keep their content), without 404-once pages."""
        return {p.path for p in self.pages(run_id) if not (p.carried and p.outcome == "gone")}

    def site_moves(self, from_id: int, to_id: int) -> list[SiteMove]:
        """Prefix moves between two runs: pages live in the first, gone from the second, at new
        addresses in the second (knowledge.diff.moves)."""
        if (from_id, to_id) not in self._moves:
            before, after = self.live_paths(from_id), self.live_paths(to_id)
            self._moves[(from_id, to_id)] = find_site_moves(before - after, after)
        return self._moves[(from_id, to_id)]

    def site_map(self, from_id: int, to_id: int) -> dict[str, str]:
        return path_map(self.site_moves(from_id, to_id))

    def gone_once(self, run_id: int) -> dict[str, str]:
        """{path: date of the 404} for pages that answered 404/410 in this run for the first time."""
        return self._gone_dates(run_id)[0]

    def gone_twice(self, run_id: int) -> dict[str, dict]:
        """{path: {"since": first 404 of the streak, "confirmed": this run's 404}} for pages gone
        on two crawls in a row (their passages are removed)."""
        return self._gone_dates(run_id)[1]

    def _gone_dates(self, run_id: int) -> tuple[dict, dict]:
        if run_id not in self._gone:
            once_paths = {p.path for p in self.pages(run_id) if p.carried and p.outcome == "gone"}
            tool = self.store.get_run(run_id)["tool"]
            once, twice = {}, {}
            for r in self.store.conn.execute("SELECT path, fetched_at FROM fetches WHERE run_id = ? AND outcome = 'gone'",
                                             (run_id,)):
                if r["path"] in once_paths:
                    once[r["path"]] = r["fetched_at"]
                    continue
                # The 404 streak: gone verdicts since the page was last read (failed fetches say nothing).
                since = self.store.conn.execute(
                    "SELECT MIN(f.fetched_at) FROM fetches f JOIN runs r ON r.id = f.run_id WHERE r.tool = ? "
                    "AND f.path = ? AND f.outcome = 'gone' AND f.run_id <= ? AND f.run_id > COALESCE(("
                    "SELECT MAX(g.run_id) FROM fetches g JOIN runs q ON q.id = g.run_id WHERE q.tool = ? "
                    "AND g.path = ? AND g.run_id <= ? AND g.outcome IN ('fetched', 'not_modified')), 0)",
                    (tool, r["path"], run_id, tool, r["path"], run_id)).fetchone()[0]
                twice[r["path"]] = {"since": since or r["fetched_at"], "confirmed": r["fetched_at"]}
            self._gone[run_id] = (once, twice)
        return self._gone[run_id]

    def health(self, run) -> dict:
        """Crawl health of the run used as the new side: pages that failed, may be gone, are gone, or
        moved with the site since the tool's previous crawl."""
        rows = self.store.run_fetches(run["id"])
        out: dict[str, list] = {"failed": [], "possibly_gone": [], "gone": [], "skipped": [], "blocked": [],
                                "moved": []}
        moves = self._health_moves(run)
        moved_to = path_map(moves)
        for r in rows:
            entry = {"url": r["url"], "http_status": r["http_status"], "reason": r["reason"],
                     "fetched_at": r["fetched_at"]}
            if r["outcome"] == "failed":
                entry["evidence_kept"] = bool(r["sha256"]) or last_good_fetch(
                    self.store, run["tool"], r["path"], run["id"]) is not None
                out["failed"].append(entry)
            elif r["outcome"] == "gone":
                if r["path"] in moved_to:
                    entry["moved_to"] = moved_to[r["path"]]
                out["gone" if gone_before(self.store, run["tool"], r["path"], run["id"]) else "possibly_gone"].append(entry)
            elif r["outcome"] in ("skipped", "blocked"):
                out[r["outcome"]].append(entry)
        out["moved"] = [dict(m.to_dict(), since=min((r["fetched_at"] for r in rows if r["path"] in dict(m.pages)
                                                     and r["outcome"] == "gone"), default=None)) for m in moves]
        out["run_id"] = run["id"]
        out["status"] = run["status"]
        return out

    def _health_moves(self, run) -> list[SiteMove]:
        """Site moves seen in this crawl: addresses live (or 404 once) in the tool's previous crawl
        that are not live now, explained by addresses live now. Reported the week the old addresses
        first answer 404 and the week that is confirmed, not every week after."""
        prev = self.store.conn.execute(
            f"SELECT id FROM runs WHERE tool = ? AND id < ? AND status IN ({','.join('?' * len(COMPARABLE))}) "
            "ORDER BY id DESC LIMIT 1", (run["tool"], run["id"], *COMPARABLE)).fetchone()
        if prev is None:
            return []
        before = {p.path for p in self.pages(prev["id"])}
        now = self.live_paths(run["id"])
        return find_site_moves(before - now, now)


def _h(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:16]
