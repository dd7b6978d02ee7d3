"""`collector crawl` as a library call: validate, lock the store, run Scrapy in a subprocess,
stream its progress, then build the evidence of the new runs.

Scrapy runs in a child process (`python -m crawler.run`), one per call, so its reactor and
signal handling never touch the caller. The child writes pages and runs to the store itself;
this side holds the store's write lock for the whole crawl, the child inherits it for as long as
it lives, and this side cleans up after a dead child. A store that cannot be written (disk full)
fails the run, never completes it: the previous crawl stays the current evidence.
"""
from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from knowledge.errors import CollectorError, CrawlError, UsageError, env_count
from knowledge.domain.sources import load_sources, select_sources
from knowledge.store import Store, explain, write_failure

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
    for name in ("COLLECTOR_SOURCES_IN_FLIGHT", "COLLECTOR_WORKERS"):   # before anything is crawled
        env_count(name, 1)
    sources = select_sources(load_sources(sources_file), tools, base_urls)
    emit = progress or (lambda event: None)
    with Store.open(db) as store, store.write_lock("a crawl", wait=wait) as lock_fd:
        store.check_integrity("the crawl")          # never write pages into a damaged store
        _write(store, store.mark_stale_runs)
        with _reserve(store.path) as reserve:
            config = {"db": str(store.path), "max_pages": max_pages, "settings": settings or {},
                      "sources": [s.to_dict() for s in sources], "parent_pid": os.getpid(),
                      "reserve": str(reserve)}
            child = _run_child(config, emit, lock_fd)
        # Runs a killed child left 'running' become 'interrupted'; a run whose end the child could
        # not write (disk full) gets the status and reason it reported, if the store takes it now.
        with contextlib.suppress(CollectorError):
            _write(store, lambda: _record_ends(store, child.ends))
        summary = [_summary(store, run_id, child.ends.get(run_id)) for run_id in child.runs.values()]
        if child.interrupted:
            raise KeyboardInterrupt
        if not summary:
            why = child.error or f"exit code {child.returncode}: {child.stderr_tail}"
            raise CrawlError(f"The crawler stopped before it started ({why}).",
                             "Free some space and run again." if "disk full" in why else
                             "Run again; if it persists, report the message above.")
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
                result["evidence_error"] = write_failure(exc) or f"{type(exc).__name__}: {exc}"
        return result


RESERVE_BYTES = 512 * 1024


@contextlib.contextmanager
def _reserve(db: Path):
    """Disk space held back for the end of the crawl: when the disk fills up, the crawler deletes
    this file and so can still record that its run failed, and why (a full disk leaves no room even
    for that). Removed after the crawl in any case."""
    path = db.with_name(db.name + ".reserve")
    try:
        with open(path, "wb") as fh:
            fh.write(b"\0" * RESERVE_BYTES)   # written, not truncated: a sparse file reserves nothing
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise explain(db, exc) from None
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _write(store: Store, action: Callable[[], object]) -> None:
    """One write transaction; a store that cannot be written (disk full, ...) is a StoreError."""
    try:
        with store.transaction():
            action()
    except (sqlite3.Error, OSError) as exc:
        raise explain(store.path, exc) from None


def _record_ends(store: Store, ends: dict[int, dict]) -> None:
    store.mark_stale_runs()
    for run_id, end in ends.items():
        run = store.get_run(run_id)
        if run is not None and run["status"] in ("running", "interrupted") and end.get("status") == "failed":
            store.finish_run(run_id, "failed", end.get("stats") or {}, end.get("message"))


def _child_env() -> dict[str, str]:
    """The crawler's environment: a configured HTTP proxy is used for real sites, never for
    loopback mirrors (a proxy cannot reach this machine's 127.0.0.1)."""
    env = dict(os.environ)
    for name in ("no_proxy", "NO_PROXY"):
        hosts = [h for h in env.get(name, "").split(",") if h.strip()]
        env[name] = ",".join(dict.fromkeys(hosts + ["127.0.0.1", "localhost", "::1"]))
    return env


@dataclass
class _Child:
    runs: dict[str, int] = field(default_factory=dict)       # tool -> run id
    ends: dict[int, dict] = field(default_factory=dict)      # run id -> its "end" event
    error: str | None = None                                  # an "error" event: could not start
    interrupted: bool = False
    returncode: int | None = None
    stderr_tail: str = ""


def _run_child(config: dict, emit: Progress, lock_fd: int | None = None) -> _Child:
    """Run `python -m crawler.run`, forwarding its events. The child inherits the store's write
    lock (`lock_fd`), so no other crawl starts while it writes, even if this process dies first."""
    child = _Child()
    interrupted = threading.Event()
    posix = os.name == "posix"
    with tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace") as errfile:
        # Its own session: a terminal Ctrl-C reaches only us, and we pass each one on once
        # (Scrapy treats the first as "stop gracefully", a second as "stop now").
        proc = subprocess.Popen([sys.executable, "-m", "crawler.run"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=errfile, text=True, encoding="utf-8",
                                start_new_session=True, cwd=str(Path(__file__).resolve().parents[2]),
                                env=_child_env(), pass_fds=(lock_fd,) if posix and lock_fd is not None else (),
                                creationflags=0 if posix else getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0))

        def stop(signum: int, _frame=None) -> None:
            # First signal: Scrapy finishes the requests in flight and saves; a second: stop now.
            interrupted.set()
            try:
                proc.send_signal(signal.SIGINT if posix else signal.CTRL_BREAK_EVENT)
            except (ProcessLookupError, OSError):
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
                kind = event.get("event")
                if kind == "start":
                    child.runs[event["tool"]] = event["run"]
                elif kind == "end":
                    child.ends[event["run"]] = event
                elif kind == "error":
                    child.error = event.get("message")
                emit(event)
            proc.wait()
        finally:
            _restore(previous)
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        errfile.seek(0)
        lines = [ln for ln in errfile.read().splitlines() if ln.strip()]
    child.interrupted = interrupted.is_set()
    child.returncode = proc.returncode
    child.stderr_tail = lines[-1] if lines else "no error output"
    return child


def _install(handler) -> dict | None:
    if threading.current_thread() is not threading.main_thread():
        return None
    return {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}


def _restore(previous: dict | None) -> None:
    for sig, handler in (previous or {}).items():
        signal.signal(sig, handler)


def _summary(store: Store, run_id: int, end: dict | None = None) -> dict:
    run = store.get_run(run_id)
    stats = json.loads(run["stats"] or "{}")
    if not stats:  # a killed child never wrote its counts: count what it committed
        from crawler.pipelines import run_stats

        stats = run_stats(store, run_id)
    status, message = run["status"], run["message"]
    if status == "running" and end:   # the store could not take the end (disk full): what the child said
        status, message, stats = end.get("status", "failed"), end.get("message"), end.get("stats") or stats
    return {"tool": run["tool"], "run": run_id, "status": status, "origin": run["origin"],
            "started": run["started_at"], "finished": run["finished_at"], "message": message,
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
