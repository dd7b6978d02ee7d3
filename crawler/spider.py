"""One generic documentation spider, configured by a source entry (knowledge.domain.sources.Source).

It starts from the roots, the source's sitemaps, robots.txt `Sitemap:` lines and every page the
store already knows (each is requested again, conditionally), follows in-scope links only, and
yields one verdict item per page URL (dicts; see `verdict`). Storage is the pipeline's job.

A page is known by its canonical URL (crawler.urls.normalise; an in-scope `<link rel=canonical>`
names the page to crawl instead); its other URLs are recorded as aliases. On a mirror
(--base-url) every URL naming the real site - in sitemaps, links, redirects, canonical links,
citations - is moved onto the mirror. The study's cited pages are checked on the side
(crawler/cited.py). Doc variants (`variants` in the source) are left out of the crawl.
"""
from __future__ import annotations

import gzip
from urllib.parse import urljoin
from typing import Any, Callable, Iterator

import scrapy
from scrapy import signals
from scrapy.exceptions import (CannotResolveHostError, DontCloseSpider, DownloadCancelledError,
                               DownloadConnectionRefusedError, DownloadTimeoutError, IgnoreRequest,
                               ResponseDataLossError)
from scrapy.http import HtmlResponse, Response
from scrapy.utils.response import get_base_url
from scrapy.utils.sitemap import Sitemap

from crawler.cited import CitedChecks
from crawler.reads import PageReads, page_links, read_page
from crawler.records import record
from crawler.traps import TrapGuard
from crawler.urls import in_scope, is_alias, normalise, origin_of, path_of, skipped_extension, to_mirror, under

HTML_TYPES = ("text/html", "application/xhtml+xml")
# Every error status reaches the callback (after retries) so it gets a verdict; 3xx are followed.
HANDLED_STATUSES = [304] + list(range(400, 600))


def verdict(url: str, outcome: str, **fields: Any) -> dict:
    """A page verdict: outcome is fetched/not_modified/failed/gone/blocked/out_of_scope/skipped."""
    return {"url": url, "path": path_of(url), "outcome": outcome, **fields}


class DocsSpider(CitedChecks, scrapy.Spider):
    name = "docs"
    handle_httpstatus_list = HANDLED_STATUSES

    def __init__(self, source: dict, known: dict[str, dict] | None = None, max_pages: int | None = None,
                 load_body: Callable[[str], bytes | None] | None = None,
                 load_reads: Callable[[str], PageReads | None] | None = None, **kwargs: Any):
        super().__init__(name=f"docs-{source['tool']}", **kwargs)
        self.source = source
        self.allow = tuple(source["allow"])
        # a doc variant (e.g. the R docs under /v/r/) is not this tool's documentation
        self.variants = {origin_of(a) + prefix: name for a in self.allow
                         for name, prefix in (source.get("variants") or {}).items()}
        self.deny = tuple(source.get("deny", ())) + tuple(self.variants)
        self.mirror = source.get("origin")     # --base-url: the mirror ...
        self.live = tuple(source.get("live_origins") or ())   # ... standing for these real origins
        self.on_mirror = (self.mirror.rstrip("/") + "/") if self.mirror else "\0"
        self.live_scope = (tuple(source.get("live_allow") or ()), tuple(source.get("live_deny") or ()))
        self.roots = {normalise(u) for u in source["roots"]}
        # url -> {etag, last_modified, sha256, final_url}, by canonical URL (stores from before
        # index pages were canonical hold /x/index.html)
        self.known = {normalise(u) or u: v for u, v in (known or {}).items()}
        self.aliases: set[str] = set()        # alias URLs already recorded this run
        self.canonicals: dict[str, str] = {}  # page -> the page its rel=canonical sent us to
        self.max_pages = max_pages if max_pages is not None else int(source.get("max_pages", 2000))
        self.load_body = load_body or (lambda sha: None)
        self.load_reads = load_reads or (lambda sha: None)   # crawler.reads: a 304 needs no parsing
        self.seen: set[str] = set()           # page identities with a request or a verdict this run
        self.resolved: set[str] = set()       # raw absolute link targets already considered
        self.requested = 0
        self.limit_hit = False
        self.crawl_delays: dict[str, float] = {}
        self.traps = TrapGuard(source)        # link-trap limits (crawler.traps)

    @classmethod
    def from_crawler(cls, crawler, *args: Any, **kwargs: Any):
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        crawler.signals.connect(spider.idle, signal=signals.spider_idle)
        return spider

    def idle(self) -> None:
        """The crawl is done: check the study's citations it did not come across, then close."""
        requests = list(self.cited_requests())
        for request in requests:
            self.crawler.engine.crawl(request)
        if requests:
            raise DontCloseSpider

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

    def mirrored(self, url: str) -> str:
        """`url` moved onto the mirror when it names the real site in the source's scope there (no-op
        without --base-url). Out of that scope it stays as it is: one mirror serves one layout, so
        dvc.org/blog must not become the mirror's /blog just because doc.dvc.org/ is all in scope."""
        if not self.live or url.startswith(self.on_mirror):   # most links: already on the mirror
            return url
        moved = to_mirror(url, self.live, self.mirror)
        if moved == url or not self.live_scope[0]:
            return moved
        identity = normalise(url)
        if identity is None:
            return url
        bare = identity.replace("://www.", "://", 1)   # www.mlflow.org is mlflow.org
        return moved if in_scope(identity, *self.live_scope) or in_scope(bare, *self.live_scope) else url

    def robots_parsed(self, robotparser, request) -> None:
        """Scrapy's robots middleware parsed a host's robots.txt: take Crawl-delay and Sitemap lines."""
        host = request.url.split("/", 3)[2]
        ua = self.settings.get("USER_AGENT", "*")
        delay = robotparser.crawl_delay(ua)
        if delay:
            self.crawl_delays[host] = float(delay)
        for url in getattr(getattr(robotparser, "rp", None), "sitemaps", ()) or ():
            url = self.mirrored(url)
            if url not in self.source.get("sitemaps", ()):
                self.crawler.engine.crawl(self.sitemap_request(url))

    def sitemap_request(self, url: str) -> scrapy.Request:
        return scrapy.Request(url, callback=self.parse_sitemap, errback=self.sitemap_error,
                              dont_filter=True, priority=10, meta={"sitemap": True})

    # ------------------------------------------------------------------ scheduling
    def page(self, url: str, *, from_sitemap: bool = False) -> Iterator[scrapy.Request | dict]:
        """A request for a page (once per run), or its verdict when it is not to be fetched."""
        identity = normalise(url)
        identity = self.traps.link(identity) if identity else None   # no query unless kept (crawler.traps)
        if identity is None:
            return
        if is_alias(url, identity) and in_scope(identity, self.allow, self.deny):   # /x/index.html is /x
            yield from self.alias(normalise(url, keep_index=True), identity, "index")
        if identity in self.seen:
            return
        if not in_scope(identity, self.allow, self.deny):
            # external links are simply not followed; a sitemap entry is worth noting, except the
            # main docs' pages in the sitemap a doc variant shares with its main tool
            if from_sitemap and not self.source.get("variant_of"):
                self.seen.add(identity)
                yield verdict(identity, "out_of_scope", reason=self.outside(identity))
            return
        self.seen.add(identity)
        ext = skipped_extension(identity)
        if ext:
            yield verdict(identity, "skipped", reason=f"not HTML (.{ext})")
            return
        if too_deep := self.traps.too_deep(identity):
            yield verdict(identity, "skipped", reason=too_deep, trap=True)
            return
        if self.requested >= self.max_pages:
            self.limit_hit = True
            yield verdict(identity, "skipped", reason=f"page limit ({self.max_pages}) reached")
            return
        self.requested += 1
        known = self.known.get(identity) or {}
        # Ask where the last crawl ended (e.g. /x/ after a 301 from /x): one round trip, not two.
        final = known.get("final_url")
        target = final if final and normalise(final) == identity else \
            self.traps.link(normalise(url, keep_index=True))
        yield scrapy.Request(target, callback=self.parse, errback=self.failed, dont_filter=True,
                             meta={"page": identity})

    # ------------------------------------------------------------------ callbacks
    def parse(self, response: Response, **kwargs: Any):
        page = response.meta.get("page") or normalise(response.url)
        final = normalise(response.url)
        final_url = response.url if response.url != page else None
        if response.status != 304:
            yield from self.observe_cited(page, response, final)
        if final and final != page:  # an HTTP or meta-refresh redirect moved us elsewhere
            if not in_scope(final, self.allow, self.deny):
                yield verdict(page, "out_of_scope", http_status=response.status, final_url=response.url,
                              reason=f"redirects outside the source's scope to {response.url}")
                return
            yield from self.alias(page, final, "redirect")
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
            body = stored_body(response)
            if body is None:   # bytes that are not the page never replace it: last good content kept
                yield verdict(page, "failed", http_status=status, final_url=final_url,
                              reason=f"not a text page ({len(response.body)} bytes of binary data served as "
                                     f"{ctype or 'HTML'})")
                return
            if body is not response.body:   # re-encoded (charset named only in the header): read as stored
                response = response.replace(body=body, encoding="utf-8")
            reads = read_page(response, body)
            if trap := self.traps.similar(page, reads.fingerprint):   # one of endless near-identical pages
                yield verdict(page, "skipped", http_status=status, reason=trap, trap=True)
                return
            canonical = self.canonical(response, page)
            if canonical:   # this URL is a copy: crawl the page it names instead
                yield from self.alias(page, canonical, "canonical")
                yield from self.page(canonical)
                yield from self.follow_read(response, reads)
                return
            yield verdict(page, "fetched", http_status=status, body=body, final_url=final_url,
                          etag=_header(response, b"ETag"), last_modified=_header(response, b"Last-Modified"),
                          content_type=ctype or None, doc_version=reads.doc_version, reads=reads)
            yield from self.follow_read(response, reads)

    def canonical(self, response: HtmlResponse, page: str) -> str | None:
        """The in-scope page a `<link rel=canonical>` names, when it is another page than this one.

        Ignored when it names the site's root or a crawl root from any other page (a template
        that sends every page's canonical to the home page is a known misconfiguration)."""
        hrefs = response.xpath("//head/link[contains(concat(' ', normalize-space(@rel), ' '), ' canonical ')]"
                               "/@href").getall()
        if len(set(hrefs)) != 1:
            return None
        target = normalise(self.mirrored(urljoin(response.url, hrefs[0].strip())))
        if not target or target == page or not in_scope(target, self.allow, self.deny):
            return None
        if path_of(target) == "/" or target in self.roots or self.canonicals.get(target) == page:
            return None     # (the last: two pages naming each other; the first one seen stays)
        self.canonicals[page] = target
        return target

    def alias(self, alias: str | None, url: str, kind: str):
        """Record once per run that `alias` is another URL of the page `url`."""
        if alias and alias != url and alias not in self.aliases:
            self.aliases.add(alias)
            yield record("alias", alias=alias, url=url, kind=kind)

    def outside(self, identity: str) -> str:
        for prefix, name in self.variants.items():
            if under(identity, prefix):
                return f"doc variant '{name}' (left out; see variants in the sources file)"
        return "sitemap entry outside the source's scope"

    def not_modified(self, page: str, response: Response, final_url: str | None):
        known = self.known.get(page) or {}
        sha = known.get("sha256")
        # What reading the stored copy gave when it was saved (crawler.reads); the body itself only
        # when that is not kept or a study citation on this page needs its anchors checked.
        reads = self.load_reads(sha) if sha else None
        body = None
        if reads is None or reads.links is None or page in self.cited_pending():
            body = self.load_body(sha) if sha else None
            if body is None:  # validators without a stored copy cannot happen unless the store was edited
                yield verdict(page, "failed", http_status=304, reason="304 but no stored copy to reuse")
                return
        yield from self.observe_cited(page, response, normalise(final_url) if final_url else None, body)
        stored = HtmlResponse(url=response.url, body=body, encoding="utf-8") if body is not None else None
        new_reads = reads is None
        if new_reads:
            reads = read_page(stored, body)
        if trap := self.traps.similar(page, reads.fingerprint):
            yield verdict(page, "skipped", http_status=304, reason=trap, trap=True)
            return
        yield verdict(page, "not_modified", http_status=304, sha256=sha,
                      final_url=final_url or known.get("final_url"),
                      etag=_header(response, b"ETag") or known.get("etag"),
                      last_modified=_header(response, b"Last-Modified") or known.get("last_modified"),
                      doc_version=reads.doc_version, **({"reads": reads} if new_reads else {}))
        # unchanged pages still link to pages (`stored` is loaded whenever their links are not kept)
        yield from self.follow_read(stored if stored is not None else response, reads)

    def follow_read(self, response: Response, reads: PageReads):
        """The links of a page as read into `reads`; a page with its own <base> (no links kept) is
        parsed from `response`, which holds its stored bytes then."""
        if reads.links is not None:
            return self.follow(response.url, reads.links)
        return self.follow_links(response)

    def follow_links(self, response: Response):
        if not isinstance(response, HtmlResponse):
            return
        yield from self.follow(get_base_url(response), page_links(response))

    def follow(self, base: str, hrefs) -> Iterator[scrapy.Request | dict]:
        """Requests for the in-scope pages that `hrefs` (as written on a page at `base`) lead to."""
        origin = origin_of(base)
        for href in hrefs:
            if href.startswith("/") and not href.startswith("//"):
                absolute = origin + href   # root-relative: no need for a full urljoin
            elif "://" in href:   # absolute (the footer's GitHub, Slack...): the same on every page
                if href in self.resolved:
                    continue
                self.resolved.add(href)
                absolute = self.mirrored(href)
            else:
                absolute = self.mirrored(urljoin(base, href))
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
            loc = self.mirrored(loc.strip())
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


def stored_body(response: Response) -> bytes | None:
    """The page bytes to keep, decoded as a browser does (extractors.html_decode.for_storage), or
    None when the body is not text."""
    from extractors.html_decode import for_storage

    return for_storage(response.body, _header(response, b"Content-Type"))


def _header(response: Response, name: bytes) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None
