"""Link traps end as crawl health, not evidence (issue 9, item 8).

A calendar (/cal/N links to /cal/N+1 and to ?d= dates) and a folder whose every page links to
more/ below itself would each run to the page limit. Query strings are dropped (unless the source
keeps them), paths deeper than max_depth are not followed, and more than max_similar pages that
differ only in their numbers are a trap: 'skipped' verdicts with a "link trap" reason, listed
under crawl health, no evidence, no flag, and not remembered as pages of the site.
"""
from __future__ import annotations

import pytest

from crawler.localserver import serve
from crawler.traps import MAX_SIMILAR
from knowledge.store import Store
from test_resilience_kit import TOOL, crawl, diff, evidence_by_path, fetch_rows, make_site, views

TRAPS = {"/cal/*": {"trap": "calendar"}, "/archive": {"trap": "deeper"}, "/archive/*": {"trap": "deeper"}}


@pytest.fixture(scope="module")
def trapped(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_site(root)
    db = tmp_path_factory.mktemp("db") / "c.sqlite"
    with serve(root, faults=dict(TRAPS)) as server:
        assert crawl(db, server.origin)["runs"][0]["status"] == "complete"
        clean = views(db)
        home = root / "index.html"
        home.write_text(home.read_text().replace(
            "</ul></nav>", "<li><a href='/cal/1'>Events</a></li><li><a href='/archive/'>Archive</a></li></ul></nav>"))
        server.log.clear()
        run = crawl(db, server.origin, max_pages=300)["runs"][0]
        yield {"db": db, "server": server, "clean": clean, "run": run,
               "rows": fetch_rows(db, run["run"]), "requests": server.requests()}


def _trap_rows(rows, prefix: str) -> dict:
    return {p: r for p, r in rows.items() if p.startswith(prefix)}


def test_traps_are_cut_short(trapped):
    assert trapped["run"]["status"] == "complete", trapped["run"]
    for prefix in ("/cal/", "/archive"):
        hits = [e for e in trapped["requests"] if e["path"].startswith(prefix) and e["status"] == 200]
        assert 0 < len(hits) <= MAX_SIMILAR + 2, (prefix, len(hits))
    # ?d= links were not followed as pages of their own
    assert not any("?" in p for p in trapped["rows"]), [p for p in trapped["rows"] if "?" in p]


def test_traps_are_crawl_health_not_evidence(trapped):
    rows = trapped["rows"]
    for prefix in ("/cal/", "/archive"):
        caught = _trap_rows(rows, prefix)
        assert caught and all(r["outcome"] == "skipped" and r["reason"].startswith("link trap")
                              and r["sha256"] is None for r in caught.values()), {p: dict(r) for p, r in caught.items()}
    evidence = evidence_by_path(trapped["db"], trapped["run"]["run"])
    assert not [p for p in evidence if p.startswith(("/cal", "/archive"))], sorted(evidence)
    result = diff(trapped["db"])
    skipped = result.crawl_health[TOOL]["skipped"]
    assert any("link trap" in (e["reason"] or "") for e in skipped)
    # every view equals the crawl before the trap appeared: no junk evidence, no flag
    assert views(trapped["db"]) == trapped["clean"]
    with Store.open(trapped["db"], create=False) as store:
        kept = store.conn.execute("SELECT url FROM pages WHERE path LIKE '/cal%' OR path LIKE '/archive%'").fetchall()
    assert kept == [], "trap pages are not remembered as pages of the site"
