"""The command line's rough edges (issue 10 item 11): readable help, one spelling of --tool, honest
report formats, unknown fact categories, a closed pipe, NO_COLOR, narrow terminals, exit codes."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from rich.console import Console
from typer.main import get_command
from typer.testing import CliRunner

import cli
from knowledge.errors import CollectorError, UsageError, unknown_name

runner = CliRunner()


def _commands(group: click.Command, prefix: tuple[str, ...] = ()):
    yield prefix
    for name, sub in getattr(group, "commands", {}).items():
        yield from _commands(sub, prefix + (name,))


COMMANDS = list(_commands(get_command(cli.app)))


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "collector")
def test_help_shows_names_not_python_types(command):
    result = runner.invoke(cli.app, [*command, "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0, result.output
    for noise in ("<str>", "<int>", "<bool>", "<path>", "list[", "{"):
        assert noise not in result.output, (command, noise)


def test_schedule_takes_tool_like_every_other_command():
    one = runner.invoke(cli.app, ["schedule", "cron", "--tool", "dvc", "--tool", "mlflow", "--db", "/tmp/x.sqlite"])
    assert one.exit_code == 0 and "--wait dvc mlflow" in one.stdout
    old = runner.invoke(cli.app, ["schedule", "cron", "--tools", "dvc", "--db", "/tmp/x.sqlite"])
    assert old.exit_code == 0 and "--wait dvc" in old.stdout      # the old spelling still works


def test_report_refuses_a_file_it_cannot_write(tmp_path):
    target = tmp_path / "matrix.xlsx"
    result = runner.invoke(cli.app, ["report", "-o", str(target), "--db", str(tmp_path / "k.sqlite")])
    assert result.exit_code == 2 and ".md, .html, .csv or .json" in result.stderr
    assert not target.exists()


def test_unknown_fact_category_is_a_usage_error(tmp_path):
    result = runner.invoke(cli.app, ["facts", "--category", "nosuch", "--db", str(tmp_path / "k.sqlite")])
    assert result.exit_code == 2
    assert "Unknown fact category 'nosuch'" in result.stderr and "Valid fact categories:" in result.stderr
    assert "storage_backend" in result.stderr


def test_plurals_in_messages():
    assert "Valid criteria:" in unknown_name("criterion", "speed", ["storage"]).hint
    assert "Valid schedule targets:" in unknown_name("schedule target", "x", ["cron"]).hint


def test_exit_codes_keep_1_for_differences_only():
    assert CollectorError("x").exit_code == 3 and UsageError("x").exit_code == 2
    assert cli.EXIT_FAILED == 3


def test_a_reader_that_goes_away_ends_the_command_quietly():
    """`collector criteria --json | head -1`: the reader closes the pipe before the data is written."""
    exe = shutil.which("collector") or str(Path(sys.executable).with_name("collector"))
    if not Path(exe).exists():
        pytest.skip("the collector console script is not installed in this environment")
    proc = subprocess.Popen([exe, "criteria", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()              # before the interpreter has even started
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == cli.EXIT_BROKEN_PIPE, err
    assert err == b"", err           # no "Error: [Errno 32] Broken pipe", no "Exception ignored"


def test_no_color_keeps_the_word_diff_markers():
    """NO_COLOR on a terminal: no colours, so the changed words are marked [-...-]{+...+} instead."""
    from knowledge.review.session import _passages

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, no_color=True, width=100, highlight=False)   # as the CLI
    item = {"url": "https://d.invalid/x#a", "heading_path": ["A"], "crawled_at": "2024-05-28",
            "diff": [{"op": "equal", "text": "runs on"}, {"op": "delete", "text": "Batch"},
                     {"op": "insert", "text": "Kubernetes"}]}
    _passages(console, "Changed", [item], "changed")
    text = buf.getvalue()
    assert "[-Batch-]" in text and "{+Kubernetes+}" in text and "\x1b[3" not in text


def test_flag_ids_do_not_wrap_in_a_narrow_terminal():
    buf = io.StringIO()
    console = Console(file=buf, width=60, force_terminal=False)
    long = "a summary long enough to need several lines in a narrow terminal window, " * 2
    cli.print_table("Review queue", ["id", "kind", "tool", "criterion", "status", "summary"],
                    [["F0123456789", "capability", "metaflow", "scaling", "open", long]], console=console)
    assert "F0123456789" in buf.getvalue()


def test_diff_names_the_crawl_command_that_exists(tmp_path):
    from knowledge.store import Store

    Store.open(tmp_path / "k.sqlite").close()
    result = runner.invoke(cli.app, ["diff", "--tool", "dvc", "--db", str(tmp_path / "k.sqlite")])
    assert "collector crawl dvc" in result.stderr and "--tool dvc" not in result.stderr, result.output


@pytest.mark.parametrize("name, value", [("COLLECTOR_WORKERS", "two"), ("COLLECTOR_SOURCES_IN_FLIGHT", "0"),
                                         ("COLLECTOR_SOURCES_IN_FLIGHT", "-3")])
def test_a_bad_count_in_the_environment_is_refused_before_anything_is_crawled(tmp_path, name, value):
    db = tmp_path / "c.sqlite"
    result = runner.invoke(cli.app, ["crawl", "metaflow", "--db", str(db)], env={name: value})
    assert result.exit_code == 2
    assert f"{name} must be a whole number of at least 1, got '{value}'" in result.stderr
    assert not db.exists()   # no store touched, no site asked
