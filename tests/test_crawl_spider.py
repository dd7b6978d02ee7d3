"""Spider callbacks fed with saved HTML (no network, no reactor)."""
from __future__ import annotations

import scrapy
from scrapy.http import HtmlResponse, Response, XmlResponse
from scrapy.exceptions import DownloadConnectionRefusedError, IgnoreRequest
from twisted.python.failure import Failure

from conftest import html
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
    outputs = list(outputs)
    return ([o for o in outputs if isinstance(o, dict)], [o for o in outputs if isinstance(o, scrapy.Request)])


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
    assert items == [{"url": page, "path": "/docs/old", "outcome": "not_modified", "http_status": 304, "sha256": "s1",
                      "final_url": page + "/", "etag": '"e"', "last_modified": None}]
    assert [r.url for r in requests] == [f"{ORIGIN}/docs/linked-only-here"]


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
    # a redirect stub to a page this run already has is not a page itself
    s.seen.add(f"{ORIGIN}/docs/new")
    assert list(s.parse(respond(f"{ORIGIN}/docs/new/", html("New"), page=f"{ORIGIN}/docs/old"))) == []
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
