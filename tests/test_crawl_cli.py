"""`collector crawl` and `collector runs` through the CLI (CliRunner; the crawl itself is a subprocess)."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from cli import app
from conftest import tiny_site, tiny_sources

runner = CliRunner()


def test_unknown_tool_is_a_usage_error_listing_valid_names(tmp_path):
    result = runner.invoke(app, ["crawl", "metaflw", "--db", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 2
    assert "Unknown tool 'metaflw'" in result.stderr and "dvc, metaflow, mlflow" in result.stderr
    assert not (tmp_path / "c.sqlite").exists()   # names are checked before anything is opened


def test_bad_options_are_usage_errors(tmp_path):
    assert runner.invoke(app, ["crawl", "--max-pages", "0", "--db", str(tmp_path / "c.sqlite")]).exit_code == 2
    result = runner.invoke(app, ["crawl", "--base-url", "metaflow", "--db", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 2 and "TOOL=ORIGIN" in result.stderr


def test_unwritable_db_is_one_line_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    result = runner.invoke(app, ["crawl", "--db", str(blocker / "c.sqlite")])
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr


def test_crawl_prints_summary_builds_evidence_and_runs_lists_history(tmp_path, serve_site, monkeypatch):
    import cli

    monkeypatch.setattr(cli.out, "_width", 200)   # a wide terminal: the 12 columns fit unwrapped
    server = serve_site(tiny_site(tmp_path / "site"))
    db, sources = str(tmp_path / "c.sqlite"), str(tiny_sources(tmp_path / "sources.toml"))
    args = ["crawl", "tiny", "--base-url", f"tiny={server.origin}", "--sources", sources, "--db", db]
    result = runner.invoke(app, args + ["--json"])
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    (run,) = data["runs"]
    assert run["status"] == "complete" and run["stats"]["fetched"] == 4 and run["origin"] == server.origin
    assert data["evidence"]["pages"] == 4          # evidence is ready without another command

    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.stderr
    for column in ("tool", "not modified", "unchanged", "seconds"):
        assert column in table.stdout
    assert "complete" in table.stdout

    history = runner.invoke(app, ["runs", "tiny", "--db", db, "--json"])
    assert history.exit_code == 0, history.stderr
    runs = json.loads(history.stdout)
    assert [r["id"] for r in runs] == [2, 1] and runs[0]["stats"]["not_modified"] == 4
    assert runner.invoke(app, ["runs", "--db", db]).exit_code == 0
    assert runner.invoke(app, ["runs", "nosuchtool", "--db", db]).exit_code == 2


def test_unreachable_site_exits_1_with_one_line_per_tool(tmp_path):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    origin = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    result = runner.invoke(app, ["crawl", "tiny", "--base-url", f"tiny={origin}", "--db", str(tmp_path / "c.sqlite"),
                                 "--sources", str(tiny_sources(tmp_path / "s.toml"))])
    assert result.exit_code == 3
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "tiny" in errors[0] and "nothing could be fetched" in errors[0]
    assert "Traceback" not in result.stderr


def test_evidence_failure_after_a_saved_crawl_is_one_message(tmp_path, serve_site, monkeypatch):
    import knowledge.evidence.build

    def broken(*args, **kwargs):
        raise RuntimeError("extractor exploded")

    monkeypatch.setattr(knowledge.evidence.build, "build_evidence", broken)
    server = serve_site(tiny_site(tmp_path / "site"))
    result = runner.invoke(app, ["crawl", "tiny", "--base-url", f"tiny={server.origin}", "--db", str(tmp_path / "c.sqlite"),
                                 "--sources", str(tiny_sources(tmp_path / "s.toml"))])
    assert result.exit_code == 3 and "Traceback" not in result.stderr
    assert "the crawl is saved" in result.stderr and "extractor exploded" in result.stderr
    assert "Crawl into" in result.stdout    # the summary table is still printed
