"""The matrix as Markdown, laid out like the study: criteria as rows, tools as columns."""
from __future__ import annotations

import html

from knowledge.report.matrix import MARKERS, Matrix, age_label, coverage_label, pivot, short, tool_crawls
from knowledge.textsafe import safe


# Escaped so scraped text cannot add table columns, links, images or code spans; '#' and '_' are
# left alone (harmless inside a cell, and escaping them would break autolinked URLs).
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]|"})


def md_text(value) -> str:
    """Scraped text as inert Markdown: sanitised, HTML-escaped, Markdown specials escaped."""
    text = html.escape(safe(value), quote=False).translate(_MD_SPECIAL)
    return "<br>".join(line.strip() for line in text.splitlines())


def header_lines(m: Matrix) -> list[str]:
    """What was read: the crawls, their rules, and which reviews count (no clock: reproducible)."""
    lines = ["Crawls read:", ""]
    for tool, run, snap in tool_crawls(m):
        if run is None:
            lines.append(f"- {md_text(tool)}: never crawled" + (" as of then" if m.cutoff or m.rules == "then" else ""))
            continue
        lines.append(f"- {md_text(tool)}: crawl run {run['id']} of {md_text(run['started_at'])} "
                     f"({snap.pages} pages; rules {md_text(snap.rules_version)}, claim check "
                     f"{md_text(snap.claims_version)})")
    latest = f"latest decision counted: {md_text(m.latest_decision)}" if m.latest_decision else "no decision yet"
    lines += ["", f"Reviews: the flags and decisions made while these were the latest crawls ({latest}). "
                  f"Evidence read {'as the report first read it' if m.rules == 'then' else 'with the current rules'}."]
    lines += [""] + [f"Note: {md_text(n)}" for n in m.notes] if m.notes else []
    return lines


def render_markdown(m: Matrix) -> str:
    tools, criteria, cells = pivot(m)
    lines = [f"# Comparison of {', '.join(md_text(t) for t in tools)}", ""]
    lines += header_lines(m)
    lines += ["", "Markers: " + "; ".join(f"{sym} {name} = {text}" for name, (sym, text) in MARKERS.items()), ""]
    lines += changes_lines(m)
    lines += ["## Matrix", ""]
    header = ["Criterion"] + [md_text(t) for t in tools]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "---|" * len(header))
    for cid, title in criteria:
        row = [f"**{md_text(title)}** ({md_text(cid)})"]
        for tool in tools:
            row.append(_md_cell(cells.get((cid, tool))))
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    return "\n".join(lines)


def changes_lines(m: Matrix) -> list[str]:
    lines = [f"## What changed {md_text(m.since_label)}", ""]
    if not m.changes.periods:
        return lines + ["Nothing changed.", ""]
    for period in m.changes.periods:
        runs = ", ".join(f"{md_text(t)} run {rid}" for t, rid in period.crawl.run_ids.items())
        lines += [f"### Crawl of {md_text(period.crawl.started_at[:10])} ({runs})", ""]
        lines += [entry_line(e) for e in period.entries] + [""]
    return lines


def entry_line(e) -> str:
    where = f"{md_text(e.tool)} · {md_text(e.criterion)}" if e.criterion else md_text(e.tool)
    cite = f" — {md_text(e.citation)}" if e.citation else ""
    return f"- **{where}** [{e.kind}] {md_text(e.text)}{cite}"


def _md_cell(r: dict | None) -> str:
    if r is None:
        return ""
    parts = []
    marks = " ".join(MARKERS[m][0] for m in r["marker"].split("; ") if m in MARKERS)
    if marks:
        parts.append(f"**{marks}**")
    if r["baseline_claim"]:
        parts.append(f"Study: {md_text(short(r['baseline_claim']))}")
    if r["finding"]:
        parts.append(f"**Finding now:** {md_text(r['finding'])}")
    if r["claim_verdict"]:
        parts.append(f"**Verdict: {md_text(r['claim_verdict'])}** ({md_text(short(r['claim_reason'], 160))})")
    for dead in r["dead_citations"].splitlines():
        parts.append(f"Dead study citation: {md_text(dead)}")
    if "no-crawl" in r["marker"]:
        return "<br>".join(parts + ["not crawled yet"])
    if r["facts"]:
        parts.append(f"Now: {md_text(r['facts'])}")
    coverage = coverage_label(r)
    age = age_label(r)
    parts.append("Coverage: " + md_text(coverage) + (f"; {md_text(age)}" if age else "")
                 + (f"; changed {md_text(r['evidence_changed'])}" if r["evidence_changed"] else ""))
    if "gone-only" in r["marker"]:
        parts.append("Evidence only from pages now gone (404)")
    status = md_text(r["review_status"])
    if r["reviewed_at"]:
        status += f" by {md_text(r['reviewed_by'])} {md_text(r['reviewed_at'][:10])}"
    parts.append(f"Review: {status}" + (f"; {r['open_flags']} open" if r["open_flags"] else ""))
    if r["flag_ids"]:
        parts.append("Flags: " + ", ".join(md_text(f) for f in r["flag_ids"].splitlines()))
    parts += [md_text(c) for c in r["citations"].splitlines() if c.strip()]
    return "<br>".join(parts)


def render_changelog(log) -> str:
    """`collector changelog` as Markdown: one section per crawl, newest first, one line per change."""
    lines = [f"# What changed in the comparison of {', '.join(md_text(t) for t in log.tools)}", ""]
    if log.since:
        lines += [f"Since {md_text(log.since)}.", ""]
    if not log.periods:
        return "\n".join(lines + ["Nothing changed.", ""])
    for period in log.periods:
        runs = ", ".join(f"{md_text(t)} run {rid}" for t, rid in period.crawl.run_ids.items())
        lines += [f"## Crawl of {md_text(period.crawl.started_at[:10])} ({runs})", ""]
        lines += [entry_line(e) for e in period.entries] + [""]
    return "\n".join(lines)
