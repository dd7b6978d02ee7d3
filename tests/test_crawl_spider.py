"""Spider callbacks fed with saved HTML (no network, no reactor)."""
from __future__ import annotations

import scrapy
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.exceptions import DownloadConnectionRefusedError, IgnoreRequest
from twisted.python.failure import Failure

from conftest import html
from crawler.reads import PageReads
from crawler.spider import DocsSpider

ORIGIN = "http://127.0.0.1:9"
SOURCE = {"tool": "t", "roots": [f"{ORIGIN}/"], "allow": [f"{ORIGIN}/docs"], "deny": [f"{ORIGIN}/docs/static/"],
          "sitemaps": [], "max_pages": 100}


def spider(**kwargs) -> DocsSpider:
    return DocsSpider(source=dict(SOURCE, **kwargs.pop("source", {})), **kwargs)


def respond(url: str, body: bytes | str = b"", status: int = 200, page: str | None = None, cls=HtmlResponse,
            headers: dict | None = None, request_url: str | None = None) -> Response:
    if isinstance(body, str):
        body = body.encode()
    request = scrapy.Request(request_url or url, meta={"page": page or url})
    hdrs = {"Content-Type": "text/html; charset=utf-8"} if cls is HtmlResponse else {}
    hdrs.update(headers or {})
    return cls(url=url, body=body, status=status, request=request, headers=hdrs)


def split(outputs):
    """(page verdicts, requests); record items (aliases, cited checks) are left out: see `records`."""
    outputs = list(outputs)
    return ([o for o in outputs if isinstance(o, dict) and "record" not in o],
            [o for o in outputs if isinstance(o, scrapy.Request)])


def records(outputs, kind: str) -> list[dict]:
    return [o for o in outputs if isinstance(o, dict) and o.get("record") == kind]


def test_parse_records_page_and_follows_only_in_scope_links_once():
    body = html("Guide", "intro", "/docs/guide/setup?utm_campaign=x#part", "/docs/static/app", "https://else.where/",
                "/blog/post", "/docs/img/a.png", "mailto:x@y.z", "#top", "intro/")
    s = spider()
    items, requests = split(s.parse(respond(f"{ORIGIN}/docs/guide/", body, page=f"{ORIGIN}/docs/guide",
                                            headers={"ETag": '"abc"', "Last-Modified": "Fri, 01 Mar 2024 04:00:00 GMT"})))
    page = items[0]
    assert page["outcome"] == "fetched" and page["url"] == f"{ORIGIN}/docs/guide" and page["path"] == "/docs/guide"
    assert page["etag"] == '"abc"' and page["last_modified"] == "Fri, 01 Mar 2024 04:00:00 GMT"
    assert page["body"] == body.encode()
    assert sorted(r.url for r in requests) == [f"{ORIGIN}/docs/guide/intro", f"{ORIGIN}/docs/guide/setup"]
    assert [i for i in items[1:]] == [{"url": f"{ORIGIN}/docs/img/a.png", "path": "/docs/img/a.png",
                                       "outcome": "skipped", "reason": "not HTML (.png)"}]
    # the same links on another page are not requested again
    again = html("Other", "/docs/guide/intro", "/docs/guide/setup")
    assert split(s.parse(respond(f"{ORIGIN}/docs/other/", again)))[1] == []
    assert all(r.meta["page"] in s.seen for r in requests)


def test_not_modified_reuses_stored_body_and_still_finds_links():
    stored = html("Old", "/docs/linked-only-here").encode()
    page = f"{ORIGIN}/docs/old"
    s = spider(known={page: {"sha256": "s1", "etag": '"e"', "last_modified": None, "final_url": page + "/"}},
               load_body={"s1": stored}.get)
    items, requests = split(s.parse(respond(page + "/", b"", status=304, page=page, cls=Response)))
    reads = items[0].pop("reads")   # read from the stored copy once, to be kept for the next 304
    assert items == [{"url": page, "path": "/docs/old", "outcome": "not_modified", "http_status": 304, "sha256": "s1",
                      "final_url": page + "/", "etag": '"e"', "last_modified": None, "doc_version": None}]
    assert [r.url for r in requests] == [f"{ORIGIN}/docs/linked-only-here"]
    assert reads.links == ("/docs/linked-only-here",) and reads.fingerprint


def test_not_modified_with_kept_reads_neither_loads_nor_parses_the_stored_copy():
    page = f"{ORIGIN}/docs/old"

    def no_body(sha):
        raise AssertionError("a 304 with kept reads must not load the stored body")

    kept = PageReads(fingerprint="f1", doc_version="2.11.0", links=("/docs/a", "b", "https://else.where/x"))
    s = spider(known={page: {"sha256": "s1", "etag": '"e"', "last_modified": None, "final_url": None}},
               load_body=no_body, load_reads={"s1": kept}.get)
    items, requests = split(s.parse(respond(page, b"", status=304, page=page, cls=Response)))
    assert [(i["outcome"], i["doc_version"], "reads" in i) for i in items] == [("not_modified", "2.11.0", False)]
    # relative links resolve against the page's URL, as when the page was parsed
    assert sorted(r.url for r in requests) == [f"{ORIGIN}/docs/a", f"{ORIGIN}/docs/b"]


def test_fetched_page_reads_match_what_a_304_would_read_from_the_stored_copy():
    body = html("Guide", "/docs/one", "two", "mailto:x@y.z", "/docs/one#again")
    page = f"{ORIGIN}/docs/guide"
    s = spider()
    items, requests = split(s.parse(respond(page, body)))
    reads = items[0]["reads"]
    assert reads.links == ("/docs/one", "two") and reads.doc_version is None
    again = spider(known={page: {"sha256": "s1", "etag": None, "last_modified": None, "final_url": None}},
                   load_body={"s1": body.encode()}.get)
    items304, requests304 = split(again.parse(respond(page, b"", status=304, page=page, cls=Response)))
    assert items304[0]["reads"] == reads
    assert sorted(r.url for r in requests304) == sorted(r.url for r in requests)


def test_page_with_its_own_base_keeps_no_links_and_a_304_parses_it():
    body = ('<html><head><base href="/docs/other/"></head><body><h1>B</h1><a href="x">x</a></body></html>')
    page = f"{ORIGIN}/docs/based"
    items, requests = split(spider().parse(respond(page, body)))
    assert items[0]["reads"].links is None and [r.url for r in requests] == [f"{ORIGIN}/docs/other/x"]
    kept = items[0]["reads"]
    s = spider(known={page: {"sha256": "s1", "etag": None, "last_modified": None, "final_url": None}},
               load_body={"s1": body.encode()}.get, load_reads={"s1": kept}.get)
    _items, again = split(s.parse(respond(page, b"", status=304, page=page, cls=Response)))
    assert [r.url for r in again] == [f"{ORIGIN}/docs/other/x"]


def test_error_statuses_become_verdicts():
    s = spider()
    gone, _ = split(s.parse(respond(f"{ORIGIN}/docs/a", b"nope", status=404)))
    failed, _ = split(s.parse(respond(f"{ORIGIN}/docs/b", b"oops", status=500)))
    assert gone[0]["outcome"] == "gone" and gone[0]["http_status"] == 404
    assert failed[0]["outcome"] == "failed" and failed[0]["http_status"] == 500 and failed[0]["reason"] == "HTTP 500"


def test_non_html_content_type_is_skipped_and_not_parsed():
    s = spider()
    items, requests = split(s.parse(respond(f"{ORIGIN}/docs/feed", b"<feed/>", cls=XmlResponse,
                                            headers={"Content-Type": "application/atom+xml"})))
    assert items[0]["outcome"] == "skipped" and "application/atom+xml" in items[0]["reason"] and not requests


def test_redirects_record_the_final_page_or_leave_scope():
    s = spider()
    # a redirect stub to a page this run already has is not a page itself, only another URL of it
    s.seen.add(f"{ORIGIN}/docs/new")
    assert list(s.parse(respond(f"{ORIGIN}/docs/new/", html("New"), page=f"{ORIGIN}/docs/old"))) == [
        {"record": "alias", "alias": f"{ORIGIN}/docs/old", "url": f"{ORIGIN}/docs/new", "kind": "redirect"}]
    items, _ = split(s.parse(respond(f"{ORIGIN}/docs/moved/", html("Moved"), page=f"{ORIGIN}/docs/gone-away")))
    assert items[0]["url"] == f"{ORIGIN}/docs/moved" and items[0]["outcome"] == "fetched"
    out, _ = split(s.parse(respond("http://127.0.0.1:9/blog/x", html("Blog"), page=f"{ORIGIN}/docs/to-blog")))
    assert out[0]["outcome"] == "out_of_scope" and out[0]["url"] == f"{ORIGIN}/docs/to-blog"


def test_page_limit_skips_the_rest():
    s = spider(max_pages=1)
    first = list(s.page(f"{ORIGIN}/docs/a"))
    second = list(s.page(f"{ORIGIN}/docs/b"))
    assert isinstance(first[0], scrapy.Request)
    assert second[0]["outcome"] == "skipped" and "page limit" in second[0]["reason"] and s.limit_hit


def test_known_page_is_requested_at_its_last_final_url():
    page = f"{ORIGIN}/docs/x"
    s = spider(known={page: {"sha256": "s", "etag": None, "last_modified": None, "final_url": page + "/"}})
    (request,) = list(s.page(page))
    assert request.url == page + "/" and request.meta["page"] == page


def test_errback_robots_and_size_cap_and_transport_errors():
    s = spider()

    def fail(exc, url):
        failure = Failure(exc)
        failure.request = scrapy.Request(url, meta={"page": url})
        return list(s.failed(failure))

    assert fail(IgnoreRequest("Forbidden by robots.txt"), f"{ORIGIN}/docs/p")[0]["outcome"] == "blocked"
    big = fail(Exception("Cancelling download: expected response size (20000000) larger than download max size"),
               f"{ORIGIN}/docs/big")[0]
    assert big["outcome"] == "skipped" and "size cap" in big["reason"]
    conn = fail(DownloadConnectionRefusedError("Connection was refused"), f"{ORIGIN}/docs/c")[0]
    assert conn["outcome"] == "failed" and conn["reason"].startswith("connection refused")
    other = fail(ValueError("odd"), f"{ORIGIN}/docs/d")[0]
    assert other["outcome"] == "failed" and other["reason"] == "ValueError: odd"
    scope = fail(IgnoreRequest("redirect leaves the source's scope: http://x/"), f"{ORIGIN}/docs/r")[0]
    assert scope["outcome"] == "out_of_scope"


def test_sitemap_entries_are_scheduled_and_outside_ones_noted():
    xml = (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           f"<url><loc>{ORIGIN}/docs/a</loc></url><url><loc>https://elsewhere.invalid/b</loc></url></urlset>")
    s = spider()
    items, requests = split(s.parse_sitemap(respond(f"{ORIGIN}/sitemap.xml", xml, cls=XmlResponse)))
    assert [r.url for r in requests] == [f"{ORIGIN}/docs/a"]
    assert items[0]["outcome"] == "out_of_scope" and items[0]["url"] == "https://elsewhere.invalid/b"


# --------------------------------------------------------------------------- live sites on a mirror
LIVE = "https://docs.live.invalid"
MIRRORED = {"roots": [f"{ORIGIN}/docs"], "allow": [f"{ORIGIN}/docs"], "origin": ORIGIN, "live_origins": [LIVE],
            "variants": {"r": "/docs/v/r/"}}


def test_sitemap_links_and_robots_naming_the_live_host_are_crawled_on_the_mirror():
    s = spider(source=MIRRORED)
    xml = (f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
           f"<url><loc>{LIVE}/docs/a</loc></url><url><loc>{LIVE}/docs/v/r/intro</loc></url>"
           f"<url><loc>https://cdn.other.invalid/docs/b</loc></url></urlset>")
    items, requests = split(s.parse_sitemap(respond(f"{ORIGIN}/sitemap.xml", xml, cls=XmlResponse)))
    assert [r.url for r in requests] == [f"{ORIGIN}/docs/a"]
    reasons = {i["url"]: i["reason"] for i in items}
    assert "doc variant 'r'" in reasons[f"{ORIGIN}/docs/v/r/intro"]
    assert reasons["https://cdn.other.invalid/docs/b"] == "sitemap entry outside the source's scope"
    body = html("Page", f"{LIVE}/docs/c", f"{LIVE}/docs/v/r/other", "https://github.invalid/x")
    _, requests = split(s.parse(respond(f"{ORIGIN}/docs/p", body)))
    assert [r.url for r in requests] == [f"{ORIGIN}/docs/c"]


def test_canonical_link_names_the_page_to_crawl_and_a_root_canonical_is_ignored():
    s = spider(source=MIRRORED)
    dup = html("Print view", extra="").replace("<head>", f"<head><link rel='canonical' href='{LIVE}/docs/guide'>")
    out = list(s.parse(respond(f"{ORIGIN}/docs/guide/print", dup)))
    items, requests = split(out)
    assert items == [] and [r.url for r in requests] == [f"{ORIGIN}/docs/guide"]
    assert records(out, "alias") == [{"record": "alias", "alias": f"{ORIGIN}/docs/guide/print",
                                      "url": f"{ORIGIN}/docs/guide", "kind": "canonical"}]
    # the guide naming its print view back: a cycle, so the guide stays the page
    back = html("Guide").replace("<head>", f"<head><link rel='canonical' href='{LIVE}/docs/guide/print'>")
    items, _ = split(s.parse(respond(f"{ORIGIN}/docs/guide", back)))
    assert items[0]["outcome"] == "fetched" and items[0]["url"] == f"{ORIGIN}/docs/guide"
    # every page's canonical pointing at the home page is a template bug: the page stays itself
    home = html("Other").replace("<head>", f"<head><link rel='canonical' href='{LIVE}/docs'>")
    items, _ = split(s.parse(respond(f"{ORIGIN}/docs/other", home)))
    assert items[0]["outcome"] == "fetched" and items[0]["url"] == f"{ORIGIN}/docs/other"


def test_index_page_links_are_one_page_and_recorded_as_aliases():
    s = spider()
    out = list(s.parse(respond(f"{ORIGIN}/docs/p", html("P", "/docs/x/index.html", "/docs/x/"))))
    _, requests = split(out)
    assert [r.url for r in requests] == [f"{ORIGIN}/docs/x/index.html"]       # requested as linked ...
    assert requests[0].meta["page"] == f"{ORIGIN}/docs/x"                       # ... known as /docs/x
    assert [a["alias"] for a in records(out, "alias")] == [f"{ORIGIN}/docs/x/index.html"]


def test_cited_checks_follow_redirects_by_hand():
    s = spider(source=dict(MIRRORED, cited=[f"{LIVE}/docs/old#part", f"{LIVE}/docs/gone", "https://else.invalid/p"]))
    first = list(s.cited_requests())
    assert [r.url for r in first] == [f"{ORIGIN}/docs/old", f"{ORIGIN}/docs/gone"]    # the other host: unchecked

    def answer(request, status=200, body=b"", headers=None):
        cls = HtmlResponse if status == 200 else Response
        hdrs = {"Content-Type": "text/html"} if cls is HtmlResponse else {}
        return cls(url=request.url, status=status, body=body, request=request, headers={**hdrs, **(headers or {})})

    (hop,) = s.parse_cited(answer(first[0], 301, headers={"Location": f"{LIVE}/docs/stub"}))
    assert hop.url == f"{ORIGIN}/docs/stub" and hop.meta["hops"] == 1
    stub = b"<html><head><meta http-equiv='refresh' content='0; url=/docs/new'></head></html>"
    (hop2,) = s.parse_cited(answer(hop, 200, stub))
    (done,) = s.parse_cited(answer(hop2, 200, b"<html><body><h2 id='part'>Part</h2></body></html>"))
    assert done == {"record": "cited", "url": f"{LIVE}/docs/old#part", "checked_url": f"{ORIGIN}/docs/old",
                    "status": "redirected", "http_status": 200, "final_url": f"{ORIGIN}/docs/new", "anchor_found": 1}
    (gone,) = s.parse_cited(answer(first[1], 404))
    assert gone["status"] == "gone" and gone["final_url"] is None


def test_a_citation_the_crawl_fetches_anyway_costs_no_second_request():
    s = spider(source=dict(MIRRORED, cited=[f"{LIVE}/docs/guide#setup", f"{LIVE}/docs/gone"]))
    body = html("Guide").replace("</main>", "<h2 id='setup'>Setup</h2></main>")
    out = list(s.parse(respond(f"{ORIGIN}/docs/guide/", body, page=f"{ORIGIN}/docs/guide")))
    assert records(out, "cited") == [{"record": "cited", "url": f"{LIVE}/docs/guide#setup", "checked_url":
                                      f"{ORIGIN}/docs/guide", "http_status": 200, "status": "fetched",
                                      "final_url": None, "anchor_found": 1}]
    # when the crawl is done, only the citation it never came across is requested
    assert [r.url for r in s.cited_requests()] == [f"{ORIGIN}/docs/gone"]
    assert list(s.cited_requests()) == []


def test_page_reads_come_from_the_stored_bytes_whatever_the_response_class():
    from crawler.reads import read_page

    body = html("Plain", "/docs/x").encode()
    plain = Response(url=f"{ORIGIN}/docs/p", body=body)   # no Content-Type: Scrapy may not say HTML
    assert read_page(plain, body).links == ("/docs/x",)
    assert read_page(respond(f"{ORIGIN}/docs/p", body), body) == read_page(plain, body)


def test_page_reads_are_keyed_by_the_code_that_reads_them(tmp_path):
    """An edit to the reading code (links, fingerprint, doc_version) must not reuse older readings."""
    from crawler import reads
    from knowledge.store import Store

    with Store.open(tmp_path / "r.sqlite") as store:
        with store.transaction():
            reads.save_reads(store, "s1", PageReads("f", "1.0", ("/docs/a",)))
        assert reads.load_reads(store, "s1") == PageReads("f", "1.0", ("/docs/a",))
        assert len(reads.READER) == 12 and reads.READER == reads._reader_version()
        old = reads.READER
        try:
            reads.READER = "edited-code"
            assert reads.load_reads(store, "s1") is None
        finally:
            reads.READER = old
