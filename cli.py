"""`collector`: keep a comparison of MLOps tools current from their documentation.

This module stays thin: each command parses its options, calls one library function and renders
the result. Domain errors (knowledge.errors) become a one-line message and an exit code in one
place, `_errors_to_exit_codes`. Data goes to stdout, messages to stderr.
"""
from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer
from rich.console import Console
from rich.table import Table

from knowledge.errors import CollectorError
from knowledge.textsafe import safe, safe_obj

out = Console(highlight=False, soft_wrap=True)             # data
err = Console(stderr=True, highlight=False)                # messages, progress

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


def _errors_to_exit_codes(func: Callable) -> Callable:
    """The one place where domain errors become exit codes (2 usage, 1 failure)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except CollectorError as exc:
            err.print(f"[bold red]Error:[/] {safe(exc.message)}", markup=True, highlight=False)
            if exc.hint:
                err.print(safe(exc.hint), markup=False)
            raise typer.Exit(code=exc.exit_code) from None
        except KeyboardInterrupt:
            err.print("Interrupted. Everything finished so far is saved.")
            raise typer.Exit(code=130) from None

    return wrapper


def command(typer_app: typer.Typer = app, *args, **kwargs):
    """`@command()` registers a CLI command wrapped by the error handler."""

    def decorator(func: Callable) -> Callable:
        return typer_app.command(*args, **kwargs)(_errors_to_exit_codes(func))

    return decorator


# ----------------------------------------------------------------------------- shared options
DbOpt = Annotated[Optional[Path], typer.Option(
    "--db", help="Knowledge store (SQLite file). Default: $COLLECTOR_DB, else collector.sqlite in your "
                 "user data folder.", show_default=False)]
SourcesOpt = Annotated[Optional[Path], typer.Option(
    "--sources", help="Your own sources file (TOML, same format as the built-in one) to add tools or "
                      "follow a site that moved.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print data as JSON for scripts.")]


def print_json(data) -> None:
    sys.stdout.write(json.dumps(safe_obj(data), indent=2, ensure_ascii=False, default=str) + "\n")


def print_table(title: str | None, columns: list[str], rows: list[list], *, console: Console = out) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for c in columns:
        table.add_column(c, overflow="fold")
    for r in rows:
        table.add_row(*[safe("" if v is None else v) for v in r])
    console.print(table)


# ----------------------------------------------------------------------------- data listings
@command(name="sources")
def sources_cmd(sources: SourcesOpt = None, json_out: JsonOpt = False) -> None:
    """List the documentation sources (tools) collector knows, with their roots and scope."""
    from knowledge.sources import load_sources

    data = [s.to_dict() for s in load_sources(sources).values()]
    if json_out:
        return print_json(data)
    print_table("Documentation sources", ["tool", "name", "roots", "in scope", "max pages"],
                [[d["tool"], d["name"], "\n".join(d["roots"]), "\n".join(d["allow"]), str(d["max_pages"])]
                 for d in data])


@command(name="criteria")
def criteria_cmd(json_out: JsonOpt = False) -> None:
    """List the 15 checklist criteria of the study, with their ids, questions and sub-factors."""
    from knowledge.checklist import load_checklist

    data = [c.__dict__ for c in load_checklist()]
    if json_out:
        return print_json(data)
    print_table("Comparison checklist", ["id", "criterion", "question", "sub-factors"],
                [[d["id"], d["title"], d["question"], ", ".join(d["sub_factors"])] for d in data])


def main() -> None:  # console script entry point
    app()


if __name__ == "__main__":
    main()
