"""`collector crawl` as a library call: validate, lock the store, run Scrapy in a subprocess,
stream its progress, then build the evidence of the new runs.

Scrapy runs in a child process (`python -m crawler.run`), one per call, so its reactor and
signal handling never touch the caller. The child writes pages and runs to the store itself;
this side holds the store's write lock for the whole crawl and cleans up after a dead child.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Callable

from knowledge.errors import CollectorError, CrawlError, UsageError
from knowledge.domain.sources import load_sources, select_sources
from knowledge.store import Store

Progress = Callable[[dict], None]


def run_crawl(tools: list[str] | None = None, *, base_urls: list[str] | None = None,
              sources_file: Path | str | None = None, max_pages: int | None = None,
              db: Path | str | None = None, wait: bool = False, settings: dict | None = None,
              evidence: bool = True, progress: Progress | None = None) -> dict:
    """Crawl the named tools (all when none) into the store; return a summary per tool.

    Returns {"db": path, "runs": [{tool, run, status, origin, message, stats}], "evidence": {...}}
    (plus "evidence_error" if building the evidence failed: the crawl is saved all the same).
    Progress events ({"event": "start" | "page" | "end" | "evidence", "tool", ...}) go to
    `progress`. `settings` overrides Scrapy settings (tests use it for short timeouts).
    A SIGINT/SIGTERM stops the crawl gracefully and re-raises as KeyboardInterrupt.
    """
    if max_pages is not None and max_pages < 1:
        raise UsageError(f"--max-pages must be at least 1, got {max_pages}.")
    sources = select_sources(load_sources(sources_file), tools, base_urls)
    emit = progress or (lambda event: None)
    with Store.open(db) as store, store.write_lock("a crawl", wait=wait):
        with store.transaction():
            store.mark_stale_runs()
        config = {"db": str(store.path), "max_pages": max_pages, "settings": settings or {},
                  "sources": [s.to_dict() for s in sources]}
        runs, interrupted, returncode, stderr_tail = _run_child(config, emit)
        with store.transaction():
            store.mark_stale_runs()   # runs a killed child left 'running' become 'interrupted'
        summary = [_summary(store, run_id) for run_id in runs.values()]
        if not summary:
            raise CrawlError(f"The crawler stopped before it started (exit code {returncode}): {stderr_tail}",
                             "Run again; if it persists, report the message above.")
        if interrupted:
            raise KeyboardInterrupt
        result = {"db": str(store.path), "runs": summary, "evidence": None}
        good = [r["run"] for r in summary if r["status"] in ("complete", "partial")]
        if evidence and good:
            from knowledge.evidence.build import build_evidence

            emit({"event": "evidence", "done": 0, "total": None})
            try:
                result["evidence"] = build_evidence(
                    store, good, progress=lambda i, n: emit({"event": "evidence", "done": i, "total": n}))
            except CollectorError:
                raise
            except Exception as exc:  # the crawl itself is saved; say so rather than show a traceback
                result["evidence_error"] = f"{type(exc).__name__}: {exc}"
        return result


def _child_env() -> dict[str, str]:
    """The crawler's environment: a configured HTTP proxy is used for real sites, never for
    loopback mirrors (a proxy cannot reach this machine's 127.0.0.1)."""
    env = dict(os.environ)
    for name in ("no_proxy", "NO_PROXY"):
        hosts = [h for h in env.get(name, "").split(",") if h.strip()]
        env[name] = ",".join(dict.fromkeys(hosts + ["127.0.0.1", "localhost", "::1"]))
    return env


def _run_child(config: dict, emit: Progress) -> tuple[dict[str, int], bool, int, str]:
    """Run `python -m crawler.run`, forwarding its events; returns ({tool: run}, interrupted, rc, stderr)."""
    runs: dict[str, int] = {}
    interrupted = threading.Event()
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errfile:
        # Its own session: a terminal Ctrl-C reaches only us, and we pass each one on once
        # (Scrapy treats the first as "stop gracefully", a second as "stop now").
        proc = subprocess.Popen([sys.executable, "-m", "crawler.run"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errfile, text=True, encoding="utf-8",
                                start_new_session=True, cwd=str(Path(__file__).resolve().parents[2]),
                                env=_child_env())

        def stop(signum: int, _frame=None) -> None:
            # First signal: Scrapy finishes the requests in flight and saves; a second: stop now.
            interrupted.set()
            try:
                proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                pass

        previous = _install(stop)
        try:
            assert proc.stdin and proc.stdout
            proc.stdin.write(json.dumps(config))
            proc.stdin.close()
            while True:
                try:
                    line = proc.stdout.readline()
                except KeyboardInterrupt:  # SIGINT raised here when no handler could be installed
                    stop(signal.SIGINT)
                    continue
                if not line:
                    break
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "start":
                    runs[event["tool"]] = event["run"]
                emit(event)
            proc.wait()
        finally:
            _restore(previous)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        errfile.seek(0)
        lines = [ln for ln in errfile.read().splitlines() if ln.strip()]
    return runs, interrupted.is_set(), proc.returncode, (lines[-1] if lines else "no error output")


def _install(handler) -> dict | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: dict | None) -> None:
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)


def _summary(store: Store, run_id: int) -> dict:
    run = store.get_run(run_id)
    stats = json.loads(run["stats"] or "{}")
    if not stats:  # a killed child never wrote its counts: count what it committed
        from crawler.pipelines import run_stats

        stats = run_stats(store, run_id)
    return {"tool": run["tool"], "run": run_id, "status": run["status"], "origin": run["origin"],
            "started": run["started_at"], "finished": run["finished_at"], "message": run["message"],
            "stats": stats, "notes": _sitemap_notes(store, run_id)}


def _sitemap_notes(store: Store, run_id: int) -> list[str]:
    """What the sitemaps named that the crawl left out: hosts outside the scope (a sitemap naming
    another host than the one crawled, e.g. the live site while crawling a mirror), doc variants."""
    from collections import Counter
    from urllib.parse import urlsplit

    hosts: Counter = Counter()
    variants: Counter = Counter()
    for r in store.conn.execute("SELECT url, reason FROM fetches WHERE run_id = ? AND outcome = 'out_of_scope'",
                                (run_id,)):
        reason = r["reason"] or ""
        if reason.startswith("sitemap entry"):
            hosts[urlsplit(r["url"]).netloc] += 1
        elif reason.startswith("doc variant"):
            variants[reason.split("'")[1] if "'" in reason else "?"] += 1
    notes = []
    if hosts:
        named = ", ".join(f"{h} ({n})" for h, n in hosts.most_common(5))
        notes.append(f"the sitemap named {sum(hosts.values())} URL(s) outside the source's scope, on {named}; "
                     "they were not crawled (if they are the tool's docs, widen `allow` in the sources file)")
    for name, n in sorted(variants.items()):
        notes.append(f"{n} sitemap page(s) of the doc variant '{name}' left out (variants in the sources file)")
    return notes


def list_runs(tool: str | None = None, *, limit: int | None = 20, db: Path | str | None = None) -> list[dict]:
    """Crawl history, newest first: id, tool, status, times, counts, origin."""
    if limit is not None and limit < 1:
        raise UsageError(f"--limit must be at least 1, got {limit}.")
    with Store.open(db, create=False) as store:
        if tool:
            known = {r[0] for r in store.conn.execute("SELECT DISTINCT tool FROM runs")} | set(load_sources())
            if tool.lower() not in known:
                from knowledge.errors import unknown_name

                raise unknown_name("tool", tool, sorted(known))
        return [{"id": r["id"], "tool": r["tool"], "status": r["status"], "started": r["started_at"],
                 "finished": r["finished_at"], "origin": r["origin"], "message": r["message"],
                 "stats": json.loads(r["stats"] or "{}")}
                for r in store.list_runs(tool.lower() if tool else None, limit)]
