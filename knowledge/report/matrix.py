"""The comparison matrix: the study's tool x criterion table, kept current.

`build_matrix()` gives one row per (tool, criterion) with stable columns (COLUMNS); `render.render()` turns
it into Markdown, a self-contained HTML page, CSV or JSON. CSV and JSON are the long matrix itself
(load them back with pandas); Markdown and HTML lay it out like the study: criteria as rows, tools
as columns.

Column meanings:
  baseline_claim / baseline_status   what the study says for the cell (knowledge.domain.baseline)
  claim_verdict      the claim re-judged against the crawl read (knowledge.claims): stale / extended /
                     holds / no-claim
  claim_reason       the line that decided the verdict
  dead_citations     the study's cited URLs for the cell whose page (or #section) is gone, one a line
  finding            the cell's new finding: the note a reviewer gave when accepting a stale verdict
                     ("text (reviewer, YYYY-MM-DD)"), empty when none
  facts              structured facts in the tool's current crawl, "category: v1, v2; ..."
  passages           passages tagged with the criterion in that crawl
  evidence_changed   crawl date of the newest flag for the cell (the crawl in which `collector diff`
                     last saw its evidence change); empty when no change has been flagged
  review_status      latest decision on the cell (accepted / dismissed / uncertain), else "unreviewed"
  reviewed_at        when that decision was made
  open_flags         flags still waiting for review (open or uncertain)
  marker             "changed" (an open flag: evidence changed, not reviewed yet), "uncertain",
                     "no-evidence" (nothing tagged in the crawl), "no-crawl" (the tool was never
                     crawled); several are joined with "; "
  citations          the 3 best-scoring passages as "URL#anchor (crawled YYYY-MM-DD)", one a line
  run_id / crawled_at  the crawl read: the tool's latest finished crawl, complete or partial (see
                     Store.latest_finished_run), i.e. the one `collector diff` compares
"""
from __future__ import annotations

import pandas as pd

from knowledge.errors import CollectorError
from knowledge.store import Store
from knowledge.textsafe import safe

COLUMNS = ["tool", "criterion", "criterion_title", "baseline_claim", "baseline_status", "claim_verdict",
           "claim_reason", "dead_citations", "finding", "facts", "passages",
           "evidence_changed", "review_status", "reviewed_at", "open_flags", "marker", "citations",
           "run_id", "crawled_at"]
MARKERS = {
    "changed": ("●", "evidence changed since the last review (or the study) and is not reviewed yet"),
    "uncertain": ("?", "a reviewer marked the change uncertain"),
    "no-evidence": ("∅", "no passage of the current crawl is tagged with this criterion"),
    "no-crawl": ("–", "this tool has no finished crawl"),
}
TOP_CITATIONS = 3
SHORT_CLAIM = 220   # characters of the study's claim shown in the md/html matrix


# --------------------------------------------------------------------------- the matrix
def build_matrix(store: Store, tools: list[str] | None = None) -> pd.DataFrame:
    """One row per tool x criterion, in checklist order per tool. Every string is sanitised."""
    from knowledge.domain.baseline import baseline_for
    from knowledge.domain.checklist import load_checklist
    from knowledge.evidence.read import run_evidence
    from knowledge.review.decisions import cell_reviews, check_tools, findings, known_tools

    names = check_tools(store, tools) or _default_tools(store, known_tools(store))
    runs = {tool: store.latest_finished_run(tool) for tool in names}
    if not any(runs.values()):
        raise CollectorError(f"No finished crawl in {store.path} for {', '.join(names)}: nothing to report yet.",
                             "Run `collector crawl` first (or `collector demo` to try the whole loop offline).")
    reviews = cell_reviews(store)
    flags = _flag_cells(store)
    verdicts = _verdicts(store, [t for t in names if runs[t]])
    found = findings(store)
    rows = []
    for tool in names:
        run = runs[tool]
        evidence = run_evidence(store, run["id"]) if run else []
        for crit in load_checklist():
            items = sorted((e for e in evidence if e.criterion == crit.id), key=lambda e: (-e.score, e.path, e.position))
            base = baseline_for(tool, crit.id)
            review = reviews.get((tool, crit.id))
            cell_flags = flags.get((tool, crit.id), {})
            pending = cell_flags.get("pending", 0)
            marker = []
            if cell_flags.get("open"):
                marker.append("changed")
            if cell_flags.get("uncertain"):
                marker.append("uncertain")
            if run is None:
                marker.append("no-crawl")
            elif not items:
                marker.append("no-evidence")
            verdict = verdicts.get((tool, crit.id))
            rows.append({
                "tool": tool, "criterion": crit.id, "criterion_title": crit.title,
                "baseline_claim": _text(getattr(base, "claim", "")),
                "baseline_status": _text(getattr(base, "status", "")),
                "claim_verdict": verdict.verdict if verdict else "",
                "claim_reason": verdict.deciding if verdict else "",
                "dead_citations": "\n".join(_dead_citations(verdict)) if verdict else "",
                "finding": _finding(found.get((tool, crit.id))),
                "facts": _facts(items),
                "passages": len({(e.path, e.position) for e in items}),
                "evidence_changed": _date(cell_flags.get("changed_at")),
                "review_status": review.decision if review else "unreviewed",
                "reviewed_at": review.decided_at if review else "",
                "open_flags": pending,
                "marker": "; ".join(marker),
                "citations": "\n".join(f"{e.citation} (crawled {_date(e.fetched_at)})" for e in items[:TOP_CITATIONS]),
                "run_id": run["id"] if run else None,
                "crawled_at": run["started_at"] if run else "",
            })
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["run_id"] = df["run_id"].astype("Int64")
    for col in ("passages", "open_flags"):
        df[col] = df[col].astype("int64")
    for col in COLUMNS:
        if col not in ("run_id", "passages", "open_flags"):
            df[col] = df[col].map(lambda v: safe("" if v is None else v))
    return df


def _verdicts(store: Store, tools: list[str]) -> dict:
    """{(tool, criterion): CellVerdict} for the tools' latest finished crawls."""
    if not tools:
        return {}
    from knowledge.claims.check import check_claims

    return {(c.tool, c.criterion): c for c in check_claims(store, tools).cells}


def _finding(f: dict | None) -> str:
    return f"{f['text']} ({f['reviewer']}, {str(f['decided_at'])[:10]})" if f else ""


def _dead_citations(verdict) -> list[str]:
    dead = {c["url"]: c for a in verdict.assertions for c in a.cited if c["status"] in ("gone", "section-gone")}
    return [f"{url} ({'404' if c['status'] == 'gone' else 'section gone'})" for url, c in sorted(dead.items())]


def _default_tools(store: Store, known: list[str]) -> list[str]:
    """Built-in tools in their file order, then any other tool this store has crawled."""
    from knowledge.domain.sources import load_sources

    sources = load_sources()
    # A doc variant shown separately (metaflow-r) is not a column of the study's matrix: --tool it.
    builtin = [t for t, s in sources.items() if not s.variant_of]
    crawled = [r[0] for r in store.conn.execute("SELECT DISTINCT tool FROM runs ORDER BY tool")]
    return builtin + [t for t in crawled if t not in sources and t in known]


def _flag_cells(store: Store) -> dict[tuple[str, str], dict]:
    """Per cell: counts of open / uncertain flags and the crawl date of its newest flag."""
    out: dict[tuple[str, str], dict] = {}
    for r in store.conn.execute(
            "SELECT f.tool, f.criterion, f.status, f.to_run, r.started_at FROM flags f "
            "LEFT JOIN runs r ON r.id = f.to_run ORDER BY f.to_run, f.created_at"):
        cell = out.setdefault((r["tool"], r["criterion"]), {"open": 0, "uncertain": 0, "pending": 0})
        if r["status"] in ("open", "uncertain"):
            cell[r["status"]] += 1
            cell["pending"] += 1
        cell["changed_at"] = r["started_at"]
    return out


def _facts(items) -> str:
    by_cat: dict[str, set[str]] = {}
    for e in items:
        for f in e.facts:
            by_cat.setdefault(f["category"], set()).add(str(f["value"]))
    return "; ".join(f"{cat}: {', '.join(sorted(vals))}" for cat, vals in sorted(by_cat.items()))


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set)):
        return "; ".join(map(str, value))
    return str(value)


def _date(value) -> str:
    return str(value)[:10] if value else ""


# --------------------------------------------------------------------------- shared by the renderings
def tool_crawls(df: pd.DataFrame) -> list[tuple[str, str, object]]:
    """(tool, crawl date, run id) per tool in the matrix, in column order."""
    first = df.drop_duplicates("tool")
    return [(r.tool, r.crawled_at, r.run_id) for r in first.itertuples()]


def pivot(df: pd.DataFrame) -> tuple[list[str], list[tuple[str, str]], dict[tuple[str, str], dict]]:
    """(tools, [(criterion, title)], {(criterion, tool): row}) for the criteria x tools layout."""
    tools = list(dict.fromkeys(df["tool"]))
    criteria = list(dict.fromkeys(zip(df["criterion"], df["criterion_title"])))
    cells = {(r["criterion"], r["tool"]): r for r in df.to_dict("records")}
    return tools, criteria, cells


def passages_label(n: int) -> str:
    return "no passages" if not n else "1 passage" if n == 1 else f"{n} passages"


def short(text: str, limit: int = SHORT_CLAIM) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
