"""Every view shows the same evidence whatever a crawl could not read (issue 9, items 4 and 5).

A page the crawl could not read this time keeps its last good content in `collector evidence`,
`facts`, `report`, `diff` and `review` alike: one definition of "the evidence as of run N"
(knowledge.evidence.read.run_pages). Bytes that are not the page (a binary body, a page in
another charset named only in the HTTP header) never replace it either.

Setup, once per module: a clean crawl of the site, a designed change on /p0 and a second clean
crawl, then `collector diff` (one flag waits for review). What every view shows then is the
reference. Each test copies that store, crawls the same server again with one fault on /p3, and
compares every view with the reference.
"""
from __future__ import annotations

import pytest

from crawler.localserver import serve
from test_resilience_kit import (FAST, TOOL, copy_store, crawl, fetch_rows, make_site, page_html, views,
                                 without_possibly_removed, write_robots)

PAGE = "/p3"
# Non-ASCII text, so a wrong decoding shows: umlauts, sharp s, curly quotes, an em dash.
P3 = page_html("Datensätze versionieren",
               "Versionierung für Datensätze und Modelle — „Grüße“ aus Amazon S3 and Azure Blob Storage.",
               anchor="s3")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_site(root, pages={PAGE: P3})
    db = tmp_path_factory.mktemp("clean") / "clean.sqlite"
    with serve(root) as server:
        assert crawl(db, server.origin)["runs"][0]["status"] == "complete"
        p0 = root / "p0" / "index.html"
        p0.write_text(p0.read_text().replace("</article>", "<h2 id='new'>Google Cloud</h2><p>Metaflow now "
                                             "supports Google Cloud Storage for data versioning.</p></article>"))
        run = crawl(db, server.origin)["runs"][0]
        assert run["status"] == "complete"
        clean = views(db)
        assert clean["review"], "the designed change waits for review, so the review views have content"
        assert any(p == PAGE.strip("/") for p, _c, _t in clean["evidence_pairs"]), "the faulted page has evidence"
        yield {"root": root, "server": server, "db": db, "views": clean, "run": run["run"]}


@pytest.fixture
def store(site, tmp_path):
    site["server"].faults.clear()
    yield copy_store(site["db"], tmp_path / "c.sqlite")
    site["server"].faults.clear()


def _fault(site, fault: dict, path: str = PAGE) -> None:
    # Known pages are requested where the last crawl ended (/p3/ after the 301 from /p3).
    site["server"].faults[path] = fault
    site["server"].faults[path + "/"] = fault


def _same_views_after(site, db, outcome: str, reason: str = "", settings: dict | None = None) -> dict:
    run = crawl(db, site["server"].origin, settings=settings or FAST)["runs"][0]
    assert run["status"] in ("complete", "partial"), run
    row = fetch_rows(db, run["run"])[PAGE]
    assert row["outcome"] == outcome, dict(row)
    assert reason.lower() in (row["reason"] or "").lower(), dict(row)
    after = views(db)
    # A page answering 404 once keeps its evidence in every view; `collector diff` also lists its
    # passages as "possibly removed" (lowest rank, confirmed or withdrawn by the next crawl), so the
    # flags of its cells change by that entry and nothing else.
    maybe = {"diff_flags", "diff_cells", "review", "review_terms"} if outcome == "gone" else set()
    for view in site["views"]:
        if view not in maybe:
            assert after[view] == site["views"][view], f"`collector {view.split('_')[0]}` changed after a {outcome} page"
    if maybe:
        assert set(after["diff_cells"]) == set(site["views"]["diff_cells"])
        for cell, summary in after["diff_cells"].items():
            assert without_possibly_removed(summary) == site["views"]["diff_cells"][cell], summary
    return run


def test_failed_page(site, store):
    _fault(site, {"status": 503})
    _same_views_after(site, store, "failed", "HTTP 503")


def test_page_skipped_by_the_size_cap(site, store):
    _fault(site, {"body": P3.replace("<p>", "<p>" + "Versioned data on S3. " * 10_000, 1)})
    _same_views_after(site, store, "skipped", "size cap", settings={**FAST, "DOWNLOAD_MAXSIZE": 100_000})


def test_page_answering_404_once(site, store):
    _fault(site, {"status": 404, "times": 1})
    _same_views_after(site, store, "gone", "404")


def test_page_newly_blocked_by_robots_txt(site, store):
    write_robots(site["root"], disallow=[PAGE])
    try:
        _same_views_after(site, store, "blocked", "robots")
    finally:
        write_robots(site["root"])


def test_binary_body_served_as_html_is_a_failed_fetch(site, store):
    """Item 5: random bytes labelled text/html are not the page: a failed fetch, last content kept."""
    _fault(site, {"binary": 200_000})
    run = _same_views_after(site, store, "failed", "not a text page")
    assert run["status"] == "partial"


@pytest.mark.parametrize("fault", [
    {"charset": "cp1252", "label": "windows-1252"},
    {"charset": "latin-1", "label": "iso-8859-1"},
    {"charset": "utf-16-le", "label": "utf-16"},          # no BOM: only the header says UTF-16
], ids=["windows-1252", "iso-8859-1", "utf-16-no-bom"])
def test_charset_named_only_in_the_http_header(site, store, fault):
    """Item 5: the same page in another encoding, named only in the Content-Type header, decodes
    to the same text (as a browser reads it): same evidence everywhere, no flag."""
    _fault(site, fault)
    _same_views_after(site, store, "fetched")


# ----------------------------------------------------------------------------- decoding rules, one by one
@pytest.mark.parametrize("data, content_type, expected", [
    ("Grüße".encode("cp1252"), "text/html; charset=windows-1252", "cp1252"),
    ("Grüße".encode("latin-1"), "text/html; charset=ISO-8859-1", "cp1252"),       # WHATWG: latin-1 is 1252
    ("<p>Grüße</p>".encode("utf-16-le"), "text/html; charset=utf-16", "utf-16-le"),  # the label means LE
    ("<p>Grüße</p>".encode("utf-16-le") * 20, None, "utf-16-le"),                 # detected without BOM
    ("<p>Grüße</p>".encode("utf-16-be") * 20, None, "utf-16-be"),
    (b"\xef\xbb\xbf<meta charset='latin-1'>", "text/html; charset=cp1252", "utf-8"),   # the BOM wins
    (b"<meta charset='utf-16'><p>Gr\xc3\xbc\xc3\x9fe</p>", None, "utf-8"),            # a <meta> cannot mean UTF-16
    ("<meta charset='windows-1252'>Grüße".encode("cp1252"), "text/html", "cp1252"),
    ("<p>Grüße</p>".encode("cp1252"), None, "cp1252"),                             # not UTF-8: Western default
])
def test_page_encoding_as_a_browser(data, content_type, expected):
    from extractors.html_decode import page_encoding

    assert page_encoding(data, content_type) == expected


def test_stored_bytes_read_back_as_the_browser_read_them():
    from extractors.html_decode import decode, for_storage, to_text

    utf8 = "<meta charset='utf-8'><p>Grüße</p>".encode()
    assert for_storage(utf8, "text/html; charset=utf-8") is utf8, "UTF-8 pages are stored as received"
    latin = "<p>Grüße — „x“</p>".encode("cp1252")
    stored = for_storage(latin, "text/html; charset=windows-1252")
    assert to_text(stored) == decode(latin, "text/html; charset=windows-1252") == "<p>Grüße — „x“</p>"
    assert for_storage(bytes(range(256)) * 200, "text/html; charset=utf-8") is None, "binary is not a page"
    assert for_storage(b"", "text/html") == b"", "an empty page is still a page"
