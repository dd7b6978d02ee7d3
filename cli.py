"""`collector`: keep a comparison of MLOps tools current from their documentation.

This module stays thin: each command parses its options, calls one library function and renders
the result. Domain errors (knowledge.errors) become a one-line message and an exit code in one
place, `_errors_to_exit_codes`. Data goes to stdout, messages to stderr.
"""
from __future__ import annotations

import functools
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Annotated, Callable, Optional

import click
import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from knowledge.errors import CollectorError
from knowledge.textsafe import safe, safe_obj

# Piped output (logs, schedulers, files) is not squeezed to 80 columns; a terminal sets its own width.
_WIDTH = None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 160
out = Console(highlight=False, soft_wrap=True, width=_WIDTH)   # data
err = Console(stderr=True, highlight=False, soft_wrap=True, width=_WIDTH)  # messages, progress

app = typer.Typer(
    name="collector",
    help="Keep a comparison of MLOps tools (Metaflow, MLflow, DVC, ...) current: crawl their docs, "
         "tag evidence per checklist criterion, diff it against the last review, review it, report it.\n\n"
         "Weekly loop: `collector crawl` -> `collector diff` -> `collector review` -> `collector report`. "
         "Try `collector demo` first: it runs the whole loop offline on bundled sample sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _readable_help() -> None:
    """Typer prints every parameter's Python type next to it (<str>, <list[str]>, <bool>) and wraps a
    required argument in braces ({tool}): noise to a reader, who wants TOOL, N, FILE - or nothing for a
    flag. Show the parameter's metavar instead (given below, else derived from its name and type).
    A Typer without these hooks keeps its own display."""
    core = typer.core
    if not all(hasattr(core, c) for c in ("TyperOption", "TyperArgument")) or \
            not hasattr(core.TyperArgument, "_usage_display_name"):
        return

    typer_display = core.TyperOption.display_type_rich

    def option_type(self, ctx=None):
        try:
            if getattr(self, "is_flag", False) or getattr(self, "count", False):
                return None
            if self.metavar:
                return self.metavar
            shown = self.display_type(ctx) or ""       # Typer's own "<int>", "<path>", "<list[str]>"
            return "N" if "int" in shown else "FILE" if "path" in shown else (self.name or "value").upper()
        except Exception:   # a Typer whose internals moved: its own display rather than none
            return typer_display(self, ctx=ctx)

    def argument_usage(self) -> str:
        name = self.metavar or (self.name or "").upper()
        return (name if self.required else f"[{name}]") + ("..." if self.nargs != 1 else "")

    core.TyperOption.display_type_rich = option_type
    core.TyperArgument.display_type_rich = lambda self, ctx=None: None
    core.TyperArgument._usage_display_name = argument_usage


_readable_help()

# Exit codes, as git has them: 1 is only "differences found" (`diff --exit-code`: flags wait for
# review); a failure is never 1. Documented in README.md and docs/scheduling.md.
EXIT_FAILED = 3        # the job failed: site unreachable, store unusable, a bug (CollectorError.exit_code)
EXIT_INTERRUPTED = 130
EXIT_BROKEN_PIPE = 141  # the reader of our output went away (`collector diff | head`): 128 + SIGPIPE


def _quiet_broken_pipe() -> None:
    """The output's reader closed the pipe: say nothing more, and keep Python from complaining when it
    flushes stdout at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _errors_to_exit_codes(func: Callable) -> Callable:
    """The one place where domain errors become exit codes (2 usage, 3 failure; 1 is reserved for
    `diff --exit-code`: flags wait for review)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (typer.Exit, typer.Abort, click.exceptions.ClickException):
            raise  # the command chose its exit code itself
        except CollectorError as exc:
            err.print(Text.assemble(("Error: ", "bold red"), safe(exc.message)), soft_wrap=True)
            if exc.hint:
                err.print(safe(exc.hint), markup=False, soft_wrap=True)
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("Interrupted. Everything finished so far is saved.")
            raise typer.Exit(code=EXIT_INTERRUPTED) from None
        except BrokenPipeError:
            _quiet_broken_pipe()
            raise typer.Exit(code=EXIT_BROKEN_PIPE) from None
        except sqlite3.DatabaseError as exc:
            from knowledge.store import default_db_path, write_failure

            path = kwargs.get("db") or default_db_path()
            if write_failure(exc):   # disk full, I/O error, read-only: say so in plain words
                from knowledge.store import explain

                failure = explain(path, exc)
                err.print(Text.assemble(("Error: ", "bold red"), safe(failure.message)), soft_wrap=True)
                err.print(safe(failure.hint), markup=False, soft_wrap=True)
                raise typer.Exit(code=EXIT_FAILED) from None
            err.print(f"Error: the knowledge store {path} failed: {exc}.", markup=False)
            err.print("If the file is damaged, move it aside and crawl again (or pass --db PATH to another "
                      "store).", markup=False)
            raise typer.Exit(code=EXIT_FAILED) from None
        except OSError as exc:
            err.print(f"Error: {safe(exc)}", markup=False)
            raise typer.Exit(code=EXIT_FAILED) from None
        except Exception as exc:  # a bug: say so plainly; COLLECTOR_DEBUG=1 shows the traceback
            if os.environ.get("COLLECTOR_DEBUG"):
                raise
            err.print(f"Internal error: {type(exc).__name__}: {safe(exc)}", markup=False)
            err.print("This is a bug in collector. Re-run with COLLECTOR_DEBUG=1 for details and report it.",
                      markup=False)
            raise typer.Exit(code=EXIT_FAILED) from None

    return wrapper


def command(typer_app: typer.Typer = app, *args, **kwargs):
    """`@command()` registers a CLI command wrapped by the error handler."""

    def decorator(func: Callable) -> Callable:
        return typer_app.command(*args, **kwargs)(_errors_to_exit_codes(func))

    return decorator


# ----------------------------------------------------------------------------- paths
def _absolute(value: Optional[Path]) -> Optional[Path]:
    """A relative path means the user's working directory: made absolute here, once, before a
    library or the crawler subprocess (which runs in another directory) sees it."""
    return None if value is None else Path(os.path.abspath(value.expanduser()))


@app.callback()
def _resolve_environment() -> None:
    from knowledge.store import ENV_VAR

    if os.environ.get(ENV_VAR):   # what every later default_db_path() (and any subprocess) reads
        os.environ[ENV_VAR] = str(_absolute(Path(os.environ[ENV_VAR])))


# ----------------------------------------------------------------------------- shared options
_DB_HELP = "Knowledge store (SQLite file). Default: $COLLECTOR_DB, else collector.sqlite in your user data folder."
_SOURCES_HELP = ("Your own sources file (TOML, same format as the built-in one) to add tools or follow a site "
                 "that moved.")
DbOpt = Annotated[Optional[Path], typer.Option("--db", help=_DB_HELP, show_default=False, callback=_absolute)]
SourcesOpt = Annotated[Optional[Path], typer.Option("--sources", help=_SOURCES_HELP, show_default=False,
                                                    callback=_absolute)]
# `collector schedule` writes paths into a job file: kept as typed (relative = the job's folder in CI).
AsTypedDbOpt = Annotated[Optional[Path], typer.Option("--db", help=_DB_HELP, show_default=False)]
AsTypedSourcesOpt = Annotated[Optional[Path], typer.Option("--sources", help=_SOURCES_HELP, show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print data as JSON for scripts.")]


def print_json(data) -> None:
    sys.stdout.write(json.dumps(safe_obj(data), indent=2, ensure_ascii=False, default=str) + "\n")


# Columns whose values are copied into the next command (flag ids, run ids): never wrapped.
WHOLE_COLUMNS = frozenset(("flag", "id", "run"))


def print_table(title: str | None, columns: list[str], rows: list[list], *, console: Console = out) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="fold", no_wrap=c in WHOLE_COLUMNS)
    for r in rows:   # cells hold scraped text: Text, so a "[link=...]" in a heading id stays text
        table.add_row(*[Text(safe("" if v is None else v)) for v in r])
    console.print(table)


# ----------------------------------------------------------------------------- data listings
@command(name="sources")
def sources_cmd(
    sources: SourcesOpt = None, json_out: JsonOpt = False,
    cited: Annotated[bool, typer.Option(
        "--cited", help="The study's cited pages instead: as the latest crawl found each one - fetched, "
                        "redirected (to where), gone - and whether the cited #section is still there.")] = False,
    db: DbOpt = None,
) -> None:
    """List the documentation sources (tools) collector knows, with their roots and scope."""
    from knowledge.domain.sources import load_sources

    if cited:
        return _cited_table(load_sources(sources), db, json_out)
    data = [s.to_dict() for s in load_sources(sources).values()]
    if json_out:
        return print_json(data)
    print_table("Documentation sources", ["tool", "name", "roots", "in scope", "max pages"],
                [[d["tool"], d["name"], "\n".join(d["roots"]), "\n".join(d["allow"]), str(d["max_pages"])]
                 for d in data])


def _cited_table(sources: dict, db: Optional[Path], json_out: bool) -> None:
    from knowledge.evidence.site import all_cited
    from knowledge.store import default_db_path

    path = db or default_db_path()
    srcs = {t: s.to_dict() for t, s in sources.items()}
    if Path(path).exists():
        with _open_store(path) as store:
            rows = all_cited(store, srcs)
    else:
        rows = all_cited(None, srcs)
    if json_out:
        return print_json(rows)
    section = {True: "found", False: "missing", None: "-"}
    print_table("The study's cited pages (as the latest crawl of each tool found them)",
                ["tool", "cited", "status", "now at", "#section", "checked"],
                [[r["tool"], r["url"], r["status"], r["final_url"] or "", section[r["anchor_found"]]
                  if "#" in r["url"] and r["status"] in ("fetched", "redirected") else "-",
                  _when(r["checked_at"]) or (r["reason"] or "")] for r in rows])
    if any(r["status"] == "unchecked" for r in rows):
        err.print("Citations marked unchecked are checked by the next `collector crawl` of their tool "
                  "(a crawl of a mirror with --base-url checks only those on the mirrored site).", markup=False)


@command(name="criteria")
def criteria_cmd(json_out: JsonOpt = False) -> None:
    """List the 15 checklist criteria of the study, with their ids, questions and sub-factors."""
    from knowledge.domain.checklist import load_checklist

    data = [c.__dict__ for c in load_checklist()]
    if json_out:
        return print_json(data)
    print_table("Comparison checklist", ["id", "criterion", "question", "sub-factors"],
                [[d["id"], d["title"], d["question"], ", ".join(d["sub_factors"])] for d in data])


# ----------------------------------------------------------------------------- crawl
_CRAWL_COLUMNS = ["tool", "run", "status", "fetched", "not modified", "new", "changed", "unchanged",
                  "failed", "gone", "skipped", "seconds"]


def _crawl_progress():
    """A rich progress display on stderr (one line per tool) and the callback that feeds it."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), console=err, transient=False)
    tasks: dict[str, int] = {}
    counts: dict[str, dict[str, int]] = {}

    def on_event(event: dict) -> None:
        kind, tool = event.get("event"), event.get("tool")
        if not bar.live.is_started:  # shown from the first event, so early errors print cleanly
            bar.start()
        if kind == "start":
            counts[tool] = {}
            tasks[tool] = bar.add_task(f"{safe(tool)} (run {event['run']})", total=None, info="starting")
        elif kind == "page" and tool in tasks:
            c = counts[tool]
            c[event["outcome"]] = c.get(event["outcome"], 0) + 1
            done = c.get("fetched", 0) + c.get("not_modified", 0)
            info = f"{done} pages" + "".join(f", {n} {k.replace('_', ' ')}" for k, n in sorted(c.items())
                                             if k not in ("fetched", "not_modified"))
            bar.update(tasks[tool], advance=1, info=info)
        elif kind == "note":   # e.g. a capped Crawl-delay: worth knowing, not a failure
            bar.console.print(Text.assemble(("Note: ", "yellow"), safe(f"{tool}: {event.get('message')}")))
        elif kind == "end" and tool in tasks:
            bar.update(tasks[tool], total=1, completed=1, info=f"{event['status']}")
        elif kind == "evidence":
            if "evidence" not in tasks:
                tasks["evidence"] = bar.add_task("evidence", total=event.get("total"), info="building")
            bar.update(tasks["evidence"], completed=event.get("done", 0), total=event.get("total"),
                       info=f"{event.get('done', 0)}/{event.get('total') or '?'} pages")

    return bar, on_event


@command(name="crawl")
def crawl_cmd(
    tools: Annotated[Optional[list[str]], typer.Argument(
        help="Tools to crawl (default: all sources). See `collector sources`.", metavar="TOOL",
        show_default=False)] = None,
    base_url: Annotated[Optional[list[str]], typer.Option(
        "--base-url", help="TOOL=ORIGIN: crawl a mirror of that tool's site (same paths), e.g. "
                           "metaflow=http://127.0.0.1:8001. Repeatable.", metavar="TOOL=ORIGIN",
        show_default=False)] = None,
    sources: SourcesOpt = None,
    max_pages: Annotated[Optional[int], typer.Option(
        "--max-pages", help="Page limit per tool for this crawl (default: each source's max_pages).",
        metavar="N", show_default=False)] = None,
    db: DbOpt = None,
    wait: Annotated[bool, typer.Option(
        "--wait", help="If another crawl holds the store, wait for it instead of stopping.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Crawl the tools' documentation sites into the store (politely, incrementally), then build the
    evidence of the new crawl. Unchanged pages cost a 304 and are not downloaded again."""
    from knowledge.ops.crawl import run_crawl

    bar, on_event = _crawl_progress()
    try:
        result = run_crawl(tools, base_urls=base_url, sources_file=sources, max_pages=max_pages, db=db,
                           wait=wait, progress=on_event)
    finally:
        if bar.live.is_started:
            bar.stop()
    runs = result["runs"]
    if json_out:
        print_json(result)
    else:
        print_table(f"Crawl into {result['db']}", _CRAWL_COLUMNS, [
            [r["tool"], str(r["run"]), r["status"]] + [str(r["stats"].get(k, 0)) for k in (
                "fetched", "not_modified", "new", "changed", "unchanged", "failed", "gone", "skipped")]
            + [str(r["stats"].get("seconds", ""))] for r in runs])
    for r in runs:   # notes and messages quote URLs and server answers: Text, never markup
        for note in r.get("notes") or ():
            err.print(f"Note: {safe(r['tool'])}: {safe(note, keep_newlines=False)}", markup=False, highlight=False)
        if r["status"] != "complete" and r["message"]:
            level = ("Error: ", "bold red") if r["status"] in ("failed", "interrupted") else ("Note: ", "yellow")
            err.print(Text.assemble(level, safe(f"{r['tool']}: {r['message']}", keep_newlines=False)))
    if result.get("evidence_error"):
        err.print(Text.assemble(("Error: ", "bold red"), "the crawl is saved, but building its evidence failed (",
                                safe(result["evidence_error"], keep_newlines=False),
                                "). Run `collector evidence TOOL` to retry."))
    if result.get("evidence_error") or any(r["status"] in ("failed", "interrupted") for r in runs):
        raise typer.Exit(code=EXIT_FAILED)


def _when(stamp: str | None) -> str:
    return (stamp or "").replace("T", " ").replace("Z", "")


@command(name="runs")
def runs_cmd(
    tool: Annotated[Optional[str], typer.Argument(help="Only this tool's crawls.", metavar="TOOL",
                                                  show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", help="How many crawls to list, newest first.", metavar="N")] = 20,
    json_out: JsonOpt = False,
    db: DbOpt = None,
) -> None:
    """List the crawl history: each run's tool, status, times, page counts and origin."""
    from knowledge.ops.crawl import list_runs

    runs = list_runs(tool, limit=limit, db=db)
    if json_out:
        return print_json(runs)
    if not runs:
        err.print("No crawls yet. Run `collector crawl` first.")
        return
    print_table("Crawl history (times in UTC)", ["id", "tool", "status", "started", "finished", "fetched", "not modified",
                                  "changed", "new", "failed", "gone", "origin"],
                [[str(r["id"]), r["tool"], r["status"], _when(r["started"]), _when(r["finished"])]
                 + [str(r["stats"].get(k, "")) for k in ("fetched", "not_modified", "changed", "new", "failed", "gone")]
                 + [r["origin"] or "(live site)"] for r in runs])


# ----------------------------------------------------------------------------- evidence
def _open_store(db: Optional[Path], create: bool = False):
    from knowledge.store import Store

    return Store.open(db, create=create)


def _tool_names(sources: Optional[Path] = None, db: Optional[Path] = None) -> list[str]:
    """The sources file's tools, then any other tool the store has crawled (a tool added with
    --sources is remembered with its crawls: later commands need no --sources)."""
    from knowledge.domain.sources import load_sources

    names = list(load_sources(sources))
    return names + [t for t in _stored_sources(db) if t not in names]


def _stored_sources(db: Optional[Path]) -> dict[str, dict]:
    from knowledge.evidence.site import stored_sources
    from knowledge.store import default_db_path

    path = db or default_db_path()
    if not Path(path).exists():
        return {}
    with _open_store(path) as store:
        return stored_sources(store)


def _check_tool(tool: str, sources: Optional[Path] = None, db: Optional[Path] = None) -> str:
    from knowledge.errors import unknown_name

    name = tool.strip().lower()
    names = _tool_names(sources, db)
    if name not in names:
        raise unknown_name("tool", tool, names)
    return name


@command(name="extract")
def extract_cmd(
    page: Annotated[Optional[str], typer.Option(
        "--page", help="Run the extractor on one page (a saved HTML file or an http(s) URL) and print "
                       "passages, criterion tags and facts. Writes nothing.", metavar="FILE|URL",
        show_default=False)] = None,
    tool: Annotated[Optional[str], typer.Option(
        "--tool", help="With --page: use this tool's content selectors (else a generic fallback).")] = None,
    run: Annotated[Optional[list[int]], typer.Option(
        "--run", help="Rebuild evidence for this crawl run (repeatable). Default: every stored run.",
        metavar="RUN", show_default=False)] = None,
    force: Annotated[bool, typer.Option(
        "--force", help="Re-extract pages even when evidence for the current rules is cached.")] = False,
    db: DbOpt = None, sources: SourcesOpt = None, json_out: JsonOpt = False,
) -> None:
    """(Re)build evidence (passages, criterion tags, facts) from stored pages, or try the rules on one page.

    Evidence is rebuilt from the pages already in the store, never by re-crawling; `collector crawl`
    does this automatically for the crawl it just made.
    """
    from knowledge.evidence import build as evidence

    if page:
        source = None
        if tool:
            from knowledge.domain.sources import load_sources

            name, known = _check_tool(tool, sources, db), load_sources(sources)
            source = known[name].to_dict() if name in known else _stored_sources(db)[name]
        result = evidence.extract_page(page, source)
        if json_out:
            return print_json(result)
        out.print(f"{safe(result['url'])}  (rules {result['rules_version']}, "
                  f"{len(result['passages'])} passages)", markup=False)
        for p in result["passages"]:
            tags = ", ".join(f"{t['criterion']} {t['score']:.2f} [{'; '.join(t['terms'])}]" for t in p["tags"])
            facts = ", ".join(f"{f['category']}={f['value']}" for f in p["facts"])
            out.print(f"\n#{safe(p['url'].rsplit('#', 1)[-1])}  {safe(' > '.join(p['heading_path']))}", markup=False)
            out.print(f"  tags: {safe(tags) or '-'}", markup=False)
            if facts:
                out.print(f"  facts: {safe(facts)}", markup=False)
            out.print("  " + safe(p["text"][:300]).replace("\n", " ") + ("..." if len(p["text"]) > 300 else ""),
                      markup=False)
        return
    with _open_store(db) as store:
        with store.write_lock("an evidence rebuild"):
            with err.status("Extracting evidence...") as status:
                stats = evidence.rebuild(store, run, force=force,
                                         progress=lambda i, n: status.update(f"Extracting evidence: page {i}/{n}"))
    if json_out:
        return print_json(stats)
    err.print(f"Evidence ready for runs {', '.join(map(str, stats['runs'])) or '(none)'}: {stats['pages']} pages, "
              f"{stats['extracted']} extracted, {stats['cached']} cached, {stats['errors']} unreadable.")


@command(name="evidence")
def evidence_cmd(
    tool: Annotated[str, typer.Argument(help="Tool name (see `collector sources`).", metavar="TOOL")],
    criterion: Annotated[Optional[str], typer.Argument(help="Criterion id (see `collector criteria`). Default: all.",
                                                       metavar="CRITERION", show_default=False)] = None,
    run: Annotated[Optional[int], typer.Option("--run", help="Crawl run id (default: the tool's latest complete crawl).",
                                               metavar="RUN", show_default=False)] = None,
    limit: Annotated[int, typer.Option("--limit", help="Passages shown per criterion in the table view (0 = all).")] = 5,
    db: DbOpt = None, json_out: JsonOpt = False,
) -> None:
    """Show the current evidence for a tool: passages and facts per criterion, with citations.

    --json prints one object per (passage, criterion): tool, criterion, url (with #anchor),
    heading_path, text, score, terms, facts, run_id, fetched_at (see docs/evidence-json.md).
    """
    from knowledge.evidence import read as evidence
    from knowledge.domain.checklist import get_criterion

    tool = _check_tool(tool, db=db)
    crit = get_criterion(criterion).id if criterion else None
    from knowledge.evidence.site import doc_versions

    with _open_store(db) as store:
        run_row, rows = evidence.evidence_for(store, tool, crit, run)
        versions = doc_versions(store, run_row["id"])
    if json_out:
        return print_json([r.to_dict() for r in rows])
    stated = f", docs of release {next(iter(versions))}" if versions else ""
    err.print(f"{tool}: crawl run {run_row['id']} of {run_row['started_at']} ({run_row['status']}{stated}), "
              f"{len(rows)} passage-criterion pairs.", markup=False)
    by_crit: dict[str, list] = {}
    for r in rows:
        by_crit.setdefault(r.criterion, []).append(r)
    for cid, items in sorted(by_crit.items()):
        items.sort(key=lambda e: -e.score)
        facts = sorted({f"{f['category']}={f['value']}" for e in items for f in e.facts})
        out.print(Text.assemble(("\n" + cid, "bold"), f" - {len(items)} passages",
                                (f"; facts: {safe(', '.join(facts))}" if facts else "")))
        for e in items[: limit or None]:
            out.print(f"  {e.score:.2f}  {safe(e.citation)}  (crawled {e.fetched_at})", markup=False)
            out.print(f"        {safe(' > '.join(e.heading_path))}: " + safe(e.text[:160]).replace("\n", " "),
                      markup=False)


@command(name="prune")
def prune_cmd(
    keep: Annotated[int, typer.Option("--keep", help="Finished crawls to keep per tool (newest first).")] = 8,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only say which crawls would go.")] = False,
    db: DbOpt = None, json_out: JsonOpt = False,
) -> None:
    """Drop old crawls and the page copies only they used, so a weekly store does not grow forever.

    Always kept: the newest --keep crawls per tool, the crawls your reviewed cells and waiting flags
    point at, and the whole review history.
    """
    from knowledge.ops.prune import prune

    with _open_store(db) as store:
        with store.write_lock("a prune"):
            stats = prune(store, keep=keep, dry_run=dry_run)
    if json_out:
        return print_json(stats)
    dropped = ", ".join(map(str, stats["runs_dropped"])) or "none"
    if dry_run:
        err.print(f"Would drop crawl runs: {dropped} (keeping {stats['runs_kept']}). Nothing was changed.")
        return
    err.print(f"Dropped crawl runs: {dropped}; {stats['pages_dropped']} stored page copies and "
              f"{stats['passages_dropped']} cached passages. Store: {stats['bytes_before'] / 1e6:.1f} MB -> "
              f"{stats['bytes_after'] / 1e6:.1f} MB.")


@command(name="facts")
def facts_cmd(
    tools: Annotated[Optional[list[str]], typer.Argument(help="Tools to show (default: all).", metavar="TOOL",
                                                         show_default=False)] = None,
    category: Annotated[Optional[str], typer.Option(
        "--category", help="Only this fact category, e.g. storage_backend, compute_backend, environment, "
                           "framework, language, ui, serving_target, licence, pricing.")] = None,
    db: DbOpt = None, json_out: JsonOpt = False,
) -> None:
    """List the structured facts (storage backends, orchestrators, frameworks, ...) per tool, with citations."""
    from extractors.facts import FACT_VOCABULARY
    from knowledge.errors import unknown_name
    from knowledge.evidence import read as evidence

    if category is not None and category.strip().lower() not in FACT_VOCABULARY:
        raise unknown_name("fact category", category, list(FACT_VOCABULARY))
    category = category.strip().lower() if category else None
    names = [_check_tool(t, db=db) for t in tools] if tools else _tool_names(db=db)
    with _open_store(db) as store:
        rows = evidence.facts_for(store, names, category)
    if json_out:
        return print_json(rows)
    print_table("Facts in the latest crawls", ["tool", "category", "value", "criterion", "cited at"],
                [[r["tool"], r["category"], r["value"], r["criterion"],
                  "\n".join(r["citations"][:2]) + (f"\n(+{len(r['citations']) - 2} more)" if len(r["citations"]) > 2 else "")]
                 for r in rows])


# ----------------------------------------------------------------------------- diff
@command(name="diff")
def diff_cmd(
    tool: Annotated[Optional[list[str]], typer.Option(
        "--tool", help="Only this tool (repeat for several; see `collector sources`).", show_default=False)] = None,
    criterion: Annotated[Optional[list[str]], typer.Option(
        "--criterion", help="Only this criterion (repeat for several; see `collector criteria`).",
        show_default=False)] = None,
    from_run: Annotated[Optional[int], typer.Option(
        "--from", help="Compare from this crawl run (with --to; see `collector runs`). Nothing is saved.",
        metavar="RUN", show_default=False)] = None,
    to_run: Annotated[Optional[int], typer.Option(
        "--to", help="Compare to this crawl run (with --from; same tool).", metavar="RUN", show_default=False)] = None,
    stat: Annotated[bool, typer.Option("--stat", help="One line per flag (kind and counts), no passages.")] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Every changed passage of every flag (default: a digest with the 3 most important "
                       "per flag and a count of the rest).")] = False,
    json_out: JsonOpt = False,
    exit_code: Annotated[bool, typer.Option(
        "--exit-code", help="Exit with status 1 when flags wait for review (for schedulers); a failure "
                            "exits 3, a wrong command 2.")] = False,
    show_all: Annotated[bool, typer.Option(
        "--all", help="Also list flags already reviewed, with their latest decision.")] = False,
    fair: Annotated[bool, typer.Option(
        "--compare", "--fair", help="For each flagged criterion, show the same criterion for the other "
                                    "tools (evidence count, open flags), so the comparison stays fair.")] = False,
    db: DbOpt = None,
) -> None:
    """Show what evidence changed per tool x criterion since the last review, and flag it for review.

    Compares each tool's latest complete crawl with the crawl last reviewed for each criterion (the first time: the earliest crawl), both read with the current rules. Noise (site chrome, whitespace, case, punctuation, version bumps, reordering, video fallbacks, notebook download links) is ignored; passages that moved (also with a whole site) are matched where they are now. Failed pages are crawl health, not removals; a page that answers 404 once shows its evidence as "possibly removed". Prints a digest per flag (most important passages first); --stat, --full and --json (schema: docs/diff-json.md) for less or more. Long output goes through a pager on a terminal.
    """
    from knowledge.diff.engine import run_diff
    from knowledge.diff.render import compare_lines, digest_lines, full_lines, health_lines, stat_lines

    def progress(run_id: int, done: int, total: int) -> None:
        if done == 0:
            err.print(f"Reading crawl run {run_id} with the current rules: extracting evidence from {total} "
                      f"page(s) once...", markup=False)

    if stat and full:
        from knowledge.errors import UsageError

        raise UsageError("--stat and --full ask for opposite things.", "Use one of them (or neither, for the digest).")
    store = _open_store(db)
    store.check_integrity("the diff")      # flags saved from a damaged store would be wrong
    result = run_diff(store, tools=tool, criteria=criterion, from_run=from_run, to_run=to_run,
                      include_reviewed=show_all, fair=fair, progress=progress)
    for note in result.notes:
        err.print(safe(note), markup=False)
    if json_out:
        print_json(result.to_dict())
    else:
        lines: list[str] = []
        plain = out.no_color or out.color_system is None
        if result.flags:
            shown = "one line per flag" if stat else ("every passage" if full else
                                                      "the 3 most important passages per flag; --full for all")
            lines.append(f"{len(result.pending)} flag(s) waiting for review, most important first ({shown}).")
            lines.append("")
            lines += stat_lines(result.flags) if stat else (
                full_lines(result.flags, plain=plain) if full else digest_lines(result.flags, plain=plain))
            lines += compare_lines(result)
        else:
            err.print("No evidence changed since the last review." if result.mode == "reviewed"
                      else "No evidence changed between these two crawls.")
        if result.crawl_health:
            lines += ["", "Crawl health"] + health_lines(result, full=full)
        _show(lines)
    if exit_code and result.pending:
        raise typer.Exit(code=1)   # differences found (as git diff --exit-code); failures exit 3


def _show(lines: list[str]) -> None:
    """Rich markup lines to stdout; through a pager when stdout is a terminal and they do not fit."""
    from knowledge.diff.render import emit

    def render() -> None:
        for line in lines:
            out.print(line)

    emit(out, render)


# ----------------------------------------------------------------------------- claims
@command(name="claims")
def claims_cmd(
    tools: Annotated[Optional[list[str]], typer.Argument(
        help="Tools to judge (default: every crawled tool).", metavar="TOOL", show_default=False)] = None,
    criterion: Annotated[Optional[list[str]], typer.Option(
        "--criterion", help="Only this criterion (repeat for several; see `collector criteria`).",
        show_default=False)] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="Judge the crawls as of this run id or date (YYYY-MM-DD): each tool's last finished "
                        "crawl then.", metavar="RUN|DATE", show_default=False)] = None,
    full: Annotated[bool, typer.Option("--full", help="Every assertion of every cell with its passages.")] = False,
    db: DbOpt = None, json_out: JsonOpt = False,
) -> None:
    """Which of the study's findings still hold? Every claim (tool x criterion) judged against the
    current docs, stale first and most certain first, with the passages that show it.

    Verdicts: stale (the docs contradict the claim: something it names is gone or renamed, a limit
    or absence it states no longer holds, a list it gives has grown), extended (still true, and the
    docs show notable things the study did not list), holds, no-claim (the study gave no finding).
    Works from the first crawl on. --json: one object per cell (schema in docs/claims-json.md).
    """
    from knowledge.claims.check import check_claims

    with _open_store(db) as store:
        result = check_claims(store, tools, criterion, as_of)
    for note in result.notes:
        err.print(safe(note), markup=False)
    if json_out:
        return print_json([c.to_dict() for c in result.cells])
    from knowledge.claims.render import cell_blocks, summary_table

    counts = {v: sum(c.verdict == v for c in result.cells) for v in ("stale", "extended", "holds", "no-claim")}
    err.print("Judged against " + ", ".join(
        f"{t} run {r['run_id']} ({_when(r['started_at'])})" for t, r in result.runs.items() if r)
        + ": " + ", ".join(f"{n} {v}" for v, n in counts.items() if n) + ".", markup=False)
    if full:
        for line in cell_blocks(result.cells):
            out.print(line)
    else:
        out.print(summary_table(result.cells))


# ----------------------------------------------------------------------------- review
review_app = typer.Typer(
    help="Review flagged changes, one tool x criterion cell at a time. Without a subcommand: the "
         "interactive queue (one keystroke per decision; q quits, `collector review` resumes). "
         "Decisions are kept as an append-only history (who, when, on which crawl).",
    add_completion=False,
)
app.add_typer(review_app, name="review")

ReviewToolOpt = Annotated[Optional[list[str]], typer.Option(
    "--tool", help="Only flags of this tool (repeat for several; see `collector sources`).", show_default=False)]
ReviewCriterionOpt = Annotated[Optional[list[str]], typer.Option(
    "--criterion", help="Only flags of this criterion (repeat for several; see `collector criteria`).",
    show_default=False)]
ReviewerOpt = Annotated[Optional[str], typer.Option(
    "--reviewer", help="Who decides (recorded with the decision). Default: `git config user.name`, "
                       "else your login name.", show_default=False)]
NoteOpt = Annotated[Optional[str], typer.Option("--note", help="A reason for the decision, kept in the history.",
                                                show_default=False)]
FlagIdArg = Annotated[str, typer.Argument(help="Flag id, or a unique start of it (see `collector review list`).",
                                           metavar="FLAG")]


def _review_interactive(
    ctx: typer.Context, db: DbOpt = None, tool: ReviewToolOpt = None, criterion: ReviewCriterionOpt = None,
    reviewer: ReviewerOpt = None,
    script: Annotated[bool, typer.Option(
        "--script", help="Read one key per line from stdin (for scripts and tests; also COLLECTOR_REVIEW_SCRIPT=1).")] = False,
) -> None:
    """Review open flags one by one, most important first: a accept, d dismiss, u uncertain,
    n note, s skip, b back, q quit, ? help. Each decision is saved at once."""
    if ctx.invoked_subcommand is not None:
        return
    from knowledge.review import decisions as review
    from knowledge.errors import UsageError
    from knowledge.review.session import run_session

    script = script or os.environ.get("COLLECTOR_REVIEW_SCRIPT") == "1"
    if not script and not sys.stdin.isatty() and not sys.stdout.isatty():
        raise UsageError("`collector review` is interactive, but neither input nor output is a terminal.",
                         "Use `collector review list`, `collector review show ID` and `collector review "
                         "accept|dismiss|uncertain ID`, or pass --script to read one key per line from stdin.")
    line_mode = script or not sys.stdin.isatty()

    def read_key() -> str:
        if line_mode:
            return sys.stdin.readline()
        key = click.getchar()
        return "q" if key in ("\x03", "\x04") else key   # Ctrl-C / Ctrl-D quit, keeping decisions

    def read_line(prompt: str) -> str:
        out.print(prompt, end="", markup=False)
        return sys.stdin.readline()

    with _open_store(db) as store:
        flags = review.queue(store, tool, criterion)
        run_session(store, flags, read_key=read_key, read_line=read_line, console=out,
                    reviewer=review.reviewer_name(reviewer))


review_app.callback(invoke_without_command=True)(_errors_to_exit_codes(_review_interactive))


def _group_opt(ctx: typer.Context, name: str, value):
    """--db and --reviewer may also come before the subcommand (`collector review --db X list`)."""
    if value is not None or ctx.parent is None:
        return value
    return ctx.parent.params.get(name)


@command(review_app, name="list")
def review_list_cmd(
    ctx: typer.Context, db: DbOpt = None, tool: ReviewToolOpt = None, criterion: ReviewCriterionOpt = None,
    all_flags: Annotated[bool, typer.Option("--all", help="Also decided and superseded flags.")] = False,
    json_out: JsonOpt = False,
) -> None:
    """List the flags waiting for review (the queue, in order), or all flags with --all."""
    from knowledge.review import decisions as review

    with _open_store(_group_opt(ctx, "db", db)) as store:
        flags = review.list_flags(store, tool, criterion, include_all=all_flags)
    if json_out:
        return print_json([f.to_dict() for f in flags])
    if not flags:
        err.print("No flags" + ("." if all_flags else " waiting for review.") + " `collector diff` creates them after a crawl.")
        return
    print_table("Flags" if all_flags else "Review queue", ["id", "kind", "tool", "criterion", "status", "summary"],
                [[f.id, f.kind, f.tool, f.criterion, f.status, f.summary] for f in flags])


@command(review_app, name="show")
def review_show_cmd(
    ctx: typer.Context, flag_id: FlagIdArg, db: DbOpt = None,
    full: Annotated[bool, typer.Option("--full", help="Every passage in full (default: the first 8 per "
                                                      "section, long unchanged text shortened).")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Show one flag in full: study claim, old and new evidence with word highlights, facts, citations.

    Also the crawl dates compared and earlier decisions; --json gives all of it as data."""
    from knowledge.diff.render import emit
    from knowledge.review import decisions as review
    from knowledge.review.session import render_flag

    with _open_store(_group_opt(ctx, "db", db)) as store:
        if json_out:
            return print_json(review.describe(store, flag_id))
        flag = review.get_flag(store, flag_id)
        emit(out, lambda: render_flag(out, store, flag.id, full=full))   # paged on a terminal when long


def _decide_cmd(ctx: typer.Context, decision: str, flag_id: str, db, note, reviewer) -> None:
    from knowledge.review import decisions as review

    with _open_store(_group_opt(ctx, "db", db)) as store:
        d = review.decide(store, flag_id, decision, note=note, reviewer=_group_opt(ctx, "reviewer", reviewer))
    err.print(f"Recorded: {d.decision} for flag {safe(d.flag_id)} ({safe(d.tool)} x {safe(d.criterion)}) "
              f"by {safe(d.reviewer)} at {d.decided_at}.", markup=False)


@command(review_app, name="accept")
def review_accept_cmd(ctx: typer.Context, flag_id: FlagIdArg, note: NoteOpt = None, reviewer: ReviewerOpt = None, db: DbOpt = None) -> None:
    """Accept a flag: its new evidence becomes the reviewed state of the cell."""
    _decide_cmd(ctx, "accepted", flag_id, db, note, reviewer)


@command(review_app, name="dismiss")
def review_dismiss_cmd(ctx: typer.Context, flag_id: FlagIdArg, note: NoteOpt = None, reviewer: ReviewerOpt = None, db: DbOpt = None) -> None:
    """Dismiss a flag: seen, not relevant. The change is not flagged again (the report shows it as dismissed)."""
    _decide_cmd(ctx, "dismissed", flag_id, db, note, reviewer)


@command(review_app, name="uncertain")
def review_uncertain_cmd(ctx: typer.Context, flag_id: FlagIdArg, note: NoteOpt = None, reviewer: ReviewerOpt = None, db: DbOpt = None) -> None:
    """Mark a flag uncertain: it stays in the queue (after the open flags) for a second look."""
    _decide_cmd(ctx, "uncertain", flag_id, db, note, reviewer)


@command(review_app, name="note")
def review_note_cmd(
    ctx: typer.Context, flag_id: FlagIdArg, text: Annotated[str, typer.Argument(help="The note (quote it).", metavar="TEXT")],
    reviewer: ReviewerOpt = None, db: DbOpt = None,
) -> None:
    """Add a note to a flag without changing its status."""
    _decide_cmd(ctx, "note", flag_id, db, text, reviewer)


@command(review_app, name="history")
def review_history_cmd(
    ctx: typer.Context, tool: Annotated[Optional[str], typer.Argument(help="Only this tool.", metavar="TOOL",
                                                                      show_default=False)] = None,
    criterion: Annotated[Optional[str], typer.Argument(help="Only this criterion.", metavar="CRITERION",
                                                       show_default=False)] = None,
    db: DbOpt = None, json_out: JsonOpt = False,
) -> None:
    """Every review decision, oldest first: who decided what, when, with which note, on which crawl."""
    from knowledge.review import decisions as review

    with _open_store(_group_opt(ctx, "db", db)) as store:
        rows = review.history(store, tool, criterion)
    if json_out:
        return print_json([d.to_dict() for d in rows])
    if not rows:
        err.print("No review decisions yet. Start with `collector review`.")
        return
    print_table("Review history", ["when", "reviewer", "decision", "tool", "criterion", "flag", "crawl run", "note"],
                [[d.decided_at, d.reviewer, d.decision, d.tool, d.criterion, d.flag_id,
                  "" if d.to_run is None else str(d.to_run), d.note or ""] for d in rows])


# ----------------------------------------------------------------------------- weekly operation
@command(name="demo")
def demo_cmd(
    db: Annotated[Optional[Path], typer.Option(
        "--db", help="Keep the demo's knowledge store in this (new) file. Default: a throwaway store in a "
                     "temp folder, removed afterwards.", show_default=False, callback=_absolute)] = None,
    keep: Annotated[bool, typer.Option(
        "--keep", help="Keep the throwaway store and print its path, to try `collector review` on it.")] = False,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="Report format: md (Markdown) or html. Default: from the -o file's "
                               "extension, else md.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Write the report to this file instead of printing it.", show_default=False,
        callback=_absolute)] = None,
) -> None:
    """Try collector offline in a minute: crawl two versions of bundled sample sites (Metaflow, DVC,
    MLflow) on this computer, diff them and print the comparison report. No internet needed."""
    from knowledge.ops.demo import follow_up_commands, run_demo
    from knowledge.report.render import pick_format

    bar, on_event = _crawl_progress()

    def say(text: str) -> None:   # flag summaries quote scraped words: print them inert
        bar.console.print(safe(text), markup=False, highlight=False)

    with bar:
        result = run_demo(db, keep=keep, fmt=pick_format(fmt, output), output=output, say=say, progress=on_event)
    if output is None:
        sys.stdout.write(result["report"])
    else:
        err.print(f"Report ({result['format']}) written to {safe(output)}.", markup=False)
    if result["kept"]:
        err.print(f"\nThe demo store is kept at {result['db']}. Try next:", markup=False)
        for line in follow_up_commands(result["db"]):
            err.print(f"  {line}", markup=False, soft_wrap=True)   # one line each, to copy and paste
    else:
        err.print("\nThe throwaway demo store was removed. Keep it with --keep (or --db PATH) to try "
                  "`collector review` on it.", markup=False)


@command(name="schedule")
def schedule_cmd(
    target: Annotated[str, typer.Argument(help="Where to run it: cron, systemd, gitlab-ci or github-actions.",
                                          metavar="TARGET")],
    db: AsTypedDbOpt = None,
    report: Annotated[Optional[Path], typer.Option(
        "--report", help="Report file each run writes. Default: report.html next to the store "
                         "(in CI: report.html in the job folder).", show_default=False)] = None,
    tools: Annotated[Optional[list[str]], typer.Option(
        "--tool", "--tools", help="Crawl only this tool (repeat for several). Default: every tool in the "
                                  "sources file.", metavar="TOOL", show_default=False)] = None,
    time: Annotated[str, typer.Option(
        "--time", help="When each week: DAY HH:MM, 24-hour clock (cron/systemd: local time; CI: UTC).",
        metavar="'DAY HH:MM'")] = "Mon 06:00",
    install: Annotated[Optional[str], typer.Option(
        "--install", help="What the CI job installs with pip: the git+https URL of the repository you keep "
                          "collector in, or . when the job runs in a checkout of collector. Default: a "
                          "placeholder to edit.", metavar="SPEC", show_default=False)] = None,
    sources: AsTypedSourcesOpt = None,
) -> None:
    """Print ready-to-use configuration for the weekly crawl -> diff -> report run.

    The run writes the report every week and exits 1 when `collector diff` finds changes, so the
    group sees a failed job (or a cron mail) and a report to open. See docs/scheduling.md.
    """
    from knowledge.ops.schedule import render

    names = [_check_tool(t, sources) for t in tools] if tools else None
    sys.stdout.write(render(target, db=db, report=report, tools=names, time=time, install=install,
                            sources=sources))
    err.print("Install it as described in the comments at the top (details: docs/scheduling.md).")
    if install is None and target.strip().lower() in ("gitlab-ci", "github-actions"):
        err.print("Edit the `pip install` line first (marked EDIT): it must name the repository you keep collector "
                  "in, or pass --install.", markup=False)


# ----------------------------------------------------------------------------- report
@command(name="report")
def report_cmd(
    fmt: Annotated[Optional[str], typer.Option(
        "--format", "-f", help="md (Markdown), html (one self-contained page to open or share), csv or json "
                               "(the matrix as data, one row per tool x criterion). Default: from the -o "
                               "file's extension, else md.", show_default=False)] = None,
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Write the report to this file instead of printing it.", show_default=False,
        callback=_absolute)] = None,
    tool: Annotated[Optional[list[str]], typer.Option(
        "--tool", help="Only this tool (repeat for several). Default: every tool.", show_default=False)] = None,
    as_of: Annotated[Optional[str], typer.Option(
        "--as-of", help="The matrix as it was after this crawl run id, or the last crawl on or before this date "
                        "(YYYY-MM-DD), with the reviews made while it was the latest. Prints the same bytes "
                        "whenever you run it.", metavar="RUN|DATE", show_default=False)] = None,
    rules: Annotated[Optional[str], typer.Option(
        "--rules", help="then: each crawl as the report first read it, normally right after the crawl (default with --as-of); current: read "
                        "again with today's extraction rules and claim check (default without).",
        metavar="then|current", show_default=False)] = None,
    since: Annotated[Optional[str], typer.Option(
        "--since", help="The 'What changed' section starts at this date (YYYY-MM-DD). Default: the crawl "
                        "before the one read.", metavar="DATE", show_default=False)] = None,
    db: DbOpt = None,
) -> None:
    """The comparison matrix (tool x criterion) like the study's table, but current — or as of any crawl.

    Per cell: the study's claim and its verdict, the facts and passages found, coverage (passages, pages,
    share of the site) and age of the evidence, the review status with flag ids, markers for unreviewed
    changes, missing evidence and evidence only from pages now gone, and the best citations with crawl
    dates; first, what changed since the previous crawl. csv/json columns: docs/report-json.md."""
    from knowledge.report import render as report

    fmt = report.pick_format(fmt, output)
    with _open_store(db) as store:
        matrix = report.read_report(store, fmt, tool, as_of=as_of, rules=rules, since=since)
        text = report.render(matrix, fmt)
    for warning in matrix.warnings:
        err.print(safe(warning), markup=False)
    if matrix.cutoff and as_of:
        err.print(f"Reviews counted: those made before {matrix.cutoff}, when the next crawl finished.", markup=False)
    if output is None:
        sys.stdout.write(text)
        return
    report.write_report(text, output)
    err.print(f"Report ({fmt}) written to {safe(output)}.", markup=False)


@command(name="changelog")
def changelog_cmd(
    since: Annotated[Optional[str], typer.Option(
        "--since", help="Only changes from this date on (YYYY-MM-DD). Default: from the first crawl.",
        metavar="DATE", show_default=False)] = None,
    fmt: Annotated[str, typer.Option(
        "--format", "-f", help="md (Markdown) or json (schema in docs/report-json.md).")] = "md",
    tool: Annotated[Optional[list[str]], typer.Option(
        "--tool", help="Only this tool (repeat for several). Default: every tool.", show_default=False)] = None,
    db: DbOpt = None,
) -> None:
    """What changed in the comparison matrix, crawl by crawl (newest first): claim verdicts, facts gained
    and lost per cell, cells flagged by `collector diff`, review decisions (who, note), and cells a rule
    change reads differently. One entry per change, each with its citation (URL#section and crawl date,
    or the flag id)."""
    from knowledge.report.changelog import build_changelog
    from knowledge.report.markdown import render_changelog

    fmt = (fmt or "").strip().lower()
    if fmt not in ("md", "json"):
        from knowledge.errors import unknown_name

        raise unknown_name("format", fmt, ["md", "json"])
    with _open_store(db) as store:
        log = build_changelog(store, tool, since)
    if fmt == "json":
        return print_json(log.to_dict())
    sys.stdout.write(render_changelog(log))


def main() -> None:  # console script entry point
    try:
        app()
    except BrokenPipeError:   # e.g. `collector --help | head`
        _quiet_broken_pipe()
        sys.exit(EXIT_BROKEN_PIPE)


if __name__ == "__main__":
    main()
