"""The crawl subprocess: `python -m crawler.run < config.json` (or `python -m crawler.run FILE`).

Config: {"db": PATH, "sources": [Source.to_dict(), ...], "max_pages": N | null, "settings": {...},
"parent_pid": PID}. The store's write lock is inherited from the parent (an open descriptor).
One CrawlerProcess runs one spider per source, a few sources at a time (`sources_in_flight`); each
gets its own run in the store when it starts. Progress goes
to stdout as JSON lines (see crawler.progress): {"event": "start" | "page" | "note" | "end" | "error", ...}.
SIGINT/SIGTERM stop the crawl gracefully: pages so far are saved and the runs end 'interrupted'.
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
from functools import partial

from crawler.progress import emit, set_stream


def main(argv: list[str]) -> int:
    text = open(argv[0], encoding="utf-8").read() if argv else sys.stdin.read()
    config = json.loads(text)
    # Keep the protocol stream clean: JSON lines on the real stdout, anything else to stderr.
    set_stream(os.fdopen(os.dup(1), "w", buffering=1))
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    from crawler.reads import load_reads
    from crawler.settings import crawl_settings
    from crawler.spider import DocsSpider
    from knowledge.domain.sources import is_loopback
    from knowledge.store import Store, write_failure

    _Process = _process_class()
    parent = config.get("parent_pid") or os.getppid()
    if os.getppid() != parent:   # `collector crawl` died while we started: write nothing, hold nothing
        return 3
    store = Store.open(config["db"])
    process = _Process({"LOG_LEVEL": "ERROR", "TELNETCONSOLE_ENABLED": False})
    pending = list(config["sources"])

    def start_next(_result=None):
        """Start the next source, if the crawl goes on. Each finished source starts one more, so at
        most `in_flight` sites are crawled at a time and memory does not grow with their number."""
        if process.stopping or not pending:
            return _result
        source = pending.pop(0)
        tool = source["tool"]
        max_pages = config.get("max_pages") or source.get("max_pages")
        # read when the source starts, not before: only the sources in flight hold their known pages
        known = known_pages(store, tool)
        try:
            with store.transaction():
                run_id = store.start_run(tool, source.get("origin"), {"source": source, "max_pages": max_pages})
        except (sqlite3.Error, OSError) as exc:
            emit({"event": "error", "tool": tool, "message": write_failure(exc) or f"{type(exc).__name__}: {exc}"})
            pending.clear()
            return _result
        emit({"event": "start", "tool": tool, "run": run_id, "known": len(known), "pid": os.getpid()})
        loopback = all(is_loopback(u) for u in source["roots"])
        spider_cls = type(f"DocsSpider_{tool.replace('-', '_')}", (DocsSpider,),
                          {"custom_settings": crawl_settings(loopback, config.get("settings"))})
        crawler = process.create_crawler(spider_cls)
        # The pipeline reaches the store and the run through the spider's attributes.
        done = process.crawl(crawler, source=source, known=known, max_pages=max_pages, load_body=store.get_blob,
                             load_reads=partial(load_reads, store), store=store, run_id=run_id,
                             reserve=config.get("reserve"))
        # Added after CrawlerProcess's own bookkeeping: the next crawl is in its active set before
        # the current one leaves it, so the process runs until the last source is done.
        done.addBoth(lambda result: after(crawler, result))
        return _result

    def after(crawler, result):
        if getattr(crawler.spider, "stopping", False):   # its store writes failed: so would the next's
            pending.clear()
        return start_next(result)

    for _ in range(min(sources_in_flight(), len(pending)) or 1):
        start_next()
    if not process.crawlers:   # not even the first run could be written
        store.close()
        return 1
    _stop_when_orphaned(process, parent)
    process.start()
    store.close()
    return 0


def sources_in_flight() -> int:
    """How many sites are crawled at a time (COLLECTOR_SOURCES_IN_FLIGHT, default 3). Each costs
    memory (its scheduler, seen URLs, pages in flight); on loopback one site already keeps the CPU
    busy, and on the internet per-host politeness, not this number, sets the pace of each site."""
    from knowledge.errors import env_count

    return env_count("COLLECTOR_SOURCES_IN_FLIGHT", 3)   # checked by `collector crawl` before we start


def _process_class():
    from scrapy.crawler import CrawlerProcess

    class Process(CrawlerProcess):
        """Knows when it was asked to stop (Ctrl-C, a dead parent): no further source starts then."""
        stopping = False

        def stop(self):
            self.stopping = True
            return super().stop()

    return Process


def _stop_when_orphaned(process, parent: int) -> None:
    """If `collector crawl` dies, stop gracefully rather than crawl on alone. Until this process
    exits it keeps the store's write lock it inherited, so no second crawl starts meanwhile."""
    from twisted.internet.task import LoopingCall

    def check() -> None:
        if os.getppid() != parent and watch.running:
            watch.stop()
            process.stop()

    watch = LoopingCall(check)
    watch.start(0.5, now=True)


def known_pages(store, tool: str) -> dict[str, dict]:
    """Every page the store knows for a tool, with what a conditional request needs."""
    return {r["url"]: {"etag": r["etag"], "last_modified": r["last_modified"], "sha256": r["sha256"],
                       "final_url": r["final_url"]}
            for r in store.conn.execute(
                "SELECT url, etag, last_modified, sha256, final_url FROM pages WHERE tool = ? ORDER BY path",
                (tool,))}


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
