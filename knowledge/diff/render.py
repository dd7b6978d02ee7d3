"""What `collector diff` and `collector review` print: a digest first, details on request.

Like git: a short summary first (`--stat`: one line per flag), a digest by default, everything
with `--full`. The digest of a flag is one block: the flag's kind, the study's claim for the cell
(the claims stage's verdict first, when the change touched one), facts gained and lost, the
SHOWN most important changed passages (knowledge.diff.weigh: facts and capability words in the
changed words first, prose before reference material, possibly removed evidence last) with the
changed words marked, and a count of the rest by type ("+12 added, 3 moved, 40 reference-only").
A passage that changed under several criteria is shown in full once, under the first flag, and
referenced from the others. --json has every entry (this is a rendering of it).

Every function returns Rich markup lines (one line each, no newlines): scraped text is sanitised
and escaped (knowledge.diff.markup), so a page cannot style or move the terminal. `plain=True`
(no colours: a pipe, NO_COLOR) marks changed words as `[-removed-]` / `{+added+}`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from knowledge.diff.markup import clip, fact_labels, markup, rich_diff_ops
from knowledge.diff.matching import norm_hash, strip_boilerplate
from knowledge.diff.weigh import importance

SHOWN = 3            # passages shown per flag in the digest
DIGEST_CHARS = 160   # characters of an added/removed passage in the digest
DIGEST_CONTEXT = 6   # unchanged words around a change in the digest
DIGEST_CHANGED = 14  # words of one changed run in the digest
DIGEST_CHANGES = 2   # changed runs of one passage in the digest
TEXT_LIMIT = 400     # characters of a passage with --full (--json has the full text)
LISTED = 3           # pages listed per crawl-health line in the digest (--full lists all)
SIGNS = {"added": "+", "removed": "-", "changed": "~", "moved": ">", "possibly_removed": "?", "restored": "^"}
ORDER = ("changed", "added", "removed", "possibly_removed", "restored", "moved")


@dataclass
class Entry:
    """One payload entry of a flag, with what the digest needs to order and share it."""

    kind: str                 # the payload list it is in: added, changed, ...
    item: dict
    importance: float
    reference: bool
    key: str                  # the same passage and change under another criterion has the same key


@dataclass
class FlagDigest:
    flag: object                                        # knowledge.diff.engine.Flag (or review's)
    top: list[Entry]
    shown_under: dict[int, object] = field(default_factory=dict)   # index in top -> flag showing it in full
    rest: list[tuple[str, int]] = field(default_factory=list)      # ("added", 12), ("reference-only", 40)


def entries(flag) -> list[Entry]:
    """Every passage entry of a flag, most important first (stable: ties keep payload order)."""
    payload = flag.payload or {}
    out = []
    for kind in ORDER:
        for item in payload.get(kind) or []:
            if not isinstance(item, dict):
                continue
            out.append(Entry(kind, item, _importance(kind, item), bool(item.get("reference")), _key(kind, item)))
    out.sort(key=lambda e: -e.importance)
    return out


def digest(flags: list, shown: int = SHOWN) -> list[FlagDigest]:
    """Digests of flags in the given order; an entry already shown in full under an earlier flag
    is referenced instead."""
    seen: dict[str, object] = {}
    out = []
    for f in flags:
        all_entries = entries(f)
        changes = [e for e in all_entries if e.kind != "moved"]
        top = (changes or all_entries)[:shown]
        fd = FlagDigest(f, top)
        for i, e in enumerate(top):
            if e.key in seen and seen[e.key] is not f:
                fd.shown_under[i] = seen[e.key]
            else:
                seen.setdefault(e.key, f)
        fd.rest = _rest([e for e in all_entries if e not in top])
        out.append(fd)
    return out


# --------------------------------------------------------------------------- the digest
def digest_lines(flags: list, *, plain: bool) -> list[str]:
    lines: list[str] = []
    for fd in digest(flags):
        lines += flag_lines(fd, plain=plain)
        lines.append("")
    return lines


def flag_lines(fd: FlagDigest, *, plain: bool, header: bool = True, study: bool = True,
               hint: str | None = None) -> list[str]:
    """The digest block of one flag (without the header line, the claims block and the study's
    claim when the caller prints its own: `header=False`, `study=False`)."""
    f, p = fd.flag, fd.flag.payload or {}
    lines = [head_line(f)] + claim_lines(p.get("claim")) if header else []
    base = p.get("baseline")
    if study and isinstance(base, dict) and base.get("claim"):
        lines.append(f"  study: \"{markup(clip(' '.join(str(base['claim']).split()), 110), keep_newlines=False)}\""
                     + _touches_study(p, base))
    facts = facts_line(p)
    if facts:
        lines.append(f"  facts: {facts}")
    for i, e in enumerate(fd.top):
        lines += _entry_lines(e, plain=plain, under=fd.shown_under.get(i))
    rest = fd.rest
    maybe = [e.item for e in entries(f) if e.kind == "possibly_removed" and e not in fd.top]
    if maybe:
        # Seen the week it happens, but below every content change: one line, not passage by passage.
        since = min(str(it.get("gone_since") or "")[:10] for it in maybe)
        pages = list(dict.fromkeys(str(it.get("url") or "").split("#")[0] for it in maybe))
        lines.append(f"  ? {len(maybe)} possibly removed (404 since {markup(since)}; confirmed on the next crawl) "
                     f"on {_listing(pages, False)}")
        rest = [(k, n) for k, n in rest if k != "possibly_removed"]
    if rest:
        more = ", ".join(_count(kind, n) for kind, n in rest)
        lines.append(f"  [dim]and {markup(more)}{markup(hint if hint is not None else _more_hint(f))}[/]")
    return lines


def claim_lines(claim, *, full: bool = False) -> list[str]:
    """The claims stage's judgement of the cell (payload["claim"]), first in the block: its summary
    line and verdict, then where the docs show it; with `full`, every statement the change moved,
    each with its reason and a citation."""
    if not isinstance(claim, dict):
        return []
    verdict = claim.get("verdict")
    head = claim.get("summary_line") or (f"verdict: {verdict}" if verdict else "the study's claim changed status")
    lines = [f"  [bold yellow]claim:[/] {markup(' '.join(str(head).split()), keep_newlines=False)}"
             + (f" [bold]({markup(verdict)})[/]" if verdict and claim.get("summary_line") else "")]
    shown = [a for a in (claim.get("assertions") or []) if isinstance(a, dict)]
    if not full:
        top = next((p for a in shown for p in (a.get("passages") or [])[:1]), None)
        if top:
            lines.append(f"    [dim]see:[/] {markup(top.get('url'))} ({markup(str(top.get('crawled_at'))[:10])})")
        return lines
    for a in shown[:SHOWN] + [dict(w, status="no longer contradicted") for w in claim.get("withdrawn") or []]:
        lines.append(f"    {markup(clip(' '.join(str(a.get('text')).split()), 140), keep_newlines=False)}"
                     f" [{markup(str(a.get('status')))}]")
        if a.get("reason"):
            lines.append(f"      [dim]why:[/] {markup(clip(' '.join(str(a['reason']).split()), 220), keep_newlines=False)}")
        for p in (a.get("passages") or [])[:2]:
            lines.append(f"      [dim]see:[/] {markup(p.get('url'))} ({markup(str(p.get('crawled_at'))[:10])})")
    return lines


def head_line(f) -> str:
    when = f"run {f.from_run} -> {f.to_run}"
    decided = ""
    if getattr(f, "decision", None):
        d = f.decision
        decided = f" · {markup(d.get('decision'))} by {markup(d.get('reviewer'))} {markup(str(d.get('decided_at'))[:10])}"
    return (f"[bold]{markup(f.id)}[/]  {markup(f.tool)} x {markup(f.criterion)}  "
            f"[bold]{markup(f.kind.replace('_', ' '))}[/] · {markup(f.status)} · {when}{decided}")


def facts_line(p: dict) -> str:
    parts = [f"[green]+{markup(x)}[/]" for x in fact_labels(p.get("facts_gained") or {})]
    parts += [f"[red]-{markup(x)}[/]" for x in fact_labels(p.get("facts_lost") or {})]
    parts += [f"-{markup(x)} (page answered 404 once)" for x in fact_labels(p.get("facts_possibly_lost") or {})]
    return ", ".join(parts)


def _touches_study(p: dict, base: dict) -> str:
    """Where this change moves a fact the study lists, or adds one it does not."""
    gained = {(c, v) for c, vs in (p.get("facts_gained") or {}).items() for v in vs}
    new = {(c, v) for c, vs in (base.get("docs_not_in_baseline") or {}).items() for v in vs} & gained
    lost = {(c, v) for c, vs in (base.get("baseline_lost_in_docs") or {}).items() for v in vs}
    notes = [f"now also {c}: {v} (not in the study)" for c, v in sorted(new)]
    notes += [f"no longer {c}: {v} (the study lists it)" for c, v in sorted(lost)]
    return f" -- [yellow]{markup('; '.join(notes))}[/]" if notes else ""


def _entry_lines(e: Entry, *, plain: bool, under=None) -> list[str]:
    it = e.item
    sign = SIGNS.get(e.kind, "*")
    where = markup(it.get("url") or "", keep_newlines=False)
    if under is not None:
        return [f"  {sign} {where}  [dim]shown under {markup(under.id)} ({markup(under.tool)} x "
                f"{markup(under.criterion)})[/]"]
    label = _label(e)
    heading = markup(" > ".join(map(str, it.get("heading_path") or [])) or "no heading", keep_newlines=False)
    first = f"  {sign} {where}  [dim]{heading}{label}[/]"
    if e.kind == "changed" and isinstance(it.get("diff"), list):
        body = rich_diff_ops(it["diff"], plain=plain, context=DIGEST_CONTEXT, max_changed=DIGEST_CHANGED,
                             max_changes=DIGEST_CHANGES)
    else:
        body = markup(clip(" ".join(strip_boilerplate(str(it.get("text") or "")).split()), DIGEST_CHARS),
                      keep_newlines=False)
        if e.kind in ("removed", "possibly_removed") and not plain:
            body = f"[red]{body}[/]"
        elif e.kind in ("added", "restored") and not plain:
            body = f"[green]{body}[/]"
    return [first, f"      {body}"]


def _label(e: Entry) -> str:
    it = e.item
    parts = []
    if e.kind == "possibly_removed":
        parts.append(f"possibly removed (404 since {str(it.get('gone_since') or '')[:10]}; confirmed on the next crawl)")
    elif e.kind == "removed" and isinstance(it.get("gone"), dict):
        parts.append(f"removed (404 since {str(it['gone'].get('since'))[:10]}, confirmed "
                     f"{str(it['gone'].get('confirmed'))[:10]})")
    elif e.kind == "added":
        parts.append("new passage")
    elif e.kind == "restored":
        parts.append("back after a 404")
    elif e.kind == "moved":
        parts.append(f"moved from {it.get('old_url')}")
    if it.get("tagged") in ("gained", "lost"):
        parts.append("now evidence for this criterion" if it["tagged"] == "gained"
                     else "no longer evidence for this criterion")
        if e.kind == "changed" and not any(isinstance(o, dict) and o.get("op") != "equal" for o in it.get("diff") or []):
            parts.append("no word changed beyond noise")
    if it.get("facts"):
        parts.append(", ".join(map(str, it["facts"])))
    if it.get("cues") or it.get("cues_removed"):
        parts.append("mentions " + ", ".join([f"'{c}'" for c in it.get("cues") or []]
                                             + [f"'{c}' (deleted)" for c in it.get("cues_removed") or []]))
    if e.reference:
        parts.append("reference")
    if e.kind == "changed" and it.get("old_url") and it.get("old_url") != it.get("url"):
        parts.append(f"was {it['old_url']}")
    return markup("; " + "; ".join(parts), keep_newlines=False) if parts else ""


def _rest(rest: list[Entry]) -> list[tuple[str, int]]:
    counts: dict[str, int] = {}
    for e in rest:
        kind = "reference-only" if e.reference and e.kind != "moved" else e.kind
        counts[kind] = counts.get(kind, 0) + 1
    return [(k, counts[k]) for k in ORDER + ("reference-only",) if counts.get(k)]


def _count(kind: str, n: int) -> str:
    if kind == "reference-only":
        return f"{n} reference-only"
    sign = SIGNS[kind] if kind in ("added", "removed", "changed") else ""
    return f"{sign}{n} {kind.replace('_', ' ')}"


def _more_hint(f) -> str:
    return f" (collector review show {f.id} --full)"


def _importance(kind: str, item: dict) -> float:
    if isinstance(item.get("importance"), (int, float)):
        return float(item["importance"])
    # Flags saved before entries carried an importance: the same weighing from what the entry has.
    return importance(kind, reference=bool(item.get("reference")), facts=bool(item.get("facts")),
                      cue_words=item.get("cues") or (), tagged=item.get("tagged"),
                      changed_words=sum(len(str(o.get("text", "")).split()) for o in item.get("diff") or []
                                        if isinstance(o, dict) and o.get("op") != "equal"))


def _key(kind: str, item: dict) -> str:
    return "|".join((kind, str(item.get("url")), str(item.get("old_url") or ""), norm_hash(str(item.get("text") or "")),
                     norm_hash(str(item.get("old_text") or ""))))


# --------------------------------------------------------------------------- --stat and --full
def stat_lines(flags: list) -> list[str]:
    """One line per flag: id, cell, kind, status and the summary counts."""
    width = max((len(f"{f.tool} x {f.criterion}") for f in flags), default=0)
    kind_width = max((len(f.kind) for f in flags), default=0)
    return [f"{markup(f.id)}  {markup(f'{f.tool} x {f.criterion}'.ljust(width))}  "
            f"{markup(f.kind.replace('_', ' ').ljust(kind_width))}  {markup(f.status)}  {markup(f.summary, keep_newlines=False)}"
            for f in flags]


def full_lines(flags: list, *, plain: bool) -> list[str]:
    """Every entry of every flag, most important first, each with its citation and crawl date."""
    lines: list[str] = []
    for f in flags:
        lines.append(head_line(f) + f"  [dim]{markup(f.summary, keep_newlines=False)}[/]")
        p = f.payload or {}
        lines += claim_lines(p.get("claim"), full=True)
        facts = facts_line(p)
        if facts:
            lines.append(f"  facts: {facts}")
        base = p.get("baseline")
        if isinstance(base, dict) and base.get("claim"):
            lines.append(f"  study: \"{markup(clip(' '.join(str(base['claim']).split()), 160), keep_newlines=False)}\""
                         + _touches_study(p, base))
        for e in entries(f):
            it = e.item
            crawled = f"crawled {str(it.get('crawled_at') or '')[:10]}"
            heading = " > ".join(map(str, it.get("heading_path") or [])) or "no heading"
            lines.append(f"  {SIGNS.get(e.kind, '*')} {markup(it.get('url') or '', keep_newlines=False)}  "
                         f"[dim]{markup(heading, keep_newlines=False)}; {markup(crawled)}{_label(e)}[/]")
            if e.kind == "changed" and isinstance(it.get("diff"), list):
                body = rich_diff_ops(it["diff"], plain=plain, context=12, max_changed=80)
            else:
                body = markup(clip(" ".join(strip_boilerplate(str(it.get("text") or "")).split()), TEXT_LIMIT),
                              keep_newlines=False)
            lines.append(f"      {body}")
        lines.append("")
    return lines


# --------------------------------------------------------------------------- around the flags
def compare_lines(result) -> list[str]:
    lines = []
    for criterion, rows in result.compare.items():
        lines.append("")
        lines.append(f"{markup(criterion)}: the same criterion for every tool (latest crawl)")
        for r in rows:
            mark = "flagged" if r["flagged_here"] else ("open flags: %d" % r["open_flags"] if r["open_flags"] else "no open flags")
            lines.append(f"  {markup(r['tool']):<10} run {r['run_id']}  {r['evidence']} passages on {r['pages']} pages  {mark}")
    return lines


def health_lines(result, *, full: bool = False) -> list[str]:
    """Crawl health per tool: site moves, failed, possibly gone and gone pages. The digest lists a
    few pages per line; `full` lists all (--json has every one)."""
    lines = []
    for tool, h in result.crawl_health.items():
        quiet = ", ".join(f"{len(h[k])} {k}" for k in ("skipped", "blocked") if h.get(k))
        quiet = f" ({quiet}; see --json)" if quiet else ""
        head = f"  {markup(tool)} (run {h['run_id']}, {markup(h['status'])}){markup(quiet)}"
        body = []
        for mv in h.get("moved") or []:
            since = f"; old addresses answer 404 since {str(mv.get('since'))[:10]}" if mv.get("since") else ""
            body.append(f"    moved          {mv['pages']} pages moved from {markup(mv['from'])}* to {markup(mv['to'])}*"
                        f"{markup(since)} (their evidence is matched at the new addresses)")
        failed = h.get("failed") or []
        if failed:
            kept = sum(1 for p in failed if p.get("evidence_kept"))
            body.append(f"    failed         {len(failed)} page(s), last good content kept for {kept}: "
                        + _listing([f"{p['url']} ({p.get('reason') or p.get('http_status') or ''})" for p in failed], full))
        maybe = [p for p in h.get("possibly_gone") or [] if not p.get("moved_to")]
        if maybe:
            body.append(f"    possibly gone  {len(maybe)} page(s) answered 404 once (evidence shown as possibly "
                        f"removed; confirmed on the next crawl): " + _listing([p["url"] for p in maybe], full))
        gone = [p for p in h.get("gone") or [] if not p.get("moved_to")]
        if gone:
            body.append(f"    gone           {len(gone)} page(s) answered 404 on two crawls in a row (removed): "
                        + _listing([p["url"] for p in gone], full))
        if not body:
            lines.append(f"{head}: no failed or gone pages")
        else:
            lines += [f"{head}:"] + body
    return lines


def emit(console, render: Callable[[], None], *, page: Callable[[str], None] | None = None) -> None:
    """Print what `render()` prints on `console`. When the console writes to a terminal and the
    text is taller than the screen, it goes through a pager instead (click.echo_via_pager: `less
    -R`, colours kept). Output that is piped or redirected is never paged."""
    if not is_terminal(console):
        render()
        return
    with console.capture() as captured:
        render()
    text = captured.get()
    if text.count("\n") > console.size.height - 2:
        if page is None:
            import click

            page = click.echo_via_pager
        page(text)
    else:
        console.file.write(text)
        console.file.flush()


def is_terminal(console) -> bool:
    """Does the console write to a terminal? (The file itself: FORCE_COLOR does not make a pipe one.)"""
    isatty = getattr(console.file, "isatty", None)
    return bool(isatty and isatty())


def _listing(urls: list[str], full: bool) -> str:
    shown = urls if full else urls[:LISTED]
    more = f" (+{len(urls) - len(shown)} more, --full)" if len(urls) > len(shown) else ""
    return markup(", ".join(shown) + more, keep_newlines=False)
