"""The study's cited pages: does each still answer, where do its redirects end, is its section there?

A citation whose page the crawl requests anyway is judged from that response (no second request;
a 304 reads the stored copy). The others - pages no longer linked, redirect stubs, citations on
another host such as www. - are checked once the crawl is otherwise done: one request each, every
redirect followed by hand (HTTP and meta refresh, at most MAX_HOPS) so that the final URL is known
even when it leaves the source's scope; a hop to a host that is neither the citation's nor in
scope is named but not fetched. With --base-url the citations are checked on the mirror, and one
on a host the mirror does not stand for is left unchecked (a mirror crawl never reaches the
internet). Each verdict is a record item (crawler/records.py): fetched | redirected | gone |
failed | blocked, with the final URL and whether the cited #fragment is an element id (or
<a name>) on the final page.
"""
from __future__ import annotations

from typing import Any, Iterator
from urllib.parse import urldefrag, urljoin, urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import HtmlResponse, Response
from scrapy.utils.response import get_meta_refresh

from crawler.records import record
from crawler.urls import in_scope, normalise

MAX_HOPS = 5
MAX_REFRESH_DELAY = 100   # seconds; as Scrapy's MetaRefreshMiddleware: longer is a page, not a redirect
_IDS = "//*[@id]/@id | //a[@name]/@name"


class CitedChecks:
    """Mixin for DocsSpider: `observe_cited` on the crawl's responses, `cited_requests` when it is
    done, callbacks below. Needs the spider's source, allow, deny, mirror and `mirrored`."""

    source: dict
    allow: tuple[str, ...]
    deny: tuple[str, ...]
    live: tuple[str, ...]
    mirror: str | None

    def cited_pending(self) -> dict[str, list[tuple[str, str]]]:
        """{page identity: [(citation as written, URL to check)]} of the citations still to judge."""
        pending = getattr(self, "_cited", None)
        if pending is None:
            pending = self._cited = {}
            for cited in dict.fromkeys(self.source.get("cited", ())):
                url = urldefrag(self.mirrored(cited))[0]
                identity = normalise(url)
                if identity is None or (self.mirror and not url.startswith(self.mirror)):
                    continue   # not on the mirror: checking it would mean the internet
                pending.setdefault(identity, []).append((cited, url))
        return pending

    def observe_cited(self, page: str, response: Response, final: str | None = None,
                      body: bytes | None = None) -> Iterator[dict]:
        """Verdicts for the citations of `page`, from the crawl's own response for it (`final`: the
        page the redirects ended on; `body`: the stored copy behind a 304)."""
        entries = self.cited_pending().pop(page, None)
        for cited, url in entries or ():
            status = response.status
            base = dict(url=cited, checked_url=url, http_status=status)
            if status in (404, 410):
                yield record("cited", status="gone", reason=f"HTTP {status}", **base)
            elif status >= 400:
                yield record("cited", status="failed", reason=f"HTTP {status}", **base)
            else:
                moved = bool(final and final != page)
                yield record("cited", status="redirected" if moved else "fetched", final_url=final if moved else None,
                             anchor_found=_anchor_found(cited, response, body), **base)

    def cited_requests(self) -> Iterator[scrapy.Request]:
        """Requests for the citations the crawl has not answered (called when it is otherwise done)."""
        pending, self._cited = self.cited_pending(), {}
        for entries in pending.values():
            for cited, url in entries:
                yield self._cited_request(cited, url, url, 0)

    def _cited_request(self, cited: str, first: str, url: str, hops: int) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_cited, errback=self.cited_failed, dont_filter=True,
                              priority=-10, meta={"cited": cited, "cited_first": first, "hops": hops,
                                                  "dont_redirect": True, "handle_httpstatus_all": True})

    def parse_cited(self, response: Response, **kwargs: Any):
        meta = response.meta
        cited, first, hops = meta["cited"], meta["cited_first"], meta["hops"]
        done = lambda status, **f: record("cited", url=cited, checked_url=first, status=status,  # noqa: E731
                                          http_status=response.status, **f)
        target = _redirect_target(response)
        if target:
            target = self.mirrored(target)
            if hops >= MAX_HOPS:
                yield done("failed", final_url=target, reason=f"more than {MAX_HOPS} redirects")
            elif self._may_follow(target, first):
                yield self._cited_request(cited, first, target, hops + 1)
            else:
                yield done("redirected", final_url=target, reason="redirects off the site (not fetched)")
            return
        if response.status in (404, 410):
            yield done("gone", final_url=response.url if hops else None, reason=f"HTTP {response.status}")
        elif response.status >= 300:
            yield done("failed", final_url=response.url if hops else None, reason=f"HTTP {response.status}")
        else:
            moved = hops and normalise(response.url) != normalise(first)   # not just /x -> /x/
            yield done("redirected" if moved else "fetched", final_url=normalise(response.url) if moved else None,
                       anchor_found=_anchor_found(cited, response))

    def cited_failed(self, failure):
        request = failure.request
        meta = request.meta
        text = str(failure.value).strip() or type(failure.value).__name__
        blocked = failure.check(IgnoreRequest) and "robots" in text.lower()
        yield record("cited", url=meta["cited"], checked_url=meta["cited_first"],
                     status="blocked" if blocked else "failed",
                     final_url=request.url if meta["hops"] else None,
                     reason="disallowed by robots.txt" if blocked else f"{type(failure.value).__name__}: {text[:200]}")

    def _may_follow(self, target: str, first: str) -> bool:
        """A hop stays on the citation's own host or in the source's scope; a mirror crawl never
        leaves the mirror."""
        if self.mirror:
            return target.startswith(self.mirror)
        identity = normalise(target)
        return identity is not None and (urlsplit(target).netloc == urlsplit(first).netloc
                                         or in_scope(identity, self.allow, self.deny))


def _anchor_found(cited: str, response: Response, body: bytes | None = None) -> int | None:
    """1/0: the citation's #fragment is an id (or <a name>) on the page; None: no fragment."""
    fragment = urldefrag(cited)[1]
    if not fragment:
        return None
    if body is not None:
        response = HtmlResponse(url=response.url, body=body, encoding="utf-8")
    if not isinstance(response, HtmlResponse):
        return 0
    return int(fragment in set(response.xpath(_IDS).getall()))


def _redirect_target(response: Response) -> str | None:
    if 300 <= response.status < 400 and response.headers.get(b"Location"):
        return urljoin(response.url, response.headers[b"Location"].decode("latin-1"))
    if response.status == 200 and isinstance(response, HtmlResponse):
        interval, url = get_meta_refresh(response, ignore_tags=("script", "noscript"))
        if url and interval is not None and interval < MAX_REFRESH_DELAY:
            return url
    return None
