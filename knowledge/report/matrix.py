"""The comparison matrix: the study's tool x criterion table, kept current, as of any crawl.

`read_matrix()` gives a Matrix: one row per (tool, criterion) with stable columns (COLUMNS), the runs
read, and "what changed" (changelog.py). `render.render()` turns it into Markdown, a self-contained
HTML page, CSV or JSON. CSV and JSON are the long matrix itself, one row per cell, so a folder of
weekly exports is a time series (schema: docs/report-json.md); Markdown and HTML lay it out like the
study: criteria as rows, tools as columns. `build_matrix()` is the same rows as a pandas DataFrame.

As of: `as_of` (a run id or a date) picks the runs as `collector claims --as-of` does
(evidence.read.runs_as_of); flags and reviews count as they stood while those were the latest
crawls (timeline.py). The evidence side of each cell is the run's snapshot (snapshot.py): as the
report first read it (`rules="then"`, the default with `as_of`) or with today's rules and claim
check (`rules="current"`, the default without). Nothing in a rendering depends on the clock, so
the same command prints the same bytes later.

Column meanings:
  baseline_claim / baseline_status   what the study says for the cell (knowledge.domain.baseline)
  claim_verdict      the claim re-judged against the crawl read (knowledge.claims): stale / extended /
                     holds / no-claim
  claim_reason       the line that decided the verdict
  dead_citations     the study's cited URLs for the cell whose page (or #section) is gone, one a line
  finding            the cell's new finding: the note a reviewer gave when accepting a stale verdict
                     ("text (reviewer, YYYY-MM-DD)"), empty when none
  facts              structured facts in the tool's crawl, "category: v1, v2; ..."
  passages / pages   coverage: passages tagged with the criterion in that crawl, and the pages they are on
  page_share         pages / tool_pages (the share of the tool's crawled pages backing the cell)
  tool_pages         pages the crawl stands for (evidence.read.run_pages)
  newest_evidence / oldest_evidence   age: when the content of the cell's newest / oldest passage was
                     last read (ISO 8601; a page that failed keeps the date of its last good fetch)
  newest_age_days / oldest_age_days   days from those dates to the crawl read
  evidence_changed   date of the cell's newest flag (the day `collector diff` saw its evidence change)
  review_status      latest decision on the cell (accepted / dismissed / uncertain), else "unreviewed"
  reviewed_by / reviewed_at   who made that decision, and when
  open_flags         flags still waiting for review (open or uncertain)
  flag_ids           the cell's waiting flags and the flag of its latest decision: "ID status", one a line
  marker             see MARKERS; several are joined with "; "
  citations          the 3 best-scoring passages as "URL#anchor (crawled YYYY-MM-DD)", one a line
  as_of_run / crawled_at   the crawl read (id, start time)
  rules_version      the extraction rules key that crawl was read with
  claims_version     the claim check (baseline, checklist, judge code) the verdicts come from
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from knowledge.errors import CollectorError, UsageError
from knowledge.report import snapshot as snaps
from knowledge.report import timeline
from knowledge.store import Store
from knowledge.textsafe import safe

COLUMNS = ["tool", "criterion", "criterion_title", "baseline_claim", "baseline_status", "claim_verdict",
           "claim_reason", "dead_citations", "finding", "facts", "passages", "pages", "page_share", "tool_pages",
           "newest_evidence", "oldest_evidence", "newest_age_days", "oldest_age_days",
           "evidence_changed", "review_status", "reviewed_by", "reviewed_at", "open_flags", "flag_ids", "marker",
           "citations", "as_of_run", "crawled_at", "rules_version", "claims_version"]
INT_COLUMNS = ("passages", "pages", "tool_pages", "open_flags")
NULLABLE_INT_COLUMNS = ("newest_age_days", "oldest_age_days", "as_of_run")
FLOAT_COLUMNS = ("page_share",)
MARKERS = {
    "changed": ("●", "evidence changed since the last review (or the study) and is not reviewed yet"),
    "uncertain": ("?", "a reviewer marked the change uncertain"),
    "no-evidence": ("∅", "no passage of the crawl is tagged with this criterion"),
    "gone-only": ("†", "evidence only from pages now gone (they answer 404; their last good content is shown)"),
    "no-crawl": ("–", "this tool has no finished crawl"),
}
RULES = ("then", "current")
SHORT_CLAIM = 220   # characters of the study's claim shown in the md/html matrix


@dataclass
class Matrix:
    rows: list[dict]
    tools: list[str]
    runs: dict[str, object]                  # tool -> run row read (None: never crawled then)
    snapshots: dict[str, snaps.Snapshot]     # tool -> the reading shown
    rules: str                               # "then" or "current"
    cutoff: str | None                       # when the next crawl finished (None: still the latest)
    latest_decision: str                     # decided_at of the newest decision counted
    changes: object                          # changelog.Changelog for the "what changed" section
    since: str | None                        # the section's start (None: the first crawl)
    since_label: str
    notes: list[str] = field(default_factory=list)      # printed in the report (deterministic)
    warnings: list[str] = field(default_factory=list)   # for stderr only (e.g. rules changed since)

    def frame(self):
        """The rows as a pandas DataFrame (pandas is imported only here)."""
        import pandas as pd

        df = pd.DataFrame(self.rows, columns=COLUMNS)
        for col in NULLABLE_INT_COLUMNS:
            df[col] = df[col].astype("Int64")
        for col in INT_COLUMNS:
            df[col] = df[col].astype("int64")
        for col in FLOAT_COLUMNS:
            df[col] = df[col].astype("float64")
        return df


# --------------------------------------------------------------------------- the matrix
def build_matrix(store: Store, tools: list[str] | None = None, as_of: int | str | None = None,
                 rules: str | None = None):
    """The matrix as a pandas DataFrame, one row per tool x criterion."""
    return read_matrix(store, tools, as_of, rules).frame()


def read_matrix(store: Store, tools: list[str] | None = None, as_of: int | str | None = None,
                rules: str | None = None, since: str | None = None) -> Matrix:
    """One row per tool x criterion, in checklist order per tool. Every string is sanitised."""
    from knowledge.domain.checklist import load_checklist
    from knowledge.evidence.read import runs_as_of
    from knowledge.report.changelog import build_changelog
    from knowledge.review.decisions import check_tools, known_tools

    rules = check_rules(rules, as_of)
    names = check_tools(store, tools) or default_tools(store, known_tools(store))
    runs = runs_as_of(store, names, as_of)
    if not any(runs.values()):
        raise CollectorError(f"No finished crawl in {store.path}" + (f" as of {as_of}" if as_of else "")
                             + f" for {', '.join(names)}: nothing to report yet.",
                             "Run `collector crawl` first (or `collector demo` to try the whole loop offline).")
    cutoff = timeline.cutoff(store, names, runs)
    notes, warnings = [], []
    shown = {t: _reading(store, run, rules, cutoff, notes, warnings) for t, run in runs.items() if run}
    decided = timeline.decisions(store, names, cutoff)
    flags = timeline.flags(store, names, cutoff, decided)
    prev_start = _previous_crawl(store, runs)
    since_label = (f"since {since}" if since else
                   f"since the crawl of {prev_start[:10]}" if prev_start else "(first crawl)")
    start = since or min(r["started_at"] for r in runs.values() if r)
    changes = build_changelog(store, names, start, runs=runs, cutoff=cutoff, rules=rules, shown=shown)
    reviews = _cell_reviews(decided)
    found = timeline.findings(store, decided)
    rows = []
    for tool in names:
        run, snap = runs[tool], shown.get(tool)
        for crit in load_checklist():
            cell = snap.cells.get(crit.id) if snap else None
            rows.append(_row(tool, crit, run, snap, cell, reviews.get((tool, crit.id)),
                             [f for f in flags if f.tool == tool and f.criterion == crit.id],
                             found.get((tool, crit.id))))
    latest = max((d["decided_at"] for d in decided), default="")
    return Matrix(rows, names, runs, shown, rules, cutoff, latest, changes, since, since_label, notes, warnings)


def check_rules(rules: str | None, as_of) -> str:
    if rules is None or rules == "":
        return "then" if as_of not in (None, "") else "current"
    value = rules.strip().lower()
    if value not in RULES:
        raise UsageError(f"--rules expects 'then' or 'current', got '{rules}'.",
                         "then: the crawl as the report first read it; current: read again with today's rules.")
    return value


def _reading(store: Store, run, rules: str, cutoff: str | None, notes: list, warnings: list) -> snaps.Snapshot:
    """The snapshot shown for a run: as the report first read it ("then"), or today's reading."""
    if rules == "current":
        return snaps.current(store, run)
    snap = snaps.first(store, run["id"])
    if snap is None:
        snap = snaps.current(store, run)
    if cutoff is not None and snap.created_at > cutoff:
        notes.append(f"{run['tool']} run {run['id']} was not reported while it was the latest crawl; it is shown "
                     f"as first read on {snap.created_at[:10]} (rules {snap.rules_version}, claim check "
                     f"{snap.claims_version}).")
    now = snaps.current_key(store, run["id"])
    if snap.key != now:
        warnings.append(f"The rules changed since {run['tool']} run {run['id']} was read (then: rules "
                        f"{snap.rules_version}, claim check {snap.claims_version}; now: rules {now[0]}, claim check "
                        f"{now[1]}). It is shown as first read; `--rules current` reads the same pages with "
                        f"today's rules.")
    return snap


def _row(tool, crit, run, snap, cell, review, cell_flags, finding) -> dict:
    pending = [f for f in cell_flags if f.status in timeline.PENDING]
    marker = []
    if any(f.status == "open" for f in pending):
        marker.append("changed")
    if any(f.status == "uncertain" for f in pending):
        marker.append("uncertain")
    if run is None:
        marker.append("no-crawl")
    elif not cell or not cell["passages"]:
        marker.append("no-evidence")
    elif cell["gone_only"]:
        marker.append("gone-only")
    listed = list(pending)
    if review is not None:
        decided = next((f for f in cell_flags if f.id == review["flag_id"]), None)
        if decided is not None and decided not in listed:
            listed.append(decided)
    crawled = run["started_at"] if run else ""
    cell = cell or {}
    facts: dict[str, set[str]] = {}
    for cat, val, _cite in cell.get("facts", []):
        facts.setdefault(cat, set()).add(val)
    row = {
        "tool": tool, "criterion": crit.id, "criterion_title": crit.title,
        "baseline_claim": cell.get("claim", "") if snap else _claim(tool, crit.id, "claim"),
        "baseline_status": cell.get("claim_status", "") if snap else _claim(tool, crit.id, "status"),
        "claim_verdict": cell.get("verdict", ""),
        "claim_reason": cell.get("reason", ""),
        "dead_citations": "\n".join(cell.get("dead_citations", [])),
        "finding": f"{finding['text']} ({finding['reviewer']}, {finding['decided_at'][:10]})" if finding else "",
        "facts": "; ".join(f"{cat}: {', '.join(sorted(vals))}" for cat, vals in sorted(facts.items())),
        "passages": cell.get("passages", 0),
        "pages": cell.get("pages", 0),
        "page_share": round(cell.get("pages", 0) / snap.pages, 4) if snap and snap.pages else 0.0,
        "tool_pages": snap.pages if snap else 0,
        "newest_evidence": cell.get("newest", ""),
        "oldest_evidence": cell.get("oldest", ""),
        "newest_age_days": _days(cell.get("newest"), crawled),
        "oldest_age_days": _days(cell.get("oldest"), crawled),
        "evidence_changed": max((f.created_at for f in cell_flags), default="")[:10],
        "review_status": review["decision"] if review else "unreviewed",
        "reviewed_by": review["reviewer"] if review else "",
        "reviewed_at": review["decided_at"] if review else "",
        "open_flags": len(pending),
        "flag_ids": "\n".join(f"{f.id} {f.status}" for f in listed),
        "marker": "; ".join(marker),
        "citations": "\n".join(cell.get("citations", [])),
        "as_of_run": run["id"] if run else None,
        "crawled_at": crawled,
        "rules_version": snap.rules_version if snap else "",
        "claims_version": snap.claims_version if snap else "",
    }
    return {k: (safe(v) if isinstance(v, str) else v) for k, v in row.items()}


def _claim(tool: str, criterion: str, attr: str) -> str:
    from knowledge.domain import baseline

    value = getattr(baseline.baseline_for(tool, criterion), attr, "")
    return "; ".join(map(str, value)) if isinstance(value, (list, tuple, set)) else str(value or "")


def _cell_reviews(decided: list) -> dict[tuple[str, str], object]:
    out = {}
    for d in decided:                 # oldest first: the last status decision wins
        if d["decision"] != "note":
            out[(d["tool"], d["criterion"])] = d
    return out


def _days(read: str | None, crawled: str) -> int | None:
    if not read or not crawled:
        return None
    try:
        return (date.fromisoformat(crawled[:10]) - date.fromisoformat(read[:10])).days
    except ValueError:
        return None


def _previous_crawl(store: Store, runs: dict) -> str | None:
    """Start of the newest earlier finished run of the tools read (what the section compares with)."""
    starts = []
    for tool, run in runs.items():
        if run is None:
            continue
        row = store.conn.execute("SELECT MAX(started_at) FROM runs WHERE tool = ? AND status IN ('complete', "
                                 "'partial') AND id < ?", (tool, run["id"])).fetchone()
        if row[0]:
            starts.append(row[0])
    return max(starts) if starts else None


def default_tools(store: Store, known: list[str]) -> list[str]:
    """Built-in tools in their file order, then any other tool this store has crawled."""
    from knowledge.domain.sources import load_sources

    sources = load_sources()
    # A doc variant shown separately (metaflow-r) is not a column of the study's matrix: --tool it.
    builtin = [t for t, s in sources.items() if not s.variant_of]
    crawled = [r[0] for r in store.conn.execute("SELECT DISTINCT tool FROM runs ORDER BY tool")]
    return builtin + [t for t in crawled if t not in sources and t in known]


# --------------------------------------------------------------------------- shared by the renderings
def tool_crawls(m: Matrix) -> list[tuple[str, object, object]]:
    """(tool, run row or None, snapshot or None) per tool in the matrix, in column order."""
    return [(t, m.runs.get(t), m.snapshots.get(t)) for t in m.tools]


def pivot(m: Matrix) -> tuple[list[str], list[tuple[str, str]], dict[tuple[str, str], dict]]:
    """(tools, [(criterion, title)], {(criterion, tool): row}) for the criteria x tools layout."""
    tools = list(dict.fromkeys(r["tool"] for r in m.rows))
    criteria = list(dict.fromkeys((r["criterion"], r["criterion_title"]) for r in m.rows))
    cells = {(r["criterion"], r["tool"]): r for r in m.rows}
    return tools, criteria, cells


def passages_label(n: int) -> str:
    return "no passages" if not n else "1 passage" if n == 1 else f"{n} passages"


def coverage_label(r: dict) -> str:
    """'5 passages on 2 pages (1.8% of 112 pages)' — how much of the site backs the cell."""
    if not r["passages"]:
        return f"no passages (of {r['tool_pages']} pages)" if r["tool_pages"] else "no passages"
    pages = "1 page" if r["pages"] == 1 else f"{r['pages']} pages"
    return f"{passages_label(r['passages'])} on {pages} ({r['page_share'] * 100:.1f}% of {r['tool_pages']} pages)"


def age_label(r: dict) -> str:
    """'read 2024-03-01 to 2024-04-01 (31 days before this crawl)' — how old the evidence is."""
    if not r["newest_evidence"]:
        return ""
    newest, oldest = r["newest_evidence"][:10], r["oldest_evidence"][:10]
    span = f"read {newest}" if newest == oldest else f"read {oldest} to {newest}"
    old = r["oldest_age_days"]
    return span + (f" (oldest {old} days before this crawl)" if old else "")


def short(text: str, limit: int = SHORT_CLAIM) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
