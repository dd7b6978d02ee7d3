"""Rendering the matrix: choosing the format, dispatching to Markdown / HTML / CSV / JSON, writing it.

CSV and JSON are written with the standard library (no pandas import on the report's path: it
costs more start-up time than the rest of a recorded report); pandas reads them back unchanged
(docs/report-json.md).
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from knowledge.errors import UsageError, unknown_name
from knowledge.report.html import render_html
from knowledge.report.markdown import render_markdown
from knowledge.report.matrix import COLUMNS, Matrix, read_matrix
from knowledge.store import Store

FORMATS = ("md", "html", "csv", "json")


def make_report(store: Store, fmt: str = "md", tools: list[str] | None = None, *, as_of: int | str | None = None,
                rules: str | None = None, since: str | None = None) -> str:
    """`collector report`: the matrix for these tools (as of a crawl), rendered."""
    return render(read_report(store, fmt, tools, as_of=as_of, rules=rules, since=since), fmt)


def read_report(store: Store, fmt: str = "md", tools: list[str] | None = None, *, as_of: int | str | None = None,
                rules: str | None = None, since: str | None = None) -> Matrix:
    check_format(fmt)
    return read_matrix(store, tools, as_of, rules, since)


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


def render(matrix: Matrix, fmt: str) -> str:
    check_format(fmt)
    if fmt == "csv":
        return to_csv(matrix.rows)
    if fmt == "json":
        return json.dumps([{c: r[c] for c in COLUMNS} for r in matrix.rows], ensure_ascii=False, indent=2) + "\n"
    if fmt == "md":
        return render_markdown(matrix)
    return render_html(matrix)


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(["" if r[c] is None else r[c] for c in COLUMNS])
    return buf.getvalue()


def write_report(text: str, path: Path) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"Cannot write the report to {path}: {exc.strerror or exc}.",
                         "Check the folder exists and is writable, or leave out -o to print it.") from None
