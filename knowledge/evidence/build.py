"""Building evidence: stored pages -> passages, criterion tags and facts, cached in the store.

Extraction itself is pure (extractors/); this module decides which pages need it under the current
rules, fans large builds out to worker processes and writes each page in its own transaction.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from itertools import islice
from typing import Callable, Iterable, Iterator

from knowledge.errors import UsageError, env_count
from knowledge.evidence.model import text_hash
from knowledge.evidence.read import run_pages
from knowledge.evidence.rules import rules_key, run_source
from knowledge.store import Store, utcnow


def extract_html(html: bytes | str, url: str, source: dict | None = None):
    """Pure: one page -> [(Passage, tags, facts)]. Used by the store and by `extract --page`."""
    from extractors.passages import extract_passages
    from extractors.tagger import get_tagger

    source = source or {}
    passages = extract_passages(html, url, content=source.get("content", ()), drop=source.get("drop", ()))
    tagged = get_tagger().tag_many([(p.text, p.heading_path) for p in passages])
    return [(p, tags, facts) for p, (tags, facts) in zip(passages, tagged)]


def build_evidence(store: Store, run_ids: Iterable[int], *, force: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> dict:
    """Make sure every page of these runs has evidence under the current rules.

    Pages already extracted under the same rules key are skipped (unless `force`). Each page is
    written in its own transaction, so an interrupted build leaves only whole pages behind.
    Extraction is pure and CPU-bound, so large builds fan out to worker processes; only this
    process writes to the store.
    """
    todo: dict[tuple[str, str], tuple[str, dict]] = {}   # (sha, key) -> (url, source)
    for run_id in run_ids:
        _tool, source = run_source(store, run_id)
        key = rules_key(source)
        for page in run_pages(store, run_id):
            todo.setdefault((page.sha256, key), (page.url, source))
    keys = sorted({key for _sha, key in todo})
    done = {(r[0], r[1]) for r in store.conn.execute(   # only this build's rules: old ones pile up
        f"SELECT page_sha256, rules_version FROM extractions WHERE rules_version IN ({','.join('?' * len(keys))})",
        keys)}
    stats = {"pages": len(todo), "cached": 0, "extracted": 0, "errors": 0, "passages": 0}
    work = [(sha, key, url, source) for (sha, key), (url, source) in todo.items()
            if force or (sha, key) not in done]
    stats["cached"] = len(todo) - len(work)
    if progress and stats["cached"]:
        progress(stats["cached"], len(todo))
    jobs = ((store.get_blob(sha) or b"", url, source) for sha, _key, url, source in work)
    for i, ((sha, key, _url, _source), (results, error)) in enumerate(
            zip(work, _map_extract(jobs, len(work))), stats["cached"] + 1):
        _write_page(store, sha, key, results, error)
        stats["extracted"] += 1
        stats["passages"] += len(results)
        stats["errors"] += bool(error)
        if progress:
            progress(i, len(todo))
    return stats


PARALLEL_MIN_PAGES = 64   # below this, starting worker processes costs more than it saves


def _workers() -> int:
    return env_count("COLLECTOR_WORKERS", min(os.cpu_count() or 1, 4))


def _map_extract(jobs: Iterator[tuple[bytes, str, dict]], n: int) -> Iterator[tuple[list, str | None]]:
    workers = _workers()
    if n < PARALLEL_MIN_PAGES or workers < 2 or "fork" not in mp.get_all_start_methods():
        yield from map(_extract_safe, jobs)
        return
    # fork: workers inherit the tagger loaded here (no spaCy start-up per worker, and its model's
    # memory stays shared between them instead of being loaded once per worker)
    from extractors.tagger import get_tagger

    get_tagger()
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                             initializer=_worker_init) as pool:
        yield from _bounded(pool, jobs, window=workers * 2)


CHUNK = 8   # pages per task: fewer round trips to the workers, results still arrive steadily


def _bounded(pool: ProcessPoolExecutor, jobs: Iterator, window: int) -> Iterator[tuple[list, str | None]]:
    """pool.map without reading every job first: Executor.map submits the whole iterable at once,
    i.e. loads every page body of the build into memory (30 sites: ~1 GB). Here at most `window`
    chunks of CHUNK pages are loaded or in flight; results come back in order."""
    pending: deque = deque()
    chunks = iter(lambda: list(islice(jobs, CHUNK)), [])
    for chunk in islice(chunks, window):
        pending.append(pool.submit(_extract_chunk, chunk))
    while pending:
        results = pending.popleft().result()
        chunk = next(chunks, None)
        if chunk:
            pending.append(pool.submit(_extract_chunk, chunk))
        yield from results


def _extract_chunk(chunk: list[tuple[bytes, str, dict]]) -> list[tuple[list, str | None]]:
    return [_extract_safe(job) for job in chunk]


def _worker_init() -> None:
    """A worker must neither keep the store's write lock nor outlive a killed parent."""
    from knowledge.store.db import HELD_LOCK_FDS

    for fd in list(HELD_LOCK_FDS):
        try:
            os.close(fd)
        except OSError:
            pass
    try:  # Linux: die with the parent (PR_SET_PDEATHSIG = 1), e.g. when it is SIGKILLed
        import ctypes
        import signal

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _extract_safe(job: tuple[bytes, str, dict]) -> tuple[list, str | None]:
    body, url, source = job
    try:
        return extract_html(body, url, source), None
    except Exception as exc:  # a malformed page must not stop the build: record it and go on
        return [], f"{type(exc).__name__}: {exc}"


def _write_page(store: Store, sha: str, key: str, results: list, error: str | None) -> None:
    with store.transaction() as conn:
        conn.execute("DELETE FROM passages WHERE page_sha256 = ? AND rules_version = ?", (sha, key))
        for passage, tags, facts in results:
            cur = conn.execute(
                "INSERT INTO passages (page_sha256, rules_version, position, anchor, heading_path, text, "
                "text_hash, has_code, has_table) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sha, key, passage.position, passage.anchor, json.dumps(list(passage.heading_path)),
                 passage.text, text_hash(passage.text), int(passage.has_code), int(passage.has_table)))
            pid = cur.lastrowid
            conn.executemany("INSERT OR REPLACE INTO tags VALUES (?, ?, ?, ?)",
                             [(pid, t.criterion, t.score, json.dumps(list(t.terms))) for t in tags])
            conn.executemany("INSERT INTO facts VALUES (?, ?, ?, ?, ?)",
                             [(pid, f.category, f.value, f.criterion, f.term) for f in facts])
        conn.execute("INSERT OR REPLACE INTO extractions VALUES (?, ?, ?, ?, ?)",
                     (sha, key, utcnow(), len(results), error))


def rebuild(store: Store, run_ids: list[int] | None, *, force: bool = False,
            progress: Callable[[int, int], None] | None = None) -> dict:
    """`collector extract`: (re)build evidence for the given runs, or for every stored run."""
    if not run_ids:
        run_ids = [r["id"] for r in store.conn.execute(
            "SELECT id FROM runs WHERE status IN ('complete', 'partial', 'interrupted') ORDER BY id")]
    for rid in run_ids:
        if store.get_run(rid) is None:
            raise UsageError(f"There is no crawl run {rid}.", "See `collector runs` for run ids.")
    stats = build_evidence(store, run_ids, force=force, progress=progress)
    stats["runs"] = list(run_ids)
    return stats


def extract_page(target: str, source: dict | None = None, timeout: float = 20.0) -> dict:
    """`collector extract --page FILE_OR_URL`: run the extractor on one page, write nothing."""
    from pathlib import Path
    from urllib.error import URLError
    from urllib.request import Request, urlopen

    if target.startswith(("http://", "https://")):
        try:
            req = Request(target, headers={"User-Agent": "collector/0.1 (extract --page)"})
            with urlopen(req, timeout=timeout) as resp:
                html, url = resp.read(20_000_000), resp.geturl()
        except (URLError, OSError, ValueError) as exc:
            from knowledge.errors import CollectorError

            raise CollectorError(f"Could not fetch {target}: {getattr(exc, 'reason', exc)}.",
                                 "Check the URL, or save the page and pass the file instead.") from None
    else:
        path = Path(target)
        if not path.is_file():
            raise UsageError(f"{target} is neither an http(s) URL nor an existing file.")
        html, url = path.read_bytes(), path.resolve().as_uri()
    results = extract_html(html, url, source)
    return {
        "url": url,
        "rules_version": rules_key(source or {}),
        "passages": [
            {"url": p.citation, "heading_path": list(p.heading_path), "text": p.text, "position": p.position,
             "tags": [{"criterion": t.criterion, "score": round(t.score, 3), "terms": list(t.terms)} for t in tags],
             "facts": [f.__dict__ for f in facts]}
            for p, tags, facts in results
        ],
    }
