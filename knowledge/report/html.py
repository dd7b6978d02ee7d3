"""The comparison matrix as one self-contained HTML page: inline CSS, no scripts, no external assets.

Every string from the store passes `textsafe.safe()` and then `html.escape()`; links are made only
for http(s) URLs, so a scraped `javascript:` URL stays plain text.
"""
from __future__ import annotations

import html
from urllib.parse import urlsplit

from knowledge.report.matrix import MARKERS, Matrix, age_label, coverage_label, pivot, short, tool_crawls
from knowledge.textsafe import safe

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
.meta, .legend { color: #555; font-size: .9em; }
.legend span { margin-right: 1.5em; white-space: nowrap; }
table { border-collapse: collapse; width: 100%; margin-top: 1em; }
th, td { border: 1px solid #ccc; padding: .5em; vertical-align: top; text-align: left; font-size: .85em; }
thead th { background: #f0f0f0; position: sticky; top: 0; }
th.crit { width: 14em; background: #fafafa; }
.q { font-weight: normal; color: #666; font-size: .9em; }
.claim { margin-bottom: .4em; }
.facts { margin-bottom: .4em; color: #0b5394; }
.status { font-size: .9em; color: #444; }
.cites { margin: .4em 0 0; padding-left: 1.2em; font-size: .85em; word-break: break-all; }
.mark { font-weight: bold; padding: 0 .3em; border-radius: 3px; }
td.changed { background: #fff4e0; } .mark.changed { background: #f5a623; color: #fff; }
td.uncertain { background: #f3eefc; } .mark.uncertain { background: #8e6bd1; color: #fff; }
td.no-evidence { background: #f7f7f7; color: #777; } .mark.no-evidence { background: #999; color: #fff; }
td.no-crawl { background: #eee; color: #777; } .mark.no-crawl { background: #777; color: #fff; }
.st-accepted { color: #2e7d32; } .st-dismissed { color: #8d6e63; } .st-uncertain { color: #8e6bd1; }
.st-unreviewed { color: #999; }
.verdict { margin-bottom: .4em; } .v-stale b { color: #c62828; } .v-extended b { color: #b26a00; }
.v-holds b { color: #2e7d32; } .v-no-claim b { color: #777; }
.finding { margin-bottom: .4em; color: #1b5e20; }
.dead { font-size: .85em; color: #8d6e63; margin-bottom: .4em; word-break: break-all; }
td.gone-only { background: #fbeeee; } .mark.gone-only { background: #b71c1c; color: #fff; }
.coverage, .flags { font-size: .85em; color: #444; margin-top: .3em; }
.changes { margin: .4em 0 0; padding-left: 1.2em; font-size: .85em; color: #5d4037; }
section.changed-since li { margin-bottom: .25em; font-size: .9em; word-break: break-word; }
.kind { font-family: monospace; font-size: .85em; color: #555; }
"""


def h(value) -> str:
    """Scraped text as inert HTML."""
    return html.escape(safe(value), quote=True)


def render_html(m: Matrix) -> str:
    tools, criteria, cells = pivot(m)
    crawls = "; ".join(
        f"{h(t)}: " + (f"run {h(run['id'])} of {h(run['started_at'])} ({h(snap.pages)} pages; rules "
                       f"{h(snap.rules_version)}, claim check {h(snap.claims_version)})" if run else "never crawled")
        for t, run, snap in tool_crawls(m))
    legend = "".join(f'<span><span class="mark {name}">{sym}</span> {h(text)}</span>'
                     for name, (sym, text) in MARKERS.items())
    latest = f"latest decision counted: {h(m.latest_decision)}" if m.latest_decision else "no decision yet"
    notes = "".join(f'<p class="meta">Note: {h(n)}</p>' for n in m.notes)
    per_cell = m.changes.cell_entries()
    head = "".join(f"<th>{h(t)}</th>" for t in tools)
    body = []
    for cid, title in criteria:
        tds = "".join(_cell(cells.get((cid, t)), per_cell.get((t, cid), [])) for t in tools)
        body.append(f'<tr><th class="crit" scope="row">{h(title)}<br><span class="q">{h(cid)}</span></th>{tds}</tr>')
    crawl_date = max((run["started_at"] for run in m.runs.values() if run), default="")[:10]
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>MLOps tool comparison (as of {h(crawl_date)})</title>
<style>{CSS}</style>
</head>
<body>
<h1>Comparison of {h(", ".join(tools))}</h1>
<p class="meta">Crawls read: {crawls}.</p>
<p class="meta">Reviews: the flags and decisions made while these were the latest crawls ({latest}). Evidence read
{"as the report first read it" if m.rules == "then" else "with the current rules"}.</p>
{notes}
<p class="legend">{legend}</p>
{_changes(m)}
<p class="meta">Each cell: the study's claim and its verdict against the crawl read (stale, extended,
holds, no-claim; see <code>collector claims</code>), the facts found, coverage (passages and pages backing the
cell, share of the tool's crawled pages) and age (when that evidence was read), the review status with the
cell's flags, what changed, and the best citations (URL#section, crawl date).</p>
<table>
<thead><tr><th>Criterion</th>{head}</tr></thead>
<tbody>
{chr(10).join(body)}
</tbody>
</table>
</body>
</html>
"""


def _changes(m: Matrix) -> str:
    out = [f'<section class="changed-since"><h2>What changed {h(m.since_label)}</h2>']
    if not m.changes.periods:
        out.append("<p>Nothing changed.</p>")
    for period in m.changes.periods:
        runs = ", ".join(f"{h(t)} run {h(rid)}" for t, rid in period.crawl.run_ids.items())
        out.append(f"<h3>Crawl of {h(period.crawl.started_at[:10])} ({runs})</h3><ul>")
        for e in period.entries:
            where = f"{h(e.tool)} · {h(e.criterion)}" if e.criterion else h(e.tool)
            cite = f" — {_cite(e.citation)}" if e.citation else ""
            out.append(f'<li><b>{where}</b> <span class="kind">{h(e.kind)}</span> {h(e.text)}{cite}</li>')
        out.append("</ul>")
    out.append("</section>")
    return "\n".join(out)


def _cell(r: dict | None, changes: list) -> str:
    if r is None:
        return "<td></td>"
    marks = [m for m in r["marker"].split("; ") if m in MARKERS]
    parts = []
    if marks:
        parts.append(" ".join(f'<span class="mark {m}" title="{h(MARKERS[m][1])}">{MARKERS[m][0]}</span>'
                              for m in marks))
    if r["baseline_claim"]:
        status = f" ({h(r['baseline_status'])})" if r["baseline_status"] else ""
        parts.append(f'<div class="claim"><b>Study{status}:</b> {h(short(r["baseline_claim"]))}</div>')
    if r["finding"]:
        parts.append(f'<div class="finding"><b>Finding now:</b> {h(r["finding"])}</div>')
    if r["claim_verdict"]:
        parts.append(f'<div class="verdict v-{h(r["claim_verdict"])}"><b>Verdict: {h(r["claim_verdict"])}</b> '
                     f'<span class="q">{h(short(r["claim_reason"], 200))}</span></div>')
    dead = [d for d in r["dead_citations"].splitlines() if d.strip()]
    if dead:
        parts.append('<div class="dead">Dead study citations: ' + "; ".join(h(d) for d in dead) + "</div>")
    if "no-crawl" in marks:
        parts.append('<div class="status">not crawled yet</div>')
        return f'<td class="{" ".join(marks)}">{"".join(parts)}</td>'
    if r["facts"]:
        parts.append(f'<div class="facts"><b>Now:</b> {h(r["facts"])}</div>')
    age = age_label(r)
    gone = " · only from pages now gone (404)" if "gone-only" in marks else ""
    parts.append(f'<div class="coverage">{h(coverage_label(r))}{" · " + h(age) if age else ""}{gone}</div>')
    changed = f"changed {h(r['evidence_changed'])} · " if r["evidence_changed"] else ""
    review = h(r["review_status"])
    if r["reviewed_at"]:
        review += f" by {h(r['reviewed_by'])} {h(r['reviewed_at'][:10])}"
    pending = f", {r['open_flags']} to review" if r["open_flags"] else ""
    parts.append(f'<div class="status">{changed}<span class="st-{h(r["review_status"])}">{review}</span>'
                 f'{pending}</div>')
    flags = [f for f in r["flag_ids"].splitlines() if f.strip()]
    if flags:
        parts.append('<div class="flags">Flags: ' + ", ".join(f"<code>{h(f)}</code>" for f in flags) + "</div>")
    if changes:
        parts.append('<ul class="changes">' + "".join(f"<li>{h(e.at[:10])}: {h(e.text)}</li>" for e in changes)
                     + "</ul>")
    cites = [c for c in r["citations"].splitlines() if c.strip()]
    if cites:
        parts.append('<ol class="cites">' + "".join(f"<li>{_cite(c)}</li>" for c in cites) + "</ol>")
    return f'<td class="{" ".join(marks)}">{"".join(parts)}</td>'


def _cite(citation: str) -> str:
    url, _, rest = citation.partition(" ")
    if urlsplit(url).scheme in ("http", "https"):
        return f'<a href="{h(url)}">{h(url)}</a> {h(rest)}'
    return h(citation)
