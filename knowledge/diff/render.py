"""Plain-text rendering of a DiffResult for the terminal (the CLI adds the summary table).

Every line goes through textsafe.safe: passages are scraped text.
"""
from __future__ import annotations

from knowledge.diff.matching import render_diff
from knowledge.textsafe import safe

TEXT_LIMIT = 400     # characters of a passage shown in the terminal (--json has the full text)


def summary_rows(result) -> list[list[str]]:
    return [[f.id, f.tool, f.criterion, f.kind, f.status, f.summary] for f in result.flags]


def detail_lines(result) -> list[str]:
    lines: list[str] = []
    for f in result.flags:
        lines.append("")
        head = f"{f.id}  {f.tool} / {f.criterion}  [{f.kind}, {f.status}]  run {f.from_run} -> run {f.to_run}"
        lines.append(head)
        if f.decision:
            d = f.decision
            lines.append(f"  decision: {d['decision']} by {d['reviewer']} at {d['decided_at']}"
                         + (f" ({d['note']})" if d.get("note") else ""))
        for cat in sorted(set(f.facts_gained) | set(f.facts_lost)):
            vals = [f"+{v}" for v in f.facts_gained.get(cat, [])] + [f"-{v}" for v in f.facts_lost.get(cat, [])]
            lines.append(f"  facts  {cat}: {', '.join(vals)}")
        base = f.payload.get("baseline")
        if base and base.get("contradicts"):
            extra = [f"docs show {cat}: {', '.join(v)} (not in the study)" for cat, v in base["docs_not_in_baseline"].items()]
            extra += [f"docs no longer show {cat}: {', '.join(v)} (claimed by the study)"
                      for cat, v in base["baseline_lost_in_docs"].items()]
            lines.append(f"  baseline: \"{_clip(base.get('claim', ''), 160)}\" -- " + "; ".join(extra))
        for p in f.added:
            lines += [f"  + added    {p['url']}  ({_hp(p)}; crawled {p['crawled_at']})", f"      {_clip(p['text'])}"]
        for p in f.removed:
            lines += [f"  - removed  {p['url']}  ({_hp(p)}; crawled {p['crawled_at']})", f"      {_clip(p['text'])}"]
        for p in f.changed:
            where = p["url"] if p["url"] == p["old_url"] else f"{p['url']} (was {p['old_url']})"
            why = {"gained": "; now evidence for this criterion",
                   "lost": "; no longer evidence for this criterion"}.get(p.get("tagged"), "")
            lines += [f"  ~ changed  {where}  ({_hp(p)}; crawled {p['crawled_at']}{why})",
                      f"      {_clip(render_diff(p['diff']), 2 * TEXT_LIMIT)}"]
        groups: dict[tuple, list[dict]] = {}
        for p in f.moved:
            key = (p["old_url"], p["url"], bool(p.get("part")))
            groups.setdefault(key if p.get("part") else (id(p),), []).append(p)
        for items in groups.values():
            p = items[0]
            # ¶: paragraphs of a section that moved into another section (one line per section pair)
            what = "moved ¶ " if p.get("part") else "moved   "
            more = f"  [+{len(items) - 1} more paragraph(s) moved along]" if len(items) > 1 else ""
            where = (f"{p['old_url']} -> {p['url']}" if p["old_url"] != p["url"]
                     else f"{p['url']}  (heading was: {' > '.join(p.get('old_heading_path') or [])})")
            lines += [f"  > {what} {where}  ({_hp(p)}; crawled {p['crawled_at']})",
                      f"      {_clip(p['text'])}{more}"]
    return [safe(line) for line in lines]


def compare_lines(result) -> list[str]:
    lines = []
    for criterion, rows in result.compare.items():
        lines.append("")
        lines.append(f"{criterion}: the same criterion for every tool (latest crawl)")
        for r in rows:
            mark = "flagged" if r["flagged_here"] else ("open flags: %d" % r["open_flags"] if r["open_flags"] else "no open flags")
            lines.append(f"  {r['tool']:<10} run {r['run_id']}  {r['evidence']} passages on {r['pages']} pages  {mark}")
    return [safe(line) for line in lines]


def health_lines(result) -> list[str]:
    lines = []
    for tool, h in result.crawl_health.items():
        problems = [(k, h.get(k, [])) for k in ("failed", "possibly_gone", "gone")]
        # Skipped (non-HTML, page limit) and robots-blocked URLs are expected; counted, listed in --json.
        quiet = ", ".join(f"{len(h[k])} {k}" for k in ("skipped", "blocked") if h.get(k))
        quiet = f" ({quiet}; see --json)" if quiet else ""
        if not any(v for _, v in problems):
            lines.append(f"  {tool} (run {h['run_id']}, {h['status']}): no failed or gone pages{quiet}")
            continue
        lines.append(f"  {tool} (run {h['run_id']}, {h['status']}){quiet}:")
        for p in h["failed"]:
            kept = "last good content kept" if p.get("evidence_kept") else "no earlier content"
            lines.append(f"    failed         {p['url']}  {p.get('reason') or p.get('http_status') or ''}  ({kept})")
        for p in h["possibly_gone"]:
            lines.append(f"    possibly gone  {p['url']}  HTTP {p.get('http_status')} (once; evidence kept until "
                         f"the next crawl confirms)")
        for p in h["gone"]:
            lines.append(f"    gone           {p['url']}  HTTP {p.get('http_status')} (two crawls in a row: removed)")
    return [safe(line) for line in lines]


def _hp(p: dict) -> str:
    return " > ".join(p.get("heading_path") or []) or "no heading"


def _clip(text: str, limit: int = TEXT_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
