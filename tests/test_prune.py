"""prune: old crawls go, what reviews and the next diff need stays."""
import pytest
from typer.testing import CliRunner

from cli import app
from crawler.reads import PageReads, save_reads
from knowledge.evidence.build import build_evidence
from knowledge.evidence.read import run_evidence
from knowledge.ops.prune import prune
from knowledge.store import Store


def page(text: str) -> bytes:
    return f"<html><body><main><h1 id='s'>Storage</h1><p>{text} Push data to an S3 bucket as remote storage.</p>" \
           f"</main></body></html>".encode()


def add_run(store: Store, tool: str, body: bytes) -> int:
    run = store.start_run(tool, settings={"source": {"content": ["main"], "drop": []}})
    with store.transaction():
        sha = store.put_blob(body)
        store.conn.execute(
            "INSERT INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at) "
            "VALUES (?, 'http://127.0.0.1:9/doc/a', '/doc/a', 'fetched', 'changed', 200, ?, '2026-01-01T00:00:00Z')",
            (run, sha))
    store.finish_run(run, "complete")
    return run


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "k.sqlite") as s:
        yield s


def test_prune_keeps_newest_reviewed_and_flagged_crawls(store):
    runs = [add_run(store, "dvc", page(f"Week {i}.")) for i in range(5)]
    build_evidence(store, runs)
    store.conn.execute("INSERT INTO reviewed_state VALUES ('dvc', 'storage', ?, 'x', NULL, '2026')", (runs[0],))
    store.conn.execute(
        "INSERT INTO flags (id, tool, criterion, kind, rank, summary, from_run, to_run, to_state, rules_version, "
        "payload, status, created_at, updated_at) VALUES ('F1', 'dvc', 'storage', 'wording', 4, 's', ?, ?, 'y', "
        "'r', '{}', 'open', '2026', '2026')", (runs[1], runs[2]))
    from knowledge.claims.cache import run_verdicts

    for r in runs:   # the claim check's cached verdicts of every crawl
        run_verdicts(store, store.get_run(r))
    with store.transaction():   # what the crawler read from each body (crawler.reads)
        for sha, in store.conn.execute("SELECT sha256 FROM blobs").fetchall():
            save_reads(store, sha, PageReads(fingerprint="f", doc_version=None, links=("/doc/b",)))
    stats = prune(store, keep=1)
    assert stats["runs_dropped"] == [runs[3]]
    cached = {r[0] for r in store.conn.execute("SELECT run_id FROM claim_verdicts")}
    assert cached == {runs[0], runs[1], runs[2], runs[4]}      # a dropped crawl's derived data goes too
    left = {r["id"] for r in store.list_runs()}
    assert left == {runs[0], runs[1], runs[2], runs[4]}
    assert stats["pages_dropped"] == 1 and stats["passages_dropped"] >= 1
    # the kept crawls still read, with their evidence cached
    assert "storage" in {e.criterion for e in run_evidence(store, runs[4], build=False)}
    assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert store.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 4
    kept = {r[0] for r in store.conn.execute("SELECT sha256 FROM blobs")}
    assert {r[0] for r in store.conn.execute("SELECT sha256 FROM page_reads")} == kept   # the dropped body's too


def test_dry_run_changes_nothing_and_keep_must_be_positive(tmp_path):
    db = tmp_path / "k.sqlite"
    with Store.open(db) as s:
        for i in range(3):
            add_run(s, "dvc", page(f"Week {i}."))
    runner = CliRunner()
    result = runner.invoke(app, ["prune", "--db", str(db), "--keep", "1", "--dry-run"])
    assert result.exit_code == 0 and "Would drop crawl runs: 1, 2" in result.stderr
    with Store.open(db) as s:
        assert len(s.list_runs()) == 3
    result = runner.invoke(app, ["prune", "--db", str(db), "--keep", "0"])
    assert result.exit_code == 2 and "at least 1" in result.stderr
    result = runner.invoke(app, ["prune", "--db", str(db), "--keep", "1"])
    assert result.exit_code == 0, result.output
    with Store.open(db) as s:
        assert [r["id"] for r in s.list_runs()] == [3]


def crawl_week(store: Store, verdicts: dict[str, str], week: int) -> int:
    """One crawl of two pages; verdicts: path -> 'fetched' (this week's text) or 'gone' (a 404)."""
    run = store.start_run("dvc", settings={"source": {"content": ["main"], "drop": []}})
    with store.transaction():
        for path, outcome in verdicts.items():
            sha = store.put_blob(page(f"{path} in week {week}.")) if outcome == "fetched" else None
            store.conn.execute(
                "INSERT INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at) "
                "VALUES (?, ?, ?, ?, NULL, ?, ?, ?)",
                (run, f"http://127.0.0.1:9{path}", path, outcome, 200 if sha else 404, sha, f"2026-01-0{week}T00:00:00Z"))
    store.finish_run(run, "complete")
    return run


def test_prune_keeps_what_a_kept_crawl_reads_a_404_once_page_from(store):
    from knowledge.evidence.read import run_pages

    def state(run_id):
        return [(p.path, p.sha256, p.fetched_at, p.carried) for p in run_pages(store, run_id)]

    crawl_week(store, {"/a": "fetched", "/b": "fetched"}, 1)
    second = crawl_week(store, {"/a": "fetched", "/b": "fetched"}, 2)
    crawl_week(store, {"/a": "fetched", "/b": "fetched"}, 3)
    crawl_week(store, {"/a": "fetched", "/b": "gone"}, 4)       # /b: 404 once, "possibly gone"
    newest = crawl_week(store, {"/a": "fetched", "/b": "gone"}, 5)   # /b: gone
    possibly = newest - 1
    before = {r: state(r) for r in (possibly, newest)}
    assert [p for p, *_ in before[possibly]] == ["/a", "/b"] and [p for p, *_ in before[newest]] == ["/a"]
    stats = prune(store, keep=2)
    # the newest two stay; week 3 stays for the 404-once page's content and its previous verdict
    assert stats["runs_dropped"] == [1, second]
    assert {r: state(r) for r in (possibly, newest)} == before   # no page vanished or came back
