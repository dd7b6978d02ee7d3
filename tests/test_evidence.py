"""Evidence is derived data: cached per (page content, rules key), rebuilt when rules change."""
import json

import pytest
from typer.testing import CliRunner

import knowledge.evidence.build as evidence
import knowledge.evidence.rules as evidence_rules
from knowledge.evidence.read import run_evidence
from cli import app
from extractors.model import Fact, Passage, Tag
from knowledge.store import Store

runner = CliRunner()
PAGE = b"<html><body><main><h1 id='store'>Storage</h1><p>Push data to an S3 bucket.</p></main></body></html>"


def fake_extract(calls):
    def extract_html(html, url, source=None):
        calls.append(url)
        p = Passage(url, "store", ("Storage",), "Push data to an S3 bucket.", 0)
        return [(p, [Tag("storage", 0.9, ("s3", "bucket"))], [Fact("storage_backend", "s3", "storage", "S3")])]
    return extract_html


def add_run(store: Store, tool: str, pages: dict[str, bytes | None], status="complete") -> int:
    run = store.start_run(tool, settings={"source": {"content": ["main"], "drop": []}})
    with store.transaction():
        for path, body in pages.items():
            sha = store.put_blob(body) if body is not None else None
            store.conn.execute(
                "INSERT INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, '2026-01-05T00:00:00Z')",
                (run, f"http://127.0.0.1:9/{path.lstrip('/')}", path, "fetched" if body else "gone",
                 "new" if body else None, 200 if body else 404, sha))
    store.finish_run(run, status)
    return run


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "k.sqlite") as s:
        yield s


def test_evidence_is_cached_per_page_content_and_rules(store, monkeypatch):
    calls = []
    monkeypatch.setattr(evidence, "extract_html", fake_extract(calls))
    r1 = add_run(store, "dvc", {"/doc/a": PAGE})
    r2 = add_run(store, "dvc", {"/doc/a": PAGE})          # same content in a later crawl
    assert evidence.build_evidence(store, [r1, r2])["extracted"] == 1
    assert len(calls) == 1
    rows = run_evidence(store, r2)
    assert [(r.criterion, r.citation, r.facts[0]["value"]) for r in rows] == \
        [("storage", "http://127.0.0.1:9/doc/a#store", "s3")]
    # a rules change rebuilds from stored pages (no crawl), once per page content
    monkeypatch.setattr(evidence_rules, "rules_version", lambda: "other-rules")
    assert evidence.build_evidence(store, [r1, r2])["extracted"] == 1
    assert len(calls) == 2


def test_a_page_that_breaks_the_extractor_is_recorded_not_fatal(store, monkeypatch):
    def boom(html, url, source=None):
        raise ValueError("bad page")
    monkeypatch.setattr(evidence, "extract_html", boom)
    run = add_run(store, "dvc", {"/doc/a": PAGE})
    stats = evidence.build_evidence(store, [run])
    assert stats["errors"] == 1
    err = store.conn.execute("SELECT error FROM extractions").fetchone()[0]
    assert "bad page" in err


def test_evidence_json_schema_through_the_cli(tmp_path, monkeypatch):
    monkeypatch.setattr(evidence, "extract_html", fake_extract([]))
    db = tmp_path / "k.sqlite"
    with Store.open(db) as s:
        run = add_run(s, "dvc", {"/doc/a": PAGE, "/doc/gone": None})
    result = runner.invoke(app, ["evidence", "dvc", "storage", "--db", str(db), "--json"])
    assert result.exit_code == 0, result.output
    (item,) = json.loads(result.stdout)
    for key in ("tool", "criterion", "url", "heading_path", "text", "score", "terms", "run_id", "fetched_at"):
        assert key in item
    assert item["url"].endswith("/doc/a#store") and item["run_id"] == run


def test_evidence_errors_say_what_to_do(tmp_path):
    db = tmp_path / "k.sqlite"
    Store.open(db).close()
    result = runner.invoke(app, ["evidence", "dvc", "--db", str(db)])
    assert result.exit_code == 3 and "collector crawl dvc" in result.stderr
    result = runner.invoke(app, ["evidence", "dvc", "speed", "--db", str(db)])
    assert result.exit_code == 2 and "Unknown criterion 'speed'" in result.stderr
    result = runner.invoke(app, ["evidence", "kedro", "--db", str(db)])
    assert result.exit_code == 2 and "Valid tools" in result.stderr


def test_extract_page_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLECTOR_DB", str(tmp_path / "never.sqlite"))
    page = tmp_path / "p.html"
    page.write_bytes(PAGE)
    result = runner.invoke(app, ["extract", "--page", str(page), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["passages"] and data["passages"][0]["url"].endswith("#store")
    assert not (tmp_path / "never.sqlite").exists()
