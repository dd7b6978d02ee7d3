"""Hard kills and concurrent crawls: the store stays consistent, the interrupted run is marked so,
and the next crawl and diff work; a second crawl on a busy store stops with a clear message."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from typer.testing import CliRunner

import cli
from crawler.localserver import serve
from knowledge.errors import StoreBusy
from knowledge.store import Store
from test_resilience_kit import (TOOL, copy_store, crawl, diff, evidence_by_path, integrity, make_site,
                                 page_shas, removed_paths, review_all)

N_PAGES = 120
SLOW = 0.6     # seconds some pages take, to catch a crawl in the middle


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    paths = make_site(root, n=N_PAGES)
    db = tmp_path_factory.mktemp("baseline") / "baseline.sqlite"
    with serve(root) as server:
        run = crawl(db, server.origin)["runs"][0]
        assert run["status"] == "complete"
        review_all(db)
        yield {"root": root, "server": server, "db": db, "paths": paths, "run": run["run"],
               "evidence": evidence_by_path(db, run["run"]), "shas": page_shas(db)}


@pytest.fixture
def server(site):
    site["server"].faults.clear()
    yield site["server"]
    site["server"].faults.clear()


def _cli(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=Path(cli.__file__).parent)


def _wait_for(condition, timeout: float = 20.0, what: str = "condition", every: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def _query(db: Path, sql: str, args=()) -> list[tuple]:
    conn = sqlite3.connect(db, timeout=10)
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def _running_run(db: Path, after: int) -> tuple[int, int] | None:
    """(run id, crawler pid) of a running run newer than `after` that already committed pages."""
    rows = _query(db, "SELECT r.id, r.pid FROM runs r WHERE r.id > ? AND r.status = 'running' AND "
                      "EXISTS (SELECT 1 FROM fetches f WHERE f.run_id = r.id)", (after,))
    return rows[0] if rows else None


def _slow_half(server, paths: list[str]) -> None:
    for p in paths[N_PAGES // 2:]:
        server.faults[p] = {"delay": SLOW}


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _children(pid: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(pid).children()]
    except psutil.NoSuchProcess:
        return []


def _dead(pid: int) -> bool:
    """Gone, or a zombie nobody reaped yet (an orphan in a container without an init)."""
    try:
        return psutil.Process(pid).status() in (psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD)
    except psutil.NoSuchProcess:
        return True


def _assert_consistent(db: Path) -> None:
    assert integrity(db) == "ok"
    # no half-written page: every extraction row has exactly its passages
    bad = _query(db, "SELECT e.page_sha256, e.n_passages, (SELECT COUNT(*) FROM passages p WHERE "
                     "p.page_sha256 = e.page_sha256 AND p.rules_version = e.rules_version) AS n FROM extractions e "
                     "WHERE n != e.n_passages")
    assert bad == []
    orphans = _query(db, "SELECT COUNT(*) FROM passages p WHERE NOT EXISTS (SELECT 1 FROM extractions e WHERE "
                         "e.page_sha256 = p.page_sha256 AND e.rules_version = p.rules_version)")
    assert orphans == [(0,)]
    assert _query(db, "SELECT COUNT(*) FROM fetches f WHERE f.sha256 IS NOT NULL AND NOT EXISTS "
                      "(SELECT 1 FROM blobs b WHERE b.sha256 = f.sha256)") == [(0,)]


def _next_crawl_and_diff_work(site, db: Path) -> None:
    run = crawl(db, site["server"].origin)["runs"][0]
    assert run["status"] == "complete"
    assert evidence_by_path(db, run["run"]) == site["evidence"]
    result = diff(db)
    assert result.flags == [] and removed_paths(result) == set()
    assert page_shas(db) == site["shas"]


def test_sigkill_during_crawl(site, server, tmp_path):
    db = copy_store(site["db"], tmp_path / "c.sqlite")
    _slow_half(server, site["paths"])
    proc = _cli("crawl", TOOL, "--base-url", f"{TOOL}={server.origin}", "--db", str(db))
    try:
        run_id, crawler_pid = _wait_for(lambda: _running_run(db, site["run"]), what="the crawl to write pages")
        _kill(crawler_pid)          # the Scrapy child, mid-write
        _kill(proc.pid)             # and the command that started it
        proc.wait(10)
        _wait_for(lambda: _dead(crawler_pid), what="the crawler to die")
    finally:
        _kill(proc.pid)
    server.faults.clear()
    _assert_consistent(db)
    assert _query(db, "SELECT status FROM runs WHERE id = ?", (run_id,)) == [("running",)]
    with Store.open(db) as store:     # whoever opens the store next notices the dead crawler
        assert store.get_run(run_id)["status"] == "interrupted"
        assert "stopped without finishing" in store.get_run(run_id)["message"]
    _next_crawl_and_diff_work(site, db)


def test_parent_killed_child_stops_and_run_is_interrupted(site, server, tmp_path):
    """Only `collector crawl` dies: its crawler child notices and stops (it does not write on alone);
    the run ends 'interrupted' (marked by the child itself, or by the next open of the store)."""
    db = copy_store(site["db"], tmp_path / "c.sqlite")
    _slow_half(server, site["paths"])
    proc = _cli("crawl", TOOL, "--base-url", f"{TOOL}={server.origin}", "--db", str(db))
    try:
        run_id, crawler_pid = _wait_for(lambda: _running_run(db, site["run"]), what="the crawl to write pages")
        _kill(proc.pid)
        proc.wait(10)
        _wait_for(lambda: _dead(crawler_pid), timeout=30, what="the orphaned crawler to stop")
    finally:
        _kill(proc.pid)
        if "crawler_pid" in locals():
            _kill(crawler_pid)
    server.faults.clear()
    _assert_consistent(db)
    with Store.open(db) as store:
        assert store.get_run(run_id)["status"] == "interrupted"
    _next_crawl_and_diff_work(site, db)


def test_sigkill_during_extraction(site, server, tmp_path):
    db = copy_store(site["db"], tmp_path / "c.sqlite")
    before = _query(db, "SELECT MAX(id) FROM passages")[0]
    proc = _cli("extract", "--force", "--db", str(db))
    try:
        # killed once it has started writing: new passage rows exist (committed page by page)
        _wait_for(lambda: _query(db, "SELECT MAX(id) FROM passages")[0][0] > before[0],
                  what="the extraction to write", every=0.005)
        workers = _children(proc.pid)     # a large rebuild fans out to worker processes
        _kill(proc.pid)
        proc.wait(10)
        for pid in workers:               # they die with it: none goes on alone
            _wait_for(lambda: _dead(pid), timeout=10, what=f"extraction worker {pid} to die")
    finally:
        _kill(proc.pid)
    assert proc.returncode == -signal.SIGKILL, "the extraction finished before the kill: the test proves nothing"
    rebuilt = _query(db, "SELECT COUNT(DISTINCT page_sha256) FROM passages WHERE id > ?", (before[0],))[0][0]
    assert 0 < rebuilt < len(site["paths"]), "the kill landed in the middle of the rebuild"
    _assert_consistent(db)
    # every page still has its evidence, rebuilt or not
    assert evidence_by_path(db, site["run"]) == site["evidence"]
    _next_crawl_and_diff_work(site, db)


def test_second_crawl_on_a_busy_store_is_told_to_wait(site, server, tmp_path):
    db = copy_store(site["db"], tmp_path / "c.sqlite")
    _slow_half(server, site["paths"])
    first = _cli("crawl", TOOL, "--base-url", f"{TOOL}={server.origin}", "--db", str(db))
    try:
        _wait_for(lambda: _running_run(db, site["run"]), what="the first crawl to run")
        second = CliRunner().invoke(cli.app, ["crawl", TOOL, "--base-url", f"{TOOL}={server.origin}", "--db", str(db)])
        assert second.exit_code == 3
        message = " ".join(second.output.split())
        assert "busy" in message and "a crawl (pid" in message and "--wait" in message
        assert "Traceback" not in second.output
        out, errs = first.communicate(timeout=60)
    finally:
        _kill(first.pid)
    assert first.returncode == 0, errs
    runs = _query(db, "SELECT status FROM runs WHERE id > ?", (site["run"],))
    assert runs == [("complete",)], "the refused crawl left no run behind"
    _assert_consistent(db)


def test_second_crawl_with_wait_runs_after_the_first(site, server, tmp_path):
    db = copy_store(site["db"], tmp_path / "c.sqlite")
    for p in site["paths"][:5]:
        server.faults[p] = {"delay": 1.0}
    first = _cli("crawl", TOOL, "--base-url", f"{TOOL}={server.origin}", "--db", str(db))
    try:
        _wait_for(lambda: _query(db, "SELECT 1 FROM runs WHERE id > ? AND status = 'running'", (site["run"],)),
                  what="the first crawl to run")
        second = _cli("crawl", TOOL, "--base-url", f"{TOOL}={server.origin}", "--db", str(db), "--wait")
        assert second.wait(60) == 0, second.stderr.read()
        assert first.wait(60) == 0
    finally:
        _kill(first.pid)
    assert _query(db, "SELECT status FROM runs WHERE id > ? ORDER BY id", (site["run"],)) == [("complete",)] * 2
    _assert_consistent(db)


def test_crawler_killed_in_its_first_moments_never_writes_beside_another_crawl(site, server, tmp_path):
    """Item 7: `collector crawl` SIGKILLed while its crawler child is still starting. The child holds
    the store's write lock it inherited for as long as it lives (a second crawl is told the store is
    busy), notices it is orphaned, stops without writing on alone, and the next crawl works."""
    db = copy_store(site["db"], tmp_path / "c.sqlite")
    _slow_half(server, site["paths"])
    proc = _cli("crawl", TOOL, "--base-url", f"{TOOL}={server.origin}", "--db", str(db))
    crawler_pid = None
    try:
        crawler_pid = _wait_for(lambda: (_children(proc.pid) or [None])[0], what="the crawler child", every=0.002)
        _kill(proc.pid)
        proc.wait(10)
        assert not _dead(crawler_pid), "the child died with its parent: nothing to test"
        with Store.open(db) as store:
            with pytest.raises(StoreBusy):
                with store.write_lock("a second crawl"):
                    pass
        _wait_for(lambda: _dead(crawler_pid), timeout=30, what="the orphaned crawler to stop")
    finally:
        _kill(proc.pid)
        if crawler_pid:
            _kill(crawler_pid)
    server.faults.clear()
    _assert_consistent(db)
    with Store.open(db) as store:
        later = [dict(r) for r in store.list_runs() if r["id"] > site["run"]]
        assert all(r["status"] == "interrupted" for r in later), later
    _next_crawl_and_diff_work(site, db)
