"""The storage pipeline: page verdicts -> the SQLite store, in batched transactions.

Items are buffered and written every BATCH items or FLUSH_SECONDS, each batch in one
transaction, so a SIGKILL leaves only whole batches behind (the run is then found stale and
marked interrupted). When the spider closes, the run gets its final status and counts.
"""
from __future__ import annotations

import time
from concurrent.futures import Future, ThreadPoolExecutor

from scrapy import signals
from twisted.internet.task import LoopingCall

from crawler.progress import emit
from crawler.records import write_record
from knowledge.store import Store, pack_blob, utcnow

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
        with store.transaction():
            for item in items:
                if "record" in item:   # cited-page checks, URL aliases (crawler/records.py)
                    write_record(store, spider.run_id, spider.source["tool"], item)
                    continue
                row = _write(store, spider.run_id, spider.source["tool"], spider.known, item)
                if row:
                    written.append(row)
        for row in written:
            emit({"tool": spider.source["tool"], "run": spider.run_id, "event": "page", **row})

    def spider_closed(self, spider, reason: str) -> None:
        if self.timer.running:
            self.timer.stop()
        self.flush()
        self.packer.shutdown(wait=True)
        store: Store = spider.store
        stats = run_stats(store, spider.run_id)
        stats["seconds"] = round(time.monotonic() - self.started, 2)
        stats["page_limit_hit"] = spider.limit_hit
        status, message = run_status(reason, stats, store, spider.run_id)
        with store.transaction():
            store.finish_run(spider.run_id, status, stats, message)
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
    elif outcome in ("failed", "out_of_scope") or (outcome == "skipped" and "page limit" in (item.get("reason") or "")):
        # A failure, a known page now redirecting off the site (a move the sources file should
        # follow), or a page left out by the limit: crawl-health events, so the last good content
        # stays in this run. Never-fetched pages have none to keep.
        sha = prev
    cur = store.conn.execute(
        "INSERT OR IGNORE INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at, "
        "bytes, reason, final_url, doc_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (run_id, url, item["path"], outcome, change, item.get("http_status"), sha, now, size,
         item.get("reason"), item.get("final_url"), item.get("doc_version")))
    if cur.rowcount == 0:
        return None
    if outcome in ("fetched", "not_modified"):
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
