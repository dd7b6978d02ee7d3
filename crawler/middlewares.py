"""Downloader middlewares: robots.txt Crawl-delay (Scrapy ignores it) and conditional requests."""
from __future__ import annotations

import time

from scrapy.downloadermiddlewares.robotstxt import RobotsTxtMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Request
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.task import deferLater

from crawler.progress import note


class RobotsMiddleware(RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware, fixed for requests that wait for robots.txt together.

    Every request that arrives while robots.txt is being fetched awaits the same Deferred; turning
    it into a future (Deferred.asFuture) replaces its result with None for the next waiter, so all
    but the first waiter got "no parser" and were fetched even when disallowed (a recrawl starts
    with all known pages at once). The parsed robots.txt is stored before the Deferred fires, so
    read it from there.
    """

    async def robot_parser(self, request: Request):
        parser = await super().robot_parser(request)
        if parser is None:
            stored = self._parsers.get(urlparse_cached(request).netloc)
            if stored is not None and not isinstance(stored, Deferred):
                return stored
        return parser


class _CrawlerMiddleware:
    """Keeps the crawler: these middlewares read the running spider's per-source state."""

    def __init__(self, crawler):
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)


class CrawlDelayMiddleware(_CrawlerMiddleware):
    """Space request starts per host by the robots.txt Crawl-delay for our user agent.

    The spider records each host's delay when Scrapy's robots middleware has parsed robots.txt
    (signal robots_parsed); this runs after that middleware, so the delay is known here. A delay
    above CRAWL_DELAY_MAX (60 s; 0 on loopback, where politeness delays do not apply) is capped,
    with a note. The wait is sliced, so stopping the crawl (Ctrl-C, a failed store write) never
    waits for it.
    """

    SLICE = 0.25

    def __init__(self, crawler):
        super().__init__(crawler)
        self.next_start: dict[str, float] = {}
        self.cap = crawler.settings.getfloat("CRAWL_DELAY_MAX", 60.0)
        self.noted: set[str] = set()

    async def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        host = urlparse_cached(request).netloc
        delay = getattr(spider, "crawl_delays", {}).get(host)
        if not delay or request.meta.get("dont_obey_robotstxt"):
            return None
        if delay > self.cap:
            if host not in self.noted and self.cap > 0:
                self.noted.add(host)
                note(spider, f"{host}: robots.txt asks for a Crawl-delay of {delay:g} s; waiting "
                            f"{self.cap:g} s between requests instead (the longest collector waits).")
            delay = self.cap
        if delay <= 0:
            return None
        now = time.monotonic()
        start = max(now, self.next_start.get(host, 0.0))
        self.next_start[host] = start + delay
        while (left := start - time.monotonic()) > 0:
            if self._stopping():
                raise IgnoreRequest("the crawl was stopped before this page")
            await maybe_deferred_to_future(deferLater(reactor, min(left, self.SLICE), lambda: None))
        return None

    def _stopping(self) -> bool:
        return not self.crawler.crawling or getattr(self.crawler.spider, "stopping", False)


class ConditionalRequestMiddleware(_CrawlerMiddleware):
    """Send the validators stored for a known page: If-None-Match (ETag) and If-Modified-Since
    (the server's own Last-Modified, verbatim), so an unchanged page costs a 304 and no body."""

    def process_request(self, request: Request) -> None:
        known = getattr(self.crawler.spider, "known", {}).get(request.meta.get("page"))
        if not known or b"If-None-Match" in request.headers or b"If-Modified-Since" in request.headers:
            return None
        if known.get("etag"):
            request.headers[b"If-None-Match"] = known["etag"]
        if known.get("last_modified"):
            request.headers[b"If-Modified-Since"] = known["last_modified"]
        return None


class RedirectScopeMiddleware(_CrawlerMiddleware):
    """Do not follow a redirect (HTTP or meta refresh) out of the source's scope: the original URL
    gets an out_of_scope verdict and the outside site is never contacted. On a mirror
    (--base-url), a redirect naming the real site is followed on the mirror instead."""

    def process_request(self, request: Request) -> Request | None:
        spider = self.crawler.spider
        if not request.meta.get("redirect_urls") or not hasattr(spider, "allow"):
            return None
        from crawler.urls import in_scope, normalise

        mirrored = spider.mirrored(request.url) if hasattr(spider, "mirrored") else request.url
        if mirrored != request.url:
            return request.replace(url=mirrored)
        target = normalise(request.url)
        if target is None or not in_scope(target, spider.allow, spider.deny):
            raise IgnoreRequest(f"redirect leaves the source's scope: {request.url}")
        return None
