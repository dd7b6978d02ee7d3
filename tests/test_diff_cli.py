"""`collector diff` on the command line: table, details, crawl health, --json, --exit-code, errors."""
from __future__ import annotations

import json
import sys

import pytest
from rich.console import Console
from typer.testing import CliRunner

from cli import app
from test_diff_kit import Crawls, Failed, page, use_fixed_extractor

runner = CliRunner()
S3 = ("Remote storage", "DVC pushes data to an Amazon S3 bucket configured as a remote.")
FLAG_KEYS = {"id", "tool", "criterion", "kind", "rank", "status", "summary", "facts_gained", "facts_lost",
             "added", "removed", "changed", "moved", "baseline"}


@pytest.fixture
def crawls(tmp_path, monkeypatch):
    use_fixed_extractor(monkeypatch)
    monkeypatch.setitem(sys.modules, "knowledge.domain.baseline", None)
    return Crawls(tmp_path)


def diff(crawls, *args):
    return runner.invoke(app, ["diff", "--db", str(crawls.path), *args])


def test_exit_code_json_and_text(crawls):
    crawls.run("dvc", {"/doc/s": page(S3), "/doc/f": page(("Metrics", "Log a metric."))})
    crawls.run("dvc", {"/doc/s": page(("Remote storage", "DVC pushes data to an Amazon S3 bucket configured as "
                                                          "the default remote.")),
                       "/doc/f": Failed("HTTP 503")}, status="partial")
    res = diff(crawls, "--exit-code")
    assert res.exit_code == 1, res.output
    assert "storage" in res.stdout and "wording" in res.stdout
    assert "{+" in res.stdout and "#remote-storage" in res.stdout
    assert "Crawl health" in res.stdout and "http://127.0.0.1:8002/doc/f" in res.stdout and "HTTP 503" in res.stdout

    data = json.loads(diff(crawls, "--json").stdout)
    assert {"from", "to", "flags", "crawl_health"} <= set(data)
    [flag] = data["flags"]
    assert FLAG_KEYS <= set(flag)
    [ch] = flag["changed"]
    assert {"url", "old_url", "heading_path", "old_text", "text", "diff"} <= set(ch)
    assert all(set(op) == {"op", "text"} for op in ch["diff"])
    assert data["to"]["dvc"]["status"] == "partial"
    assert [p["url"] for p in data["crawl_health"]["dvc"]["failed"]] == ["http://127.0.0.1:8002/doc/f"]

    # Nothing new after the cell is reviewed: exit code 0.
    with crawls.store.transaction() as conn:
        conn.execute("UPDATE flags SET status = 'accepted'")
        conn.execute("INSERT INTO reviewed_state SELECT tool, criterion, to_run, to_state, id, 'now' FROM flags")
    res = diff(crawls, "--exit-code")
    assert res.exit_code == 0, res.output
    assert "No evidence changed" in res.stderr
    res = diff(crawls, "--all", "--json")
    assert [f["status"] for f in json.loads(res.stdout)["flags"]] == ["accepted"]


def test_compare_option_lists_other_tools(crawls):
    crawls.run("dvc", {"/doc/s": page(S3)})
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    crawls.run("mlflow", {"/docs/latest/a.html": page(("Artifact stores", "Artifacts go to S3 storage."))})
    res = diff(crawls, "--compare")
    assert res.exit_code == 0
    assert "storage: the same criterion for every tool" in res.stdout
    assert "mlflow" in res.stdout.split("storage: the same criterion")[1]


def test_unknown_names_exit_2_with_valid_names(crawls):
    crawls.run("dvc", {"/doc/s": page(S3)})
    res = diff(crawls, "--tool", "dvcc")
    assert res.exit_code == 2 and "Unknown tool 'dvcc'" in res.stderr and "mlflow" in res.stderr
    res = diff(crawls, "--criterion", "storag")
    assert res.exit_code == 2 and "storage" in res.stderr and "Traceback" not in res.output
    res = diff(crawls, "--from", "1")
    assert res.exit_code == 2 and "--from and --to" in res.stderr


def test_missing_store_is_a_clear_error(tmp_path):
    res = runner.invoke(app, ["diff", "--db", str(tmp_path / "none.sqlite")])
    assert res.exit_code == 3 and "collector crawl" in res.stderr


def test_scraped_control_characters_are_not_printed(crawls):
    crawls.run("dvc", {"/doc/s": page(S3)})
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote \x1b[2J\x1b]0;pwned\x07storage works."))})
    res = diff(crawls)
    assert res.exit_code == 0 and "\x1b" not in res.stdout and "Azure remote" in res.stdout


def test_rule_change_rebuilds_evidence_with_a_note_and_no_flags(crawls, monkeypatch):
    crawls.run("dvc", {"/doc/s": page(S3)})
    crawls.run("dvc", {"/doc/s": page(S3)})
    monkeypatch.setattr("knowledge.evidence.rules.rules_version", lambda: "new-rules-0003")
    res = diff(crawls, "--exit-code")
    assert res.exit_code == 0, res.output
    assert "extracting evidence from 1 page(s)" in res.stderr
    assert diff(crawls).stderr.count("extracting evidence") == 0      # built once, then cached


def _many_changes(crawls):
    """Storage gains eight new sections: more than the digest shows."""
    crawls.run("dvc", {"/doc/s": page(S3)})
    crawls.run("dvc", {"/doc/s": page(S3, *[(f"Remote {i}", f"Remote storage option number {i} for the bucket.")
                                           for i in range(8)]),
                       "/doc/t": page(("Metrics", "Log a metric for every experiment."))})


def test_digest_by_default_stat_and_full_on_request(crawls):
    _many_changes(crawls)
    digest = diff(crawls)
    assert digest.exit_code == 0, digest.output
    assert "2 flag(s) waiting for review" in digest.stdout
    assert digest.stdout.count("#remote-") == 3                      # the 3 most important passages
    assert "and +5 added (collector review show" in digest.stdout
    stat = diff(crawls, "--stat")
    assert [line.split()[1:4] for line in stat.stdout.splitlines() if line.startswith("F")] == [
        ["dvc", "x", "tracking"], ["dvc", "x", "storage"]]
    assert "#remote-" not in stat.stdout and "+8 added" in stat.stdout
    full = diff(crawls, "--full")
    assert full.stdout.count("#remote-") == 8 and "crawled " in full.stdout
    both = diff(crawls, "--stat", "--full")
    assert both.exit_code == 2 and "--stat and --full" in both.stderr


def test_piped_output_is_never_paged(crawls, monkeypatch):
    _many_changes(crawls)
    monkeypatch.setattr("click.echo_via_pager", lambda *a, **k: pytest.fail("paged into a pipe"))
    res = diff(crawls, "--full")
    assert res.exit_code == 0 and res.stdout.count("#remote-") == 8


def test_long_output_on_a_terminal_goes_through_the_pager(crawls, monkeypatch):
    _many_changes(crawls)
    paged = []
    monkeypatch.setattr("knowledge.diff.render.is_terminal", lambda console: True)
    monkeypatch.setattr("click.echo_via_pager", lambda text, *a, **k: paged.append(text))
    monkeypatch.setattr("cli.out", Console(width=120, height=10, highlight=False))
    res = diff(crawls, "--full")
    assert res.exit_code == 0
    assert len(paged) == 1 and paged[0].count("#remote-") == 8 and "#remote-" not in res.stdout
