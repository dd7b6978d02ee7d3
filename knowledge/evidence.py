"""Evidence: passages, criterion tags and facts derived from stored pages.

Evidence is cached per (page content hash, rules key). The rules key combines the extractor
rules version with the tool's content selectors, so changing either rebuilds evidence from the
stored pages (never by re-crawling), and any two crawls read with the same key are comparable.
"""
from __future__ import annotations

import hashlib
import json
import multiprocessing as mp
import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from extractors.version import rules_version
from knowledge.errors import UsageError
from knowledge.store import Store, utcnow

_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _WS.sub(" ", text).strip()


def text_hash(text: str) -> str:
    return hashlib.sha1(normalise_text(text).lower().encode()).hexdigest()[:16]


@dataclass
class Evidence:
    """One (passage, criterion) pair, with its citation and provenance."""

    tool: str
    criterion: str
    url: str            # absolute page URL, no fragment
    path: str           # page path, stable across mirrors
    anchor: str
    heading_path: list[str]
    text: str
    text_hash: str
    score: float
    terms: list[str]
    run_id: int
    fetched_at: str
    position: int
    passage_id: int
    facts: list[dict] = field(default_factory=list)

    @property
    def citation(self) -> str:
        return f"{self.url}#{self.anchor}" if self.anchor else self.url

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["url"] = self.citation
        d["page_url"] = self.url
        d["run"] = d.pop("run_id")
        d["run_id"] = d["run"]
        return d


# --------------------------------------------------------------------------- rules per run
def run_source(store: Store, run_id: int) -> tuple[str, dict]:
    """(tool, source dict) a run was crawled with: its selectors are part of the rules key."""
    run = store.get_run(run_id)
    if run is None:
        raise UsageError(f"There is no crawl run {run_id} in {store.path}.", "See `collector runs` for run ids.")
    settings = json.loads(run["settings"] or "{}")
    source = settings.get("source") or {}
    if not source:
        from knowledge.sources import load_sources

        builtin = load_sources()
        if run["tool"] in builtin:
            source = builtin[run["tool"]].to_dict()
    return run["tool"], source


def rules_key(source: dict) -> str:
    """Extractor rules version + the content selectors used for this tool."""
    sel = json.dumps([source.get("content", []), source.get("drop", [])], sort_keys=True)
    return f"{rules_version()}-{hashlib.sha1(sel.encode()).hexdigest()[:6]}"


# --------------------------------------------------------------------------- building
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
        for row in store.run_snapshot(run_id):
            todo.setdefault((row["sha256"], key), (row["url"], source))
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
    env = os.environ.get("COLLECTOR_WORKERS", "")
    return max(1, int(env)) if env.isdigit() else min(os.cpu_count() or 1, 4)


def _map_extract(jobs: Iterator[tuple[bytes, str, dict]], n: int) -> Iterator[tuple[list, str | None]]:
    workers = _workers()
    if n < PARALLEL_MIN_PAGES or workers < 2 or "fork" not in mp.get_all_start_methods():
        yield from map(_extract_safe, jobs)
        return
    # fork: workers inherit the loaded tagger (no second spaCy start-up per worker)
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("fork"),
                             initializer=_worker_init) as pool:
        yield from pool.map(_extract_safe, jobs, chunksize=8)


def _worker_init() -> None:
    """A worker must neither keep the store's write lock nor outlive a killed parent."""
    from knowledge.store import HELD_LOCK_FDS

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


# --------------------------------------------------------------------------- reading
def run_evidence(store: Store, run_id: int, *, criterion: str | None = None,
                 build: bool = True) -> list[Evidence]:
    """Every (passage, criterion) of a run under the current rules, in page order."""
    tool, source = run_source(store, run_id)
    key = rules_key(source)
    if build:
        build_evidence(store, [run_id])
    sql = (
        "SELECT f.url, f.path, f.fetched_at, p.id AS pid, p.position, p.anchor, p.heading_path, p.text, "
        "p.text_hash, t.criterion, t.score, t.terms FROM fetches f "
        "JOIN passages p ON p.page_sha256 = f.sha256 AND p.rules_version = ? "
        "JOIN tags t ON t.passage_id = p.id WHERE f.run_id = ?"
    )
    args: list = [key, run_id]
    if criterion:
        sql += " AND t.criterion = ?"
        args.append(criterion)
    sql += " ORDER BY f.path, p.position, t.criterion"
    rows = store.conn.execute(sql, args).fetchall()
    facts: dict[int, list[dict]] = {}
    pids = sorted({r["pid"] for r in rows})
    for chunk in range(0, len(pids), 500):
        part = pids[chunk:chunk + 500]
        for f in store.conn.execute(
                f"SELECT * FROM facts WHERE passage_id IN ({','.join('?' * len(part))})", part):
            facts.setdefault(f["passage_id"], []).append(
                {"category": f["category"], "value": f["value"], "criterion": f["criterion"], "term": f["term"]})
    return [
        Evidence(tool=tool, criterion=r["criterion"], url=r["url"], path=r["path"], anchor=r["anchor"],
                 heading_path=json.loads(r["heading_path"]), text=r["text"], text_hash=r["text_hash"],
                 score=r["score"], terms=json.loads(r["terms"]), run_id=run_id, fetched_at=r["fetched_at"],
                 position=r["position"], passage_id=r["pid"],
                 facts=[f for f in facts.get(r["pid"], []) if f["criterion"] == r["criterion"]])
        for r in rows
    ]



# --------------------------------------------------------------------------- user-facing queries
def current_run(store: Store, tool: str, run_id: int | None = None):
    """The run to read: the given one (checked), else the tool's latest finished crawl, complete or
    partial (a partial crawl carries the last good content of the pages that failed, so it is as
    readable as a complete one; `collector diff` and the report read the same run)."""
    if run_id is not None:
        run = store.get_run(run_id)
        if run is None:
            raise UsageError(f"There is no crawl run {run_id}.", "See `collector runs` for run ids.")
        if run["tool"] != tool:
            raise UsageError(f"Run {run_id} is a crawl of {run['tool']}, not {tool}.")
        return run
    run = store.latest_finished_run(tool)
    if run is None:
        from knowledge.errors import CollectorError

        raise CollectorError(f"No finished crawl of {tool} in {store.path}.",
                             f"Run `collector crawl {tool}` first (or `collector demo` to try it offline).")
    return run


def evidence_for(store: Store, tool: str, criterion: str | None = None, run_id: int | None = None):
    """(run row, [Evidence]) for the `collector evidence` command."""
    run = current_run(store, tool, run_id)
    return run, run_evidence(store, run["id"], criterion=criterion)


def facts_for(store: Store, tools: list[str], category: str | None = None) -> list[dict]:
    """One row per (tool, criterion, category, value) with the passages that state it."""
    rows: dict[tuple, dict] = {}
    for tool in tools:
        run = store.latest_finished_run(tool)
        if run is None:   # never crawled: no facts to list
            continue
        for ev in run_evidence(store, run["id"]):
            for f in ev.facts:
                if category and f["category"] != category:
                    continue
                key = (tool, f["criterion"], f["category"], f["value"])
                row = rows.setdefault(key, {"tool": tool, "criterion": f["criterion"], "category": f["category"],
                                            "value": f["value"], "run_id": run["id"],
                                            "crawled_at": run["started_at"], "citations": []})
                if ev.citation not in row["citations"]:
                    row["citations"].append(ev.citation)
    return sorted(rows.values(), key=lambda r: (r["tool"], r["category"], r["value"], r["criterion"]))


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
