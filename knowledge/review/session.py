"""The interactive review loop and the terminal view of one flag.

The loop takes a key-reading function, a line-reading function and a rich Console, so it runs the
same in a terminal (single keystrokes), from a script (one key per line on stdin) and in tests.

What a flag looks like: the digest `collector diff` prints (knowledge.diff.render): the cell, what
changed, the study's claim, facts gained and lost, the three most important changed passages with
the changed words marked, and a count of the rest; a passage already shown under an earlier flag of
the queue is referenced. [e]xpand shows every passage of the flag (through a pager on a terminal).

Order and resuming: flags come most important first (see review.queue). Every decision is stored
the moment the key is pressed, so quitting (or Ctrl-C) loses nothing and the next session starts at
the first undecided flag. [s]kip moves a flag to the end of this session's queue; skipped a second
time, it is left for next time (where it is in its normal place again). [u]ncertain flags come back
after all open flags. [b]ack shows the previous flag again so its decision can be changed (the
change is a new decision; the old one stays in the history).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

from rich.console import Console

from knowledge.diff.render import FlagDigest, claim_lines, digest, emit, flag_lines
from knowledge.review.highlight import CONTEXT_WORDS, clip, fact_labels, markup, rich_diff_ops, rich_word_diff
from knowledge.review.decisions import PENDING, ReviewFlag, decide, describe, get_flag
from knowledge.textsafe import safe

KEYS = {
    "a": "accept: the new evidence is right; it becomes the reviewed state of this cell",
    "d": "dismiss: seen, not relevant; not flagged again unless the evidence changes again",
    "u": "uncertain: needs a second look; stays in the queue after the open flags",
    "n": "note: add a line of text to this flag (status unchanged)",
    "e": "expand: every passage of this flag, in full (through a pager on a terminal)",
    "s": "skip: decide later (comes back at the end of this session, or next time)",
    "b": "back: show the previous flag again (to change its decision)",
    "q": "quit: everything decided so far is saved; `collector review` resumes here",
    "?": "help: this list",
}
PROMPT = "\\[a]ccept \\[d]ismiss \\[u]ncertain \\[n]ote \\[e]xpand \\[s]kip \\[b]ack \\[q]uit \\[?]help"   # rich markup
DECISION_KEYS = {"a": "accepted", "d": "dismissed", "u": "uncertain"}
MAX_PASSAGES = 8   # per section; `collector review show ID --full` shows them all
MAX_CHARS = 600    # of an added/removed/moved passage; the word diff of a changed one keeps context only


@dataclass
class SessionResult:
    decided: dict[str, str] = field(default_factory=dict)   # flag id -> last decision this session
    notes: int = 0
    skipped: list[str] = field(default_factory=list)        # left for next time
    elsewhere: list[str] = field(default_factory=list)      # decided by someone else meanwhile
    remaining: int = 0                                      # still open or uncertain at the end
    quit: bool = False


def run_session(store, flags: list[ReviewFlag], *, read_key: Callable[[], str],
                read_line: Callable[[str], str], console: Console, reviewer: str,
                page: Callable[[str], None] | None = None) -> SessionResult:
    """Walk the queue. `read_key()` returns one key ('' at end of input = quit);
    `read_line(prompt)` returns a line of text for notes; `page(text)` shows long text on a terminal
    (default: click.echo_via_pager)."""
    result = SessionResult()
    order = list(flags)
    digests = {id(fd.flag): fd for fd in digest(order)}     # shared passages: in full once, in queue order
    skipped_once: set[str] = set()
    i = 0
    if not order:
        console.print("Nothing to review: no open flags. Run `collector diff` after a new crawl.")
        return result
    uncertain = sum(f.status == "uncertain" for f in order)
    console.print(f"{len(order)} flag(s) to review" + (f" ({uncertain} marked uncertain earlier, at the end)"
                                                      if uncertain else "") + ". Press ? for help.")
    shown = None
    while i < len(order):
        flag = order[i]
        if shown != (i, flag.id):        # help, notes and unknown keys keep the flag on screen
            status = get_flag(store, flag.id).status
            if flag.id not in result.decided and flag.id not in result.elsewhere and status not in PENDING:
                # Someone else (another terminal, a script) decided it, or a new diff superseded it.
                console.print(f"Flag {markup(flag.id)} is {markup(status)} meanwhile; moving on.")
                result.elsewhere.append(flag.id)
                i += 1
                continue
            emit(console, lambda: render_digest(console, store, digests[id(flag)], position=i + 1,
                                                 total=len(order)), page=page)
            shown = (i, flag.id)
        while True:
            console.print(f"[bold]{PROMPT}[/] ", end="")
            key = (read_key() or "q").strip()[:1].lower() or "?"
            console.print(markup(key))
            if key in KEYS:
                break
            console.print(f"Unknown key {markup(key)!s}. Press ? for help.")
        if key == "?":
            _help(console)
        elif key == "e":
            emit(console, lambda: render_flag(console, store, flag.id, position=i + 1, total=len(order), full=True),
                 page=page)
        elif key in DECISION_KEYS:
            note = None
            if key == "a" and ((flag.payload or {}).get("claim") or {}).get("verdict") == "stale":
                # Accepting a stale verdict: what the docs say now becomes the cell's finding.
                note = (read_line("The cell's new finding, in one line (what holds now; Enter: none): ")
                        or "").strip() or None
            decide(store, flag.id, DECISION_KEYS[key], note=note, reviewer=reviewer)
            result.decided[flag.id] = DECISION_KEYS[key]
            console.print(f"[green]Saved:[/] {DECISION_KEYS[key]} ({markup(flag.tool)} x {markup(flag.criterion)}).")
            i += 1
        elif key == "n":
            text = (read_line("Note (one line, empty to cancel): ") or "").strip()
            if text:
                decide(store, flag.id, "note", note=text, reviewer=reviewer)
                result.notes += 1
                console.print("[green]Note saved.[/] Now decide, or press s to skip.")
            else:
                console.print("No note saved.")
        elif key == "s":
            if flag.id in skipped_once:
                result.skipped.append(flag.id)
                console.print("Skipped again: left for next time.")
                i += 1
            else:
                skipped_once.add(flag.id)
                order.append(order.pop(i))
                console.print("Skipped: it comes back at the end of this session.")
        elif key == "b":
            if i == 0:
                console.print("This is the first flag of the session.")
            else:
                i -= 1
        elif key == "q":
            result.quit = True
            break
    result.remaining = sum(get_flag(store, f.id).status in PENDING for f in flags)
    _summary(console, result)
    return result


def _help(console: Console) -> None:
    for key, text in KEYS.items():
        console.print(f"  [bold]{markup(key)}[/]  {markup(text)}")


def _summary(console: Console, result: SessionResult) -> None:
    counts: dict[str, int] = {}
    for d in result.decided.values():
        counts[d] = counts.get(d, 0) + 1
    done = ", ".join(f"{n} {d}" for d, n in sorted(counts.items())) or "no decisions"
    console.print(f"\nThis session: {done}; {result.notes} note(s). "
                  f"{result.remaining} flag(s) still waiting for review.")
    if result.remaining:
        console.print("Run `collector review` to continue where you stopped.")


# --------------------------------------------------------------------------- one flag
def render_flag(console: Console, store, flag_id: str, *, position: int | None = None,
                total: int | None = None, full: bool = False) -> None:
    """The terminal view of one flag; every scraped string is sanitised and markup-escaped.
    Long flags are shortened (passages per section, unchanged context, long passages) unless `full`."""
    info = describe(store, flag_id)
    flag, crit, base, runs = info["flag"], info["criterion"], info["baseline"], info["runs"]
    where = f"{position}/{total} · " if position else ""
    console.rule(f"{where}flag {markup(flag['id'])} · rank {flag['rank']} · {markup(flag['kind'])} · {markup(flag['status'])}")
    console.print(f"[bold]{markup(flag['tool'])} x {markup(crit['title'])}[/] ({markup(crit['id'])})")
    if crit["question"]:
        console.print(f"  [italic]{markup(crit['question'])}[/]")
    for line in claim_lines((flag.get("payload") or {}).get("claim"), full=True):
        console.print(line)
    console.print(f"[bold]What changed:[/] {markup(flag['summary'])}")
    console.print(f"[bold]Compared:[/] {_run_label(runs['from_run'], 'last reviewed')} -> {_run_label(runs['to_run'], 'new')}")
    if base:
        status = f" [dim]({markup(base.get('status'))})[/]" if base.get("status") else ""
        console.print(f"[bold]The study says{status}:[/] {markup(base.get('claim') or '')}")
        for c in base.get("citations") or []:
            console.print(f"    [dim]{markup(c)}[/]")
    else:
        console.print("[bold]The study says:[/] [dim](nothing for this cell)[/]")
    payload = flag["payload"] or {}
    against = payload.get("baseline") if isinstance(payload.get("baseline"), dict) else {}
    for label, key in (("Documented now, not in the study", "docs_not_in_baseline"),
                       ("In the study, gone from the docs", "baseline_lost_in_docs")):
        facts = fact_labels(against.get(key))
        if facts:
            console.print(f"[bold yellow]{label}:[/] " + ", ".join(markup(f) for f in facts))
    _passages(console, "Changed", payload.get("changed"), "changed", full, info["terms"])
    _passages(console, "Added", payload.get("added"), "added", full, info["terms"])
    _passages(console, "Removed", payload.get("removed"), "removed", full, info["terms"])
    _passages(console, "Possibly removed (the page answered 404 once; confirmed on the next crawl)",
              payload.get("possibly_removed"), "possibly_removed", full, info["terms"])
    _passages(console, "Restored (the page answers again after a 404)", payload.get("restored"), "added", full,
              info["terms"])
    _passages(console, "Moved", payload.get("moved"), "moved", full, info["terms"])
    for label, key, style, sign in (("Facts gained", "facts_gained", "green", "+"), ("Facts lost", "facts_lost", "red", "-"),
                                    ("Facts only a 404-once page still states", "facts_possibly_lost", "yellow", "-")):
        facts = fact_labels(payload.get(key))
        if facts:
            console.print(f"[bold]{label}:[/] " + ", ".join(f"[{style}]{sign} {markup(f)}[/]" for f in facts))
    if payload.get("cues"):
        console.print(f"[bold]Capability words:[/] {markup(', '.join(map(str, payload['cues'])))}")
    for d in info["decisions"]:
        note = f": {markup(d['note'])}" if d.get("note") else ""
        console.print(f"[dim]Earlier: {markup(d['decided_at'])} {markup(d['reviewer'])} {markup(d['decision'])}{note}[/]")


def render_digest(console: Console, store, fd: FlagDigest, *, position: int | None = None,
                  total: int | None = None) -> None:
    """The digest of one flag, as `collector diff` prints it, under the cell's question, the crawls
    compared and the study's claim; [e]xpand shows the rest (render_flag with full=True)."""
    info = describe(store, fd.flag.id)
    flag, crit, base, runs = info["flag"], info["criterion"], info["baseline"], info["runs"]
    where = f"{position}/{total} · " if position else ""
    console.rule(f"{where}flag {markup(flag['id'])} · rank {flag['rank']} · {markup(flag['kind'])} · {markup(flag['status'])}")
    console.print(f"[bold]{markup(flag['tool'])} x {markup(crit['title'])}[/] ({markup(crit['id'])})")
    if crit["question"]:
        console.print(f"  [italic]{markup(crit['question'])}[/]")
    for line in claim_lines((flag.get("payload") or {}).get("claim"), full=True):   # a claim's status changed: first
        console.print(line)
    console.print(f"[bold]What changed:[/] {markup(flag['summary'])}")
    console.print(f"[bold]Compared:[/] {_run_label(runs['from_run'], 'last reviewed')} -> {_run_label(runs['to_run'], 'new')}")
    if base:
        status = f" [dim]({markup(base.get('status'))})[/]" if base.get("status") else ""
        console.print(f"[bold]The study says{status}:[/] {markup(base.get('claim') or '')}")
    else:
        console.print("[bold]The study says:[/] [dim](nothing for this cell)[/]")
    plain = console.color_system is None or console.no_color   # NO_COLOR on a terminal: markers, not styles
    for line in flag_lines(fd, plain=plain, header=False, study=False, hint=" -- press e to expand"):
        console.print(line)
    for d in info["decisions"]:
        note = f": {markup(d['note'])}" if d.get("note") else ""
        console.print(f"[dim]Earlier: {markup(d['decided_at'])} {markup(d['reviewer'])} {markup(d['decision'])}{note}[/]")


def _run_label(run: dict | None, what: str) -> str:
    if not run:
        return f"[dim]no {what} crawl[/]"
    return f"run {run['id']} ({markup(str(run['started_at'])[:10])})"


def _place(url: str) -> str:
    """Path and section of a citation: a mirror (another origin) serving the same page is no move."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}#{parts.fragment}"


def _passages(console: Console, title: str, items, kind: str, full: bool = False,
              terms_by_url: dict | None = None) -> None:
    items = [p for p in (items or []) if isinstance(p, dict)]
    if not items:
        return
    plain = console.color_system is None or console.no_color   # no colours (a pipe, NO_COLOR): mark changes in text
    context, chars, shown = (None, None, items) if full else (CONTEXT_WORDS, MAX_CHARS, items[:MAX_PASSAGES])
    console.print(f"[bold]{title} passages ({len(items)}):[/]")
    for p in shown:
        heading = p.get("heading_path") or []
        heading = " > ".join(map(str, heading)) if isinstance(heading, (list, tuple)) else str(heading)
        crawled = f" · crawled {markup(str(p.get('crawled_at'))[:10])}" if p.get("crawled_at") else ""
        if p.get("old_crawled_at") and str(p["old_crawled_at"])[:10] != str(p.get("crawled_at"))[:10]:
            crawled += f" (before: {markup(str(p['old_crawled_at'])[:10])})"
        cite = markup(p.get("url") or "", keep_newlines=False)
        console.print(f"  [cyan]{cite}[/]{crawled}")
        if kind in ("moved", "changed") and p.get("old_url") and _place(p["old_url"]) != _place(p.get("url") or ""):
            console.print(f"    [dim]was at {markup(p['old_url'], keep_newlines=False)}[/]")
        if heading:
            console.print(f"    [dim]{markup(heading, keep_newlines=False)}[/]")
        if kind == "changed" and isinstance(p.get("diff"), list) and p["diff"]:
            body = rich_diff_ops(p["diff"], plain=plain, context=context)
        elif kind == "changed" and p.get("old_text") is not None:
            body = rich_word_diff(p.get("old_text") or "", p.get("text") or "", plain=plain, context=context)
        elif kind == "added":
            body = f"[green]+ {markup(clip(safe(p.get('text') or ''), chars))}[/]"
        elif kind in ("removed", "possibly_removed"):
            if p.get("gone_since"):
                console.print(f"    [dim]404 since {markup(str(p['gone_since'])[:10])}[/]")
            body = f"[red]- [strike]{markup(clip(safe(p.get('text') or ''), chars))}[/strike][/]"
        else:
            body = markup(clip(safe(p.get("text") or ""), chars))
        console.print(f"    {body}")
        terms = p.get("terms") or (terms_by_url or {}).get(p.get("url") or "") or []
        if terms:
            console.print(f"    [dim]matched: {markup(', '.join(map(str, terms)), keep_newlines=False)}[/]")
    if len(items) > len(shown):
        console.print(f"  … and {len(items) - len(shown)} more (`collector review show ID --full` shows all).")
