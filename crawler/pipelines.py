"""The storage pipeline: page verdicts -> the SQLite store, in batched transactions.

Items are buffered and written every BATCH items or FLUSH_SECONDS, each batch in one
transaction, so a SIGKILL leaves only whole batches behind (the run is then found stale and
marked interrupted). When the spider closes, the run gets its final status and counts.

A batch the store cannot take (disk full, I/O error, read-only) stops the crawl at once and the
run ends 'failed' with the reason in plain words: a run with pages missing never ends 'complete',
so the previous crawl stays the current evidence and no diff sees pages that were never saved.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor

from scrapy import signals
from twisted.internet.task import LoopingCall

from crawler.progress import emit
from crawler.reads import save_reads
from crawler.records import write_record
from knowledge.store import Store, pack_blob, utcnow, write_failure

BATCH = 50
FLUSH_SECONDS = 1.0
COUNTED = ("fetched", "not_modified", "failed", "gone", "blocked", "out_of_scope", "skipped")


class StorePipeline:
    def __init__(self, crawler):
        self.crawler = crawler
        self.buffer: list[dict] = []
        self.last_flush = time.monotonic()
        self.started = time.monotonic()
        self.timer = LoopingCall(self._tick)
        # Hashing and compressing bodies release the GIL: done in threads, they overlap with parsing.
        self.packer = ThreadPoolExecutor(max_workers=2, thread_name_prefix="pack")
        self.write_error: str | None = None   # set once a batch could not be written: the run fails
        self.closing = False
        crawler.signals.connect(self.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(self.spider_closed, signal=signals.spider_closed)

    @classmethod
    def from_crawler(cls, crawler):
        return cls(crawler)

    @property
    def ctx(self):
        return self.crawler.spider

    def spider_opened(self, spider) -> None:
        self.started = time.monotonic()
        self.timer.start(FLUSH_SECONDS, now=False)

    def process_item(self, item: dict) -> dict:
        if self.write_error:   # the crawl is stopping: nothing more can be saved
            return item
        if item.get("outcome") == "fetched":
            item = dict(item, packed=self.packer.submit(pack_blob, item["body"]))
        self.buffer.append(item)
        if len(self.buffer) >= BATCH or time.monotonic() - self.last_flush >= FLUSH_SECONDS:
            self.flush()
        return item

    def _tick(self) -> None:
        if self.buffer:
            self.flush()

    def flush(self) -> None:
        items, self.buffer = self.buffer, []
        self.last_flush = time.monotonic()
        if not items:
            return
        spider = self.ctx
        store: Store = spider.store
        written = []
        try:
            with store.transaction():
                for item in items:
                    if "record" in item:   # cited-page checks, URL aliases (crawler/records.py)
                        write_record(store, spider.run_id, spider.source["tool"], item)
                        continue
                    row = _write(store, spider.run_id, spider.source["tool"], spider.known, item)
                    if row:
                        written.append(row)
        except (sqlite3.Error, OSError) as exc:
            self._write_failed(exc)
            return
        for row in written:
            emit({"tool": spider.source["tool"], "run": spider.run_id, "event": "page", **row})

    def _write_failed(self, exc: BaseException) -> None:
        """Stop the crawl: a run whose pages cannot all be saved must not look complete."""
        if self.write_error:
            return
        self.buffer = []
        words = write_failure(exc) or f"the store could not be written ({type(exc).__name__})"
        self.write_error = (f"{words} [{exc}]; this crawl is not used, the previous crawl stays the current "
                            "evidence. Free some space (or make the store writable), then crawl again.")
        spider = self.ctx
        spider.stopping = True            # crawl-delay waits end at once (crawler.middlewares)
        if getattr(spider, "reserve", None):   # the space knowledge.ops.crawl held back for this moment
            with contextlib.suppress(OSError):
                os.remove(spider.reserve)
        if self.closing:
            return
        from scrapy.utils.defer import deferred_from_coro

        deferred_from_coro(self.crawler.engine.close_spider_async(reason="store write failed"))

    def spider_closed(self, spider, reason: str) -> None:
        self.closing = True
        if self.timer.running:
            self.timer.stop()
        self.flush()
        self.packer.shutdown(wait=True)
        store: Store = spider.store
        if spider.traps.saved_then_trapped and not self.write_error:
            try:
                with store.transaction():
                    untrap(store, spider.run_id, spider.source["tool"], spider.traps.saved_then_trapped)
            except (sqlite3.Error, OSError) as exc:
                self._write_failed(exc)
        try:
            stats = run_stats(store, spider.run_id)
        except sqlite3.Error:
            stats = {k: 0 for k in COUNTED}
        stats["seconds"] = round(time.monotonic() - self.started, 2)
        stats["page_limit_hit"] = spider.limit_hit
        if getattr(spider, "notes", None):
            stats["notes"] = list(spider.notes)
        status, message = run_status(reason, stats, store, spider.run_id)
        if self.write_error:
            status, message = "failed", self.write_error
        try:
            with store.transaction():
                store.finish_run(spider.run_id, status, stats, message)
        except (sqlite3.Error, OSError) as exc:   # even the end did not fit: the parent tries again
            self._write_failed(exc)
            status, message = "failed", self.write_error
        emit({"tool": spider.source["tool"], "run": spider.run_id, "event": "end", "status": status,
              "stats": stats, "message": message})


def _write(store: Store, run_id: int, tool: str, known: dict, item: dict) -> dict | None:
    """One verdict -> fetches (+ blobs, pages). Returns the progress row, or None for a duplicate."""
    url, outcome = item["url"], item["outcome"]
    prev = (known.get(url) or {}).get("sha256")
    now = utcnow()
    sha, change, size = None, None, 0
    if outcome == "fetched":
        packed: Future | None = item.get("packed")
        sha = store.put_packed_blob(packed.result()) if packed else store.put_blob(item["body"])
        size = len(item["body"])
        change = "new" if prev is None else ("unchanged" if prev == sha else "changed")
    elif outcome == "not_modified":
        sha, change = item.get("sha256") or prev, "unchanged"
    elif outcome != "gone" and not item.get("trap"):
        # A failure, a skip (size cap, page limit), a robots.txt block, a known page now redirecting
        # off the site: crawl-health events, so the run holds the page's last good content. (A 404
        # holds none here: whether it is "possibly gone" or gone is knowledge.evidence.read.run_pages'
        # call.) Never-fetched pages have none to keep; a link trap is never evidence.
        sha = prev
    cur = store.conn.execute(
        "INSERT OR IGNORE INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at, "
        "bytes, reason, final_url, doc_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, url, item["path"], outcome, change, item.get("http_status"), sha, now, size,
         item.get("reason"), item.get("final_url"), item.get("doc_version")))
    if cur.rowcount == 0:
        return None
    if sha and item.get("reads"):   # what the spider read from this body: a later 304 needs no parsing
        save_reads(store, sha, item["reads"])
    if item.get("trap"):   # a link trap is no page of the site
        store.conn.execute("DELETE FROM pages WHERE tool = ? AND url = ?", (tool, url))
    elif outcome in ("fetched", "not_modified"):
        store.conn.execute(
            "INSERT INTO pages (tool, url, path, etag, last_modified, sha256, content_type, final_url, "
            "first_seen_run, last_ok_run, last_ok_at, gone_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0) "
            "ON CONFLICT (tool, url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified, "
            "sha256 = excluded.sha256, content_type = COALESCE(excluded.content_type, content_type), "
            "final_url = excluded.final_url, last_ok_run = excluded.last_ok_run, "
            "last_ok_at = excluded.last_ok_at, gone_count = 0",
            (tool, url, item["path"], item.get("etag"), item.get("last_modified"), sha, item.get("content_type"),
             item.get("final_url"), run_id, run_id, now))
    elif outcome == "gone":
        store.conn.execute("UPDATE pages SET gone_count = gone_count + 1 WHERE tool = ? AND url = ?", (tool, url))
    return {"url": url, "outcome": outcome, "change": change, "http_status": item.get("http_status"),
            "bytes": size, "reason": item.get("reason")}


def untrap(store: Store, run_id: int, tool: str, pages: dict[str, str]) -> None:
    """Pages saved before their near-duplicate group turned out to be a link trap (crawler.traps):
    their verdict becomes 'skipped' (crawl health) without content, and the store forgets them as
    pages, so the next crawl does not request them again unless a link leads there."""
    for url, reason in pages.items():
        store.conn.execute("UPDATE fetches SET outcome = 'skipped', change = NULL, sha256 = NULL, reason = ? "
                           "WHERE run_id = ? AND url = ?", (reason, run_id, url))
        store.conn.execute("DELETE FROM pages WHERE tool = ? AND url = ?", (tool, url))


def run_stats(store: Store, run_id: int) -> dict:
    stats = {k: 0 for k in COUNTED} | {"new": 0, "changed": 0, "unchanged": 0, "bytes": 0}
    for row in store.conn.execute(
            "SELECT outcome, change, COUNT(*) AS n, SUM(bytes) AS b FROM fetches WHERE run_id = ? "
            "GROUP BY outcome, change", (run_id,)):
        stats[row["outcome"]] += row["n"]
        if row["change"]:
            stats[row["change"]] += row["n"]
        stats["bytes"] += row["b"] or 0
    return stats


def run_status(reason: str, stats: dict, store: Store, run_id: int) -> tuple[str, str | None]:
    if reason != "finished":
        return "interrupted", f"the crawl was stopped ({reason})"
    if stats["fetched"] + stats["not_modified"] == 0:
        row = store.conn.execute(
            "SELECT url, reason FROM fetches WHERE run_id = ? AND outcome IN ('failed', 'blocked', 'gone') "
            "ORDER BY rowid LIMIT 1", (run_id,)).fetchone()
        why = f"{row['url']}: {row['reason']}" if row else "no page was reachable"
        return "failed", f"nothing could be fetched ({why})"
    if stats["failed"] or stats["page_limit_hit"]:
        parts = []
        if stats["failed"]:
            parts.append(f"{stats['failed']} page(s) failed to fetch")
        if stats["page_limit_hit"]:
            parts.append("the page limit was reached")
        return "partial", "; ".join(parts)
    return "complete", None
