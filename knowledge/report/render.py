"""Rendering the matrix: choosing the format, dispatching to Markdown / HTML / CSV / JSON, writing it."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from knowledge.errors import UsageError, unknown_name
from knowledge.report.html import render_html
from knowledge.report.markdown import render_markdown
from knowledge.report.matrix import build_matrix
from knowledge.store import Store, utcnow

FORMATS = ("md", "html", "csv", "json")


def make_report(store: Store, fmt: str = "md", tools: list[str] | None = None) -> str:
    """`collector report`: the matrix for these tools, rendered."""
    check_format(fmt)
    return render(build_matrix(store, tools), fmt)


BY_EXTENSION = {".html": "html", ".htm": "html", ".csv": "csv", ".json": "json", ".md": "md", ".markdown": "md",
                ".txt": "md", "": "md"}


def pick_format(fmt: str | None, output: Path | None) -> str:
    """--format, else the output file's extension (.html/.htm, .csv, .json, .md), else Markdown.
    An extension naming another format (report.xlsx) is refused: writing Markdown into it would
    leave a file its own program cannot open."""
    if fmt:
        return check_format(fmt.strip().lower())
    suffix = output.suffix.lower() if output else ""
    if suffix not in BY_EXTENSION:
        raise UsageError(f"Cannot write a {suffix} report: collector writes .md, .html, .csv or .json.",
                         "Name the file with one of those extensions, or pass --format.")
    return BY_EXTENSION[suffix]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise unknown_name("format", fmt, list(FORMATS))
    return fmt


def render(df: pd.DataFrame, fmt: str) -> str:
    check_format(fmt)
    if fmt == "csv":
        return df.to_csv(index=False)
    if fmt == "json":
        return df.to_json(orient="records", force_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return render_markdown(df)
    return render_html(df, generated_at=utcnow())


def write_report(text: str, path: Path) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write the report to {path}: {exc.strerror or exc}.",
                         "Check the folder exists and is writable, or leave out -o to print it.") from None
