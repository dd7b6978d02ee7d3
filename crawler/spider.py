"""One generic documentation spider, configured by a source entry (knowledge.domain.sources.Source).

It starts from the roots, the source's sitemaps, robots.txt `Sitemap:` lines and every page the
store already knows (each is requested again, conditionally), follows in-scope links only, and
yields one verdict item per page URL (dicts; see `verdict`). Storage is the pipeline's job.
"""
from __future__ import annotations

import gzip
from urllib.parse import urljoin
from typing import Any, Callable, Iterator

import scrapy
from scrapy import signals
from scrapy.exceptions import (CannotResolveHostError, DownloadCancelledError, DownloadConnectionRefusedError,
                               DownloadTimeoutError, IgnoreRequest, ResponseDataLossError)
from scrapy.http import HtmlResponse, Response
from scrapy.utils.response import get_base_url
from scrapy.utils.sitemap import Sitemap

from crawler.urls import in_scope, normalise, origin_of, path_of, skipped_extension

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Every error status reaches the callback (after retries) so it gets a verdict; 3xx are followed.
HANDLED_STATUSES = [304] + list(range(400, 600))


def verdict(url: str, outcome: str, **fields: Any) -> dict:
    """A page verdict: outcome is fetched/not_modified/failed/gone/blocked/out_of_scope/skipped."""
    return {"url": url, "path": path_of(url), "outcome": outcome, **fields}


class DocsSpider(scrapy.Spider):
    name = "docs"
    handle_httpstatus_list = HANDLED_STATUSES

    def __init__(self, source: dict, known: dict[str, dict] | None = None, max_pages: int | None = None,
                 load_body: Callable[[str], bytes | None] | None = None, **kwargs: Any):
        super().__init__(name=f"docs-{source['tool']}", **kwargs)
        self.source = source
        self.allow = tuple(source["allow"])
        self.deny = tuple(source.get("deny", ()))
        self.known = known or {}              # url -> {etag, last_modified, sha256, final_url}
        self.max_pages = max_pages if max_pages is not None else int(source.get("max_pages", 2000))
        self.load_body = load_body or (lambda sha: None)
        self.seen: set[str] = set()           # page identities with a request or a verdict this run
        self.resolved: set[str] = set()       # raw absolute link targets already considered
        self.requested = 0
        self.limit_hit = False
        self.crawl_delays: dict[str, float] = {}

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        return spider

    # ------------------------------------------------------------------ start
    async def start(self):
        for url in self.source["roots"]:
            for out in self.page(url):
                yield out
        for url in self.source.get("sitemaps", ()):
            yield self.sitemap_request(url)
        for url in self.known:
            for out in self.page(url):
                yield out

    def robots_parsed(self, robotparser, request) -> None:
        """Scrapy's robots middleware parsed a host's robots.txt: take Crawl-delay and Sitemap lines."""
        host = request.url.split("/", 3)[2]
        ua = self.settings.get("USER_AGENT", "*")
        delay = robotparser.crawl_delay(ua)
        if delay:
            self.crawl_delays[host] = float(delay)
        for url in getattr(getattr(robotparser, "rp", None), "sitemaps", ()) or ():
            if url not in self.source.get("sitemaps", ()):
                self.crawler.engine.crawl(self.sitemap_request(url))

    def sitemap_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_sitemap, errback=self.sitemap_error,
                              dont_filter=True, priority=10, meta={"sitemap": True})

    # ------------------------------------------------------------------ scheduling
    def page(self, url: str, *, from_sitemap: bool = False) -> Iterator[scrapy.Request | dict]:
        """A request for a page (once per run), or its verdict when it is not to be fetched."""
        identity = normalise(url)
        if identity is None or identity in self.seen:
            return
        if not in_scope(identity, self.allow, self.deny):
            if from_sitemap:  # external links are simply not followed; a sitemap entry is worth noting
                self.seen.add(identity)
                yield verdict(identity, "out_of_scope", reason="sitemap entry outside the source's scope")
            return
        self.seen.add(identity)
        ext = skipped_extension(identity)
        if ext:
            yield verdict(identity, "skipped", reason=f"not HTML (.{ext})")
            return
        if self.requested >= self.max_pages:
            self.limit_hit = True
            yield verdict(identity, "skipped", reason=f"page limit ({self.max_pages}) reached")
            return
        self.requested += 1
        known = self.known.get(identity) or {}
        # Ask where the last crawl ended (e.g. /x/ after a 301 from /x): one round trip, not two.
        final = known.get("final_url")
        target = final if final and normalise(final) == identity else identity
        yield scrapy.Request(target, callback=self.parse, errback=self.failed, dont_filter=True,
                             meta={"page": identity})

    # ------------------------------------------------------------------ callbacks
    def parse(self, response: Response, **kwargs: Any):
        page = response.meta.get("page") or normalise(response.url)
        final = normalise(response.url)
        final_url = response.url if response.url != page else None
        if final and final != page:  # an HTTP or meta-refresh redirect moved us elsewhere
            if not in_scope(final, self.allow, self.deny):
                yield verdict(page, "out_of_scope", http_status=response.status, final_url=response.url,
                              reason=f"redirects outside the source's scope to {response.url}")
                return
            if final in self.seen:
                return  # a redirect stub to a page this run already has: not a page itself
            self.seen.add(final)
            page = final
        status = response.status
        if status == 304:
            yield from self.not_modified(page, response, final_url)
        elif status in (404, 410):
            yield verdict(page, "gone", http_status=status, reason=f"HTTP {status}")
        elif status >= 400:
            yield verdict(page, "failed", http_status=status, reason=f"HTTP {status}", final_url=final_url)
        else:
            ctype = response.headers.get(b"Content-Type", b"").decode("latin-1").split(";")[0].strip().lower()
            if ctype and ctype not in HTML_TYPES:
                yield verdict(page, "skipped", http_status=status, reason=f"not HTML ({ctype})")
                return
            yield verdict(page, "fetched", http_status=status, body=response.body, final_url=final_url,
                          etag=_header(response, b"ETag"), last_modified=_header(response, b"Last-Modified"),
                          content_type=ctype or None)
            yield from self.follow_links(response)

    def not_modified(self, page: str, response: Response, final_url: str | None):
        known = self.known.get(page) or {}
        body = self.load_body(known["sha256"]) if known.get("sha256") else None
        if body is None:  # validators without a stored copy cannot happen unless the store was edited
            yield verdict(page, "failed", http_status=304, reason="304 but no stored copy to reuse")
            return
        yield verdict(page, "not_modified", http_status=304, sha256=known["sha256"],
                      final_url=final_url or known.get("final_url"),
                      etag=_header(response, b"ETag") or known.get("etag"),
                      last_modified=_header(response, b"Last-Modified") or known.get("last_modified"))
        # Unchanged pages still link to pages: parse the stored copy.
        yield from self.follow_links(HtmlResponse(url=response.url, body=body, encoding="utf-8"))

    def follow_links(self, response: Response):
        if not isinstance(response, HtmlResponse):
            return
        base = get_base_url(response)
        origin = origin_of(base)
        # lxml directly: a docs sidebar repeats hundreds of links on every page, so this loop is hot.
        hrefs = response.selector.root.xpath("//a/@href | //area/@href", smart_strings=False)
        for href in dict.fromkeys(h.strip().split("#", 1)[0] for h in hrefs):
            if not href or href.startswith(("mailto:", "javascript:", "tel:", "data:")):
                continue
            if href.startswith("/") and not href.startswith("//"):
                absolute = origin + href   # root-relative: no need for a full urljoin
            else:
                absolute = urljoin(base, href)
            if absolute in self.resolved:
                continue
            self.resolved.add(absolute)
            yield from self.page(absolute)

    def failed(self, failure):
        request = failure.request
        page = request.meta.get("page") or normalise(request.url)
        if failure.check(IgnoreRequest) and "robots" in str(failure.value).lower():
            yield verdict(page, "blocked", reason="disallowed by robots.txt")
            return
        text = str(failure.value).strip() or type(failure.value).__name__
        if failure.check(IgnoreRequest) and "leaves the source's scope" in text:
            yield verdict(page, "out_of_scope", reason=text[:300])
            return
        # Scrapy cancels a download past DOWNLOAD_MAXSIZE (announced or streamed without a length).
        if failure.check(DownloadCancelledError) or "max size" in text.lower():
            cap = self.settings.getint("DOWNLOAD_MAXSIZE") if getattr(self, "settings", None) else None
            yield verdict(page, "skipped", reason="larger than the page size cap"
                          + (f" ({cap / 1e6:g} MB)" if cap else ""))
            return
        yield verdict(page, "failed", reason=_explain(failure.value, text))

    def parse_sitemap(self, response: Response, **kwargs: Any):
        if response.status >= 300:
            return
        body = response.body
        if body[:2] == b"\x1f\x8b":
            try:
                body = gzip.decompress(body)
            except OSError:
                return
        try:
            sitemap = Sitemap(body)
        except Exception:  # a broken sitemap is not fatal: links still lead to the pages
            self.logger.warning("unreadable sitemap %s", response.url)
            return
        for entry in sitemap:
            loc = entry.get("loc")
            if not loc:
                continue
            if sitemap.type == "sitemapindex":
                if origin_of(loc) in {origin_of(a) for a in self.allow}:
                    yield self.sitemap_request(loc)
            else:
                yield from self.page(loc, from_sitemap=True)

    def sitemap_error(self, failure):
        self.logger.warning("sitemap %s not available: %s", failure.request.url, failure.value)
        return []


# Transport errors in words a reader of `collector runs` understands (the type name stays for search).
_PLAIN = ((DownloadConnectionRefusedError, "connection refused (is the site up and the address right?)"),
          (CannotResolveHostError, "host name not found (check the address and your network)"),
          (DownloadTimeoutError, "timed out"),
          (ResponseDataLossError, "the connection closed before the page was complete"))


def _explain(exc: BaseException, text: str) -> str:
    for kind, words in _PLAIN:
        if isinstance(exc, kind):
            return f"{words} [{type(exc).__name__}]"
    return f"{type(exc).__name__}: {text[:300]}"


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
