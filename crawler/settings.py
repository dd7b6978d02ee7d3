"""Scrapy settings for one documentation source: polite on the internet, full speed on loopback."""
from __future__ import annotations

USER_AGENT = "collector/0.1 (+https://github.com/collector-docs/collector)"
MAX_PAGE_BYTES = 10 * 1024 * 1024
# Transient failures worth another try; 404/410 are answers, not failures.
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]


def crawl_settings(loopback: bool, overrides: dict | None = None, *, store: bool = True) -> dict:
    """Settings for a crawl. `loopback` (a local mirror) drops the politeness delays, never robots.txt.

    `store=False` gives the same crawl without the storage pipeline (the benchmark's bare spider).
    """
    settings = {
        "USER_AGENT": USER_AGENT,
        "ROBOTSTXT_OBEY": True,
        "AUTOTHROTTLE_ENABLED": not loopback,
        "AUTOTHROTTLE_START_DELAY": 1.0,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
        "DOWNLOAD_DELAY": 0 if loopback else 0.5,
        # robots.txt Crawl-delay: obeyed up to a minute (a note says when it asks for more);
        # a local mirror is no one's server to spare.
        "CRAWL_DELAY_MAX": 0 if loopback else 60.0,
        # On loopback the crawl is CPU-bound from 8 requests in flight on; more only costs memory
        # (bodies and parse trees in flight: 16/32 peaked at ~360 MB on the corpus, 8/8 at ~200 MB).
        "CONCURRENT_REQUESTS": 8,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 8 if loopback else 4,
        "DOWNLOAD_TIMEOUT": 30,
        "DOWNLOAD_MAXSIZE": MAX_PAGE_BYTES,
        "DOWNLOAD_WARNSIZE": 0,
        "RETRY_ENABLED": True,
        "RETRY_TIMES": 2,
        "RETRY_HTTP_CODES": RETRY_HTTP_CODES,
        "REDIRECT_MAX_TIMES": 10,
        "METAREFRESH_ENABLED": True,   # Docusaurus client redirects are meta-refresh stubs
        # Scrapy starts this many asyncio workers per callback; our pipeline is synchronous, so a
        # few are plenty (the default 100 cost more than the parsing on a 304 recrawl).
        "CONCURRENT_ITEMS": 4,
        "COOKIES_ENABLED": False,
        # A proxy cannot reach this machine's 127.0.0.1 (knowledge.ops.crawl keeps loopback out of
        # it); the middleware would still scan the environment on every request.
        "HTTPPROXY_ENABLED": not loopback,
        # Scrapy's check re-parses the callback's source on every response (its cache is keyed by
        # bound methods, which never repeat): a tenth of an unchanged recrawl. The spider's
        # callbacks are tested instead (tests/test_crawl_spider.py).
        "WARN_ON_GENERATOR_RETURN_VALUE": False,
        "TELNETCONSOLE_ENABLED": False,
        "HTTPCACHE_ENABLED": False,
        # Breadth first, so a page limit keeps the pages closest to the roots.
        "DEPTH_PRIORITY": 1,
        "SCHEDULER_DISK_QUEUE": "scrapy.squeues.PickleFifoDiskQueue",
        "SCHEDULER_MEMORY_QUEUE": "scrapy.squeues.FifoMemoryQueue",
        "DOWNLOADER_MIDDLEWARES": {
            "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware": None,
            "crawler.middlewares.RobotsMiddleware": 100,
            # After the robots middleware (100), which has parsed robots.txt by then.
            "crawler.middlewares.CrawlDelayMiddleware": 110,
            "crawler.middlewares.ConditionalRequestMiddleware": 120,
            "crawler.middlewares.RedirectScopeMiddleware": 90,   # before robots: never even ask that host
            # off anyway (COOKIES_ENABLED, HTTPCACHE_ENABLED): not even imported
            "scrapy.downloadermiddlewares.cookies.CookiesMiddleware": None,
            "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware": None,
        },
        # Docs are fetched over http(s) only; the other handlers and these extensions are unused
        # and their imports (aiohttp for remote control, ...) were a tenth of an unchanged recrawl.
        "DOWNLOAD_HANDLERS": {"s3": None, "ftp": None, "file": None, "data": None},
        "EXTENSIONS": {"scrapy.extensions.remote_control.RemoteControl": None,
                       "scrapy.extensions.feedexport.FeedExporter": None,
                       "scrapy.extensions.memdebug.MemoryDebugger": None,
                       "scrapy.extensions.spiderstate.SpiderState": None,
                       "scrapy.extensions.telnet.TelnetConsole": None},
        "ITEM_PIPELINES": {"crawler.pipelines.StorePipeline": 300} if store else {},
        "LOG_LEVEL": "ERROR",
    }
    settings.update(overrides or {})
    return settings
