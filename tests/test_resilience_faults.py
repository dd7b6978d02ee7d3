"""Server faults during a crawl: the store keeps the last good content of every known page and
`collector diff` reports no false removal. One baseline crawl per module; each test copies its
store and crawls the same local server (same origin, so URLs match) with one fault injected."""
from __future__ import annotations

from pathlib import Path

import pytest

from crawler.localserver import serve
from test_resilience_kit import (copy_store, crawl, diff, evidence_by_path, fetch_rows, integrity, make_site,
                                 page_html, page_shas, removed_paths, review_all, write_robots)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    paths = make_site(root)
    db = tmp_path_factory.mktemp("baseline") / "baseline.sqlite"
    with serve(root) as server:
        result = crawl(db, server.origin)
        assert result["runs"][0]["status"] == "complete"
        review_all(db)
        baseline = evidence_by_path(db, result["runs"][0]["run"])
        assert set(baseline) >= set(paths), "every page of the test site carries tagged evidence"
        yield {"root": root, "server": server, "db": db, "paths": paths, "evidence": baseline,
               "shas": page_shas(db)}


@pytest.fixture
def store(site, tmp_path):
    site["server"].faults.clear()
    yield copy_store(site["db"], tmp_path / "c.sqlite")
    site["server"].faults.clear()


def _fault(site, path: str, fault: dict) -> None:
    # Known pages are requested where the last crawl ended (/p0/ after the 301 from /p0).
    site["server"].faults[path] = fault
    site["server"].faults[path + "/"] = fault


def _crawl_and_check(site, db: Path, path: str, outcome: str, reason: str) -> dict:
    run = crawl(db, site["server"].origin)["runs"][0]
    row = fetch_rows(db, run["run"])[path]
    assert row["outcome"] == outcome, dict(row)
    assert reason.lower() in (row["reason"] or "").lower(), dict(row)
    # The store keeps the last good content: same page hash, its body still there.
    assert page_shas(db) == site["shas"]
    # The new run holds every page's evidence (failed pages carry their last good content) ...
    if outcome == "failed":
        assert row["sha256"] == site["shas"][path]
        assert evidence_by_path(db, run["run"]) == site["evidence"]
    # ... and the diff sees no change at all, in particular no removal.
    result = diff(db)
    assert removed_paths(result) == set()
    assert result.flags == [], [f.summary for f in result.flags]
    assert integrity(db) == "ok"
    return run


def test_server_error(site, store):
    _fault(site, "/p0", {"status": 503})
    run = _crawl_and_check(site, store, "/p0", "failed", "HTTP 503")
    assert run["status"] == "partial"


def test_timeout(site, store):
    _fault(site, "/p1", {"delay": 1.6})     # longer than the crawl's 1 s download timeout
    _crawl_and_check(site, store, "/p1", "failed", "timeout")


def test_connection_reset(site, store):
    _fault(site, "/p2", {"reset": True})
    _crawl_and_check(site, store, "/p2", "failed", "")


def test_truncated_body(site, store):
    """The page changed and its new body arrives cut short: the old content stays."""
    page = site["root"] / "p3" / "index.html"
    original = page.read_text()
    page.write_text(page_html("Scaling pipelines", "Entirely new text about GPUs on Kubernetes. " * 20))
    try:
        _fault(site, "/p3", {"truncate": True})
        _crawl_and_check(site, store, "/p3", "failed", "")
    finally:
        page.write_text(original)


def test_redirect_loop(site, store):
    _fault(site, "/p4", {"redirect": "/p4/"})
    _crawl_and_check(site, store, "/p4", "failed", "redirect")


def test_redirect_off_site(site, store):
    """A known page now redirecting off the site (a move the sources file should follow) is a
    crawl-health event: out of scope, the other host never contacted, the last content kept."""
    _fault(site, "/p5", {"redirect": "http://127.0.0.1:9/elsewhere"})
    run = crawl(store, site["server"].origin)["runs"][0]
    row = fetch_rows(store, run["run"])["/p5"]
    assert row["outcome"] == "out_of_scope" and "127.0.0.1:9/elsewhere" in (row["reason"] or "")
    assert row["sha256"] == site["shas"]["/p5"]
    assert evidence_by_path(store, run["run"]) == site["evidence"]
    assert page_shas(store) == site["shas"]
    result = diff(store)
    assert removed_paths(result) == set() and result.flags == []


def test_robots_newly_disallows_a_known_page(site, store):
    """A page robots.txt now forbids is not a docs removal: blocked, content kept, no flag."""
    write_robots(site["root"], disallow=["/p2"])
    try:
        _crawl_and_check(site, store, "/p2", "blocked", "robots")
        result = diff(store)
        health = result.crawl_health["metaflow"]
        assert [e["url"].rstrip("/").rsplit("/", 1)[-1] for e in health["blocked"]] == ["p2"]
    finally:
        write_robots(site["root"])


def test_page_gone_once_then_again(site, store):
    """404 once: possibly gone, evidence kept, shown as "possibly removed" only (issue 12), never as
    removed. 404 on the next crawl too: removed."""
    _fault(site, "/p1", {"status": 404})
    run = crawl(store, site["server"].origin)["runs"][0]
    assert fetch_rows(store, run["run"])["/p1"]["outcome"] == "gone"
    first = diff(store)
    assert removed_paths(first) == set()
    assert first.flags and {f.kind for f in first.flags} == {"possibly_removed"}
    assert {e["url"].split("#")[0].rsplit("/", 1)[-1] for f in first.flags for e in f.possibly_removed} == {"p1"}
    assert [e["url"] for e in first.crawl_health["metaflow"]["possibly_gone"]] == [
        f"{site['server'].origin}/p1"]
    crawl(store, site["server"].origin)
    second = diff(store)
    assert removed_paths(second) == {"/p1"}
    assert [e["url"] for e in second.crawl_health["metaflow"]["gone"]] == [f"{site['server'].origin}/p1"]
    assert integrity(store) == "ok"


def test_everything_at_once_then_recovery(site, store):
    """All faults in one crawl, then a clean crawl: still nothing removed, nothing flagged."""
    for path, fault in {"/p0": {"status": 500}, "/p1": {"delay": 1.6}, "/p2": {"reset": True},
                        "/p4": {"redirect": "/p4/"}}.items():
        _fault(site, path, fault)
    run = crawl(store, site["server"].origin)["runs"][0]
    assert run["status"] == "partial" and run["stats"]["failed"] == 4
    assert evidence_by_path(store, run["run"]) == site["evidence"]
    site["server"].faults.clear()
    run = crawl(store, site["server"].origin)["runs"][0]
    assert run["status"] == "complete"
    result = diff(store)
    assert result.flags == [] and removed_paths(result) == set()
    assert page_shas(store) == site["shas"]
