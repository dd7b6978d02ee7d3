"""`collector changelog`: what changed in the comparison matrix, crawl by crawl.

One entry per change, each with its citation (URL#section with the crawl date, or the flag id):

  first-crawl   a tool's first crawl: how many cells have evidence, the verdicts
  verdict       a claim's verdict changed between a tool's consecutive crawls (the deciding passage)
  fact-gained / fact-lost
                a fact (category: value) a cell shows now and did not before, or no longer shows
                (the passage that states it, in the crawl that has it)
  rules         the same crawl read with newer extraction rules or a newer claim check gives a
                different cell (passages, verdict or facts): a rule change, never a docs change
  flagged       `collector diff` flagged the cell (the flag id, its kind and summary, its first passage)
  decision      a review decision on a flag (who, what, the note)
  not-compared  a crawl could not be compared with the one before under the same rules

Consecutive crawls are compared with the same rules (like with like; snapshot.py), so improving a
rule shows as a `rules` entry, never as "the docs changed". Crawls, periods and the cutoff are
defined in timeline.py: a flag or decision belongs to the crawl that was the latest when it was
made. Entries are grouped per crawl, newest first.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from knowledge.report import snapshot as snaps
from knowledge.report import timeline
from knowledge.store import Store

KINDS = ("first-crawl", "verdict", "fact-gained", "fact-lost", "rules", "not-compared", "flagged", "decision")


@dataclass
class Entry:
    kind: str                 # one of KINDS
    tool: str
    criterion: str            # "" for an entry about the whole tool
    text: str                 # what changed, one line
    citation: str             # URL#section (crawled DATE), or "" when the flag id is the citation
    at: str                   # when: the crawl's start, or when the flag / decision was made
    data: dict = field(default_factory=dict)   # kind-specific details (see docs/report-json.md)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "tool": self.tool, "criterion": self.criterion, "text": self.text,
                "citation": self.citation, "at": self.at, **self.data}


@dataclass
class Period:
    crawl: timeline.Crawl
    entries: list[Entry]

    def to_dict(self) -> dict:
        return {"started_at": self.crawl.started_at, "finished_at": self.crawl.finished_at,
                "runs": self.crawl.run_ids, "entries": [e.to_dict() for e in self.entries]}


@dataclass
class Changelog:
    tools: list[str]
    since: str | None
    periods: list[Period]     # newest first
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"schema": 1, "tools": self.tools, "since": self.since,
                "crawls": [p.to_dict() for p in self.periods], "notes": self.notes}

    def cell_entries(self) -> dict[tuple[str, str], list[Entry]]:
        out: dict[tuple[str, str], list[Entry]] = {}
        for p in reversed(self.periods):          # oldest first within a cell
            for e in p.entries:
                if e.criterion:
                    out.setdefault((e.tool, e.criterion), []).append(e)
        return out


# --------------------------------------------------------------------------- building it
def build_changelog(store: Store, tools: list[str] | None = None, since: str | None = None, *,
                    runs: dict | None = None, cutoff: str | None = None, rules: str = "current",
                    shown: dict[str, snaps.Snapshot] | None = None) -> Changelog:
    """The changelog of these tools' crawls from `since` (a date; default: from the first crawl).

    For a report `--as-of`, pass the runs read (`runs`, {tool: run row}) and the cutoff: later
    crawls, and flags or decisions made from the cutoff on, are left out. `rules="current"`
    compares consecutive crawls as read today (and adds `rules` entries where a crawl, as the
    report first read it, reads differently now); `rules="then"` compares each crawl as the report
    first read it (`shown`: the snapshots the report itself shows).
    """
    from knowledge.domain.checklist import criterion_ids
    from knowledge.review.decisions import check_tools, known_tools

    names = check_tools(store, tools) or _default_tools(store, known_tools(store))
    since = _check_since(since)
    all_crawls = timeline.crawls(store, names)
    if not all_crawls:
        from knowledge.errors import CollectorError

        raise CollectorError(f"No finished crawl in {store.path} for {', '.join(names)}: no changes to list yet.",
                             "Run `collector crawl` first (or `collector demo` to try the whole loop offline).")
    history = {t: timeline.finished_runs(store, [t]) for t in names}
    if runs is not None:      # as of: only runs up to the ones read
        limit = {t: (r["id"] if r else 0) for t, r in runs.items()}
        for c in all_crawls:
            c.runs = {t: r for t, r in c.runs.items() if r["id"] <= limit.get(t, 0)}
        all_crawls = [c for c in all_crawls if c.runs]
        history = {t: [r for r in h if r["id"] <= limit.get(t, 0)] for t, h in history.items()}
    entries: dict[int, list[Entry]] = {}
    for i, crawl in enumerate(all_crawls):
        for tool, run in crawl.runs.items():
            if since and run["started_at"] < since:
                continue
            prev = _previous(history[tool], run["id"])
            new = _reading(store, run, rules, (shown or {}).get(tool))
            entries.setdefault(i, []).extend(_compare(store, tool, prev, run, new))
    if rules == "current":
        for tool in names:
            for i, entry_list in _rules_entries(store, tool, history[tool], all_crawls, since, cutoff):
                entries.setdefault(i, []).extend(entry_list)
    decided = timeline.decisions(store, names, cutoff)
    flags = timeline.flags(store, names, cutoff, decided)
    by_id = {f.id: f for f in flags}
    for f in flags:
        i = timeline.period_of(all_crawls, f.created_at)
        if i is not None and not (since and f.created_at < since):
            entries.setdefault(i, []).append(_flagged(store, f))
    for d in decided:
        i = timeline.period_of(all_crawls, d["decided_at"])
        if i is not None and not (since and d["decided_at"] < since):
            entries.setdefault(i, []).append(_decision(store, d, by_id.get(d["flag_id"])))
    order = {c: n for n, c in enumerate(criterion_ids())}
    tool_order = {t: n for n, t in enumerate(names)}
    periods = []
    for i in sorted(entries, reverse=True):
        items = sorted(entries[i], key=lambda e: (tool_order.get(e.tool, 99), order.get(e.criterion, -1),
                                                   KINDS.index(e.kind), e.at, e.text))
        periods.append(Period(all_crawls[i], items))
    return Changelog(names, since, periods)


def _reading(store: Store, run, rules: str, shown: snaps.Snapshot | None) -> snaps.Snapshot:
    """How to read this run: today's way, or (rules="then") as the report first read it."""
    if rules == "then":
        if shown is not None and shown.run_id == run["id"]:
            return shown
        then = snaps.first(store, run["id"])
        if then is not None:
            return then
    return snaps.current(store, run)


def _check_since(since: str | None) -> str | None:
    if not since:
        return None
    import re

    from knowledge.errors import UsageError

    text = since.strip()
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?Z?)?", text):
        raise UsageError(f"--since expects a date like 2026-03-02, got '{since}'.")
    return text.replace(" ", "T")


def _default_tools(store: Store, known: list[str]) -> list[str]:
    from knowledge.report.matrix import default_tools

    return default_tools(store, known)


def _previous(history: list, run_id: int):
    prev = None
    for r in history:
        if r["id"] >= run_id:
            break
        prev = r
    return prev


# --------------------------------------------------------------------------- crawl against crawl
def _compare(store: Store, tool: str, prev, run, new: snaps.Snapshot) -> list[Entry]:
    """Entries for one tool between its previous crawl and this one, both read the same way."""
    at = run["started_at"]
    if prev is None:
        counts: dict[str, int] = {}
        for cell in new.cells.values():
            if cell["verdict"]:
                counts[cell["verdict"]] = counts.get(cell["verdict"], 0) + 1
        with_evidence = sum(1 for c in new.cells.values() if c["passages"])
        text = (f"first crawl (run {run['id']}): {new.pages} pages, {with_evidence} of {len(new.cells)} criteria "
                f"with evidence" + ("; verdicts " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
                                    if counts else ""))
        return [Entry("first-crawl", tool, "", text, "", at, {"run": run["id"]})]
    old = snaps.find(store, prev["id"], new.key)
    if old is None and new.key == snaps.current_key(store, prev["id"]):
        old = snaps.current(store, prev)
    if old is None:
        return [Entry("not-compared", tool, "", f"run {run['id']} is not compared with run {prev['id']}: run "
                      f"{prev['id']} was never read with the rules run {run['id']} was read with (rules "
                      f"{new.rules_version}, claim check {new.claims_version})", "", at,
                      {"run": run["id"], "previous_run": prev["id"]})]
    out = []
    for crit, cell in new.cells.items():
        before = old.cells.get(crit)
        if before is None:
            continue
        base = {"run": run["id"], "previous_run": prev["id"]}
        if cell["verdict"] != before["verdict"] and cell["verdict"] and before["verdict"]:
            out.append(Entry("verdict", tool, crit, f"verdict {before['verdict']} → {cell['verdict']}: "
                             f"{cell['reason'] or before['reason']}",
                             cell["verdict_citation"] or before["verdict_citation"], at,
                             {**base, "from": before["verdict"], "to": cell["verdict"]}))
        now = {(c, v): cit for c, v, cit in cell["facts"]}
        then = {(c, v): cit for c, v, cit in before["facts"]}
        for (cat, val), cit in sorted(now.items()):
            if (cat, val) not in then:
                out.append(Entry("fact-gained", tool, crit, f"gained {cat}: {val}", cit, at,
                                 {**base, "category": cat, "value": val}))
        for (cat, val), cit in sorted(then.items()):
            if (cat, val) not in now:
                out.append(Entry("fact-lost", tool, crit, f"lost {cat}: {val}", cit, at,
                                 {**base, "category": cat, "value": val}))
    return out


# --------------------------------------------------------------------------- rule changes
def _rules_entries(store: Store, tool: str, history: list, all_crawls: list[timeline.Crawl], since: str | None,
                   before: str | None):
    """Where a crawl, as the report first read it, reads differently the next way it was read.

    A run's first reading (normally right after the crawl) is compared with the run read the way
    the next run was first read (today's way, for the latest run). When the two keys differ, each
    cell that reads differently is a `rules` entry, dated when that new way was first used for the
    tool (so it sits in the crawl during which the rules changed)."""
    firsts = snaps.first_keys(store, tool)
    for i, run in enumerate(history):
        first_key = firsts.get(run["id"])
        if first_key is None:
            continue
        if i + 1 < len(history):
            if history[i + 1]["id"] not in firsts:
                continue
            key = firsts[history[i + 1]["id"]]
        else:
            key = snaps.current_key(store, run["id"])
        if first_key == key:
            continue
        then = snaps.first(store, run["id"])
        later = snaps.find(store, run["id"], key) or (snaps.current(store, run)
                                                      if key == snaps.current_key(store, run["id"]) else None)
        if later is None:
            continue
        at = snaps.first_use(store, tool, key) or later.created_at
        idx = timeline.period_of(all_crawls, at)
        if idx is None or (since and at < since) or (before and at >= before):
            continue
        out = [_rules_entry(tool, crit, run, then, later, at) for crit in later.cells if crit in then.cells]
        out = [e for e in out if e]
        if out:
            yield idx, out


def _rules_entry(tool: str, crit: str, run, then: snaps.Snapshot, later: snaps.Snapshot, at: str) -> Entry | None:
    old, cell = then.cells[crit], later.cells[crit]
    changes = []
    if old["passages"] != cell["passages"]:
        changes.append(f"{old['passages']} → {cell['passages']} passages")
    if old["verdict"] != cell["verdict"]:
        changes.append(f"verdict {old['verdict'] or '-'} → {cell['verdict'] or '-'}")
    facts_then = {f"{c}: {v}" for c, v, _ in old["facts"]}
    facts_now = {f"{c}: {v}" for c, v, _ in cell["facts"]}
    changes += [f"+{f}" for f in sorted(facts_now - facts_then)] + [f"-{f}" for f in sorted(facts_then - facts_now)]
    if not changes:
        return None
    why = []
    if then.rules_version != later.rules_version:
        why.append(f"extraction rules {then.rules_version} → {later.rules_version}")
    if then.claims_version != later.claims_version:
        why.append(f"claim check {then.claims_version} → {later.claims_version}")
    return Entry("rules", tool, crit, f"run {run['id']} read again ({'; '.join(why)}): " + ", ".join(changes),
                 (cell["citations"] or old["citations"] or [""])[0], at,
                 {"run": run["id"], "rules_then": then.rules_version, "rules_now": later.rules_version,
                  "claims_then": then.claims_version, "claims_now": later.claims_version,
                  "passages_then": old["passages"], "passages_now": cell["passages"],
                  "verdict_then": old["verdict"], "verdict_now": cell["verdict"]})


# --------------------------------------------------------------------------- flags and decisions
def _flagged(store: Store, f: timeline.FlagThen) -> Entry:
    shown = timeline.flag_shown(store, f)
    return Entry("flagged", f.tool, f.criterion, f"flagged {f.id} ({shown['kind']}): {shown['summary']}",
                 shown["citation"], f.created_at,
                 {"flag": f.id, "flag_kind": shown["kind"], "status": f.status, "run": shown["run_id"]})


def _decision(store: Store, d, flag: timeline.FlagThen | None) -> Entry:
    verb = d["decision"]
    text = (f"note on {d['flag_id']} by {d['reviewer']}" if verb == "note"
            else f"{verb} {d['flag_id']} by {d['reviewer']}")
    if d["note"]:
        text += f": {d['note']}"
    citation = timeline.flag_shown(store, flag)["citation"] if flag else ""
    return Entry("decision", d["tool"], d["criterion"], text, citation, d["decided_at"],
                 {"flag": d["flag_id"], "decision": verb, "reviewer": d["reviewer"], "note": d["note"] or ""})
