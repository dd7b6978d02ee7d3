"""The matrix as Markdown, laid out like the study: criteria as rows, tools as columns."""
from __future__ import annotations

import html

import pandas as pd

from knowledge.report.matrix import MARKERS, passages_label, pivot, short, tool_crawls
from knowledge.store import utcnow
from knowledge.textsafe import safe


# Escaped so scraped text cannot add table columns, links, images or code spans; '#' and '_' are
# left alone (harmless inside a cell, and escaping them would break autolinked URLs).
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]|"})


def md_text(value) -> str:
    """Scraped text as inert Markdown: sanitised, HTML-escaped, Markdown specials escaped."""
    text = html.escape(safe(value), quote=False).translate(_MD_SPECIAL)
    return "<br>".join(line.strip() for line in text.splitlines())


def render_markdown(df: pd.DataFrame) -> str:
    tools, criteria, cells = pivot(df)
    lines = [f"# Comparison of {', '.join(md_text(t) for t in tools)}", "",
             f"Generated {utcnow()} by `collector report`. Crawls read:", ""]
    for tool, crawled, run_id in tool_crawls(df):
        lines.append(f"- {md_text(tool)}: " + (f"crawl run {run_id} of {md_text(crawled)}"
                                              if crawled else "never crawled"))
    lines += ["", "Markers: " + "; ".join(f"{sym} {name} = {text}" for name, (sym, text) in MARKERS.items()), ""]
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
    parts.append(passages_label(r["passages"])
                 + (f"; changed {md_text(r['evidence_changed'])}" if r["evidence_changed"] else ""))
    status = md_text(r["review_status"]) + (f" {md_text(r['reviewed_at'][:10])}" if r["reviewed_at"] else "")
    parts.append(f"Review: {status}" + (f"; {r['open_flags']} open" if r["open_flags"] else ""))
    parts += [md_text(c) for c in r["citations"].splitlines() if c.strip()]
    return "<br>".join(parts)
