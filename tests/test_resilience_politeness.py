"""robots.txt Crawl-delay can neither hang a crawl nor outlast a Ctrl-C (issue 9, item 6).

Crawl-delay is obeyed up to a cap (60 s on the internet, with a note when a site asks for more),
not at all on a loopback mirror, and the wait never delays stopping: one Ctrl-C ends the crawl in
seconds with the run 'interrupted'.
"""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import cli
from crawler.localserver import serve
from crawler.settings import crawl_settings
from test_resilience_kit import TOOL, crawl, make_site

N_PAGES = 12


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_site(root, n=N_PAGES)
    (root / "robots.txt").write_text("User-agent: *\nCrawl-delay: 1000\n\nSitemap: __ORIGIN__/sitemap.xml\n")
    with serve(root) as server:
        yield {"root": root, "server": server}


def _page_starts(server) -> list[float]:
    return sorted(e["time"] for e in server.requests() if e["path"] not in ("/robots.txt", "/sitemap.xml"))


def _kill_tree(proc: subprocess.Popen) -> None:
    import psutil

    try:
        family = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        family = []
    for p in [*family]:
        p.kill()
    proc.kill()
    proc.wait()


def test_no_crawl_delay_on_a_loopback_mirror(site, tmp_path):
    """The README's promise: a mirror on 127.0.0.1 gets no politeness delays, whatever robots.txt says."""
    db = tmp_path / "c.sqlite"
    proc = subprocess.Popen([sys.executable, "-m", "cli", "crawl", TOOL, "--base-url",
                             f"{TOOL}={site['server'].origin}", "--db", str(db)],
                            cwd=Path(cli.__file__).resolve().parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        out, errs = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        raise AssertionError("a Crawl-delay of 1000 s was applied to a loopback mirror (still crawling after 60 s)")
    assert proc.returncode == 0, errs
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT status FROM runs").fetchall() == [("complete",)]
        assert conn.execute("SELECT COUNT(*) FROM fetches WHERE outcome = 'fetched'").fetchone()[0] == N_PAGES + 1
    finally:
        conn.close()


def test_crawl_delay_is_capped_with_a_note(site, tmp_path):
    """A site asking for 1000 s gets the cap, and the user is told. (The cap is 60 s on real hosts;
    this test sets it to 0.4 s so it runs in seconds: the mechanism is the same.)"""
    assert crawl_settings(loopback=False)["CRAWL_DELAY_MAX"] == 60
    site["server"].log.clear()
    events: list[dict] = []
    run = crawl(tmp_path / "c.sqlite", site["server"].origin, settings={"CRAWL_DELAY_MAX": 0.4},
                progress=events.append)["runs"][0]
    assert run["status"] == "complete"
    starts = _page_starts(site["server"])
    assert len([e for e in site["server"].requests() if e["status"] == 200 and e["path"] != "/robots.txt"
                and e["path"] != "/sitemap.xml"]) == N_PAGES + 1
    assert all(b - a >= 0.35 for a, b in zip(starts, starts[1:])), "the capped delay still spaces requests"
    notes = [e["message"] for e in events if e.get("event") == "note"]
    assert len(notes) == 1 and "Crawl-delay of 1000 s" in notes[0] and "0.4 s" in notes[0], notes
    assert run["stats"]["notes"] == notes, "the note stays with the run"


def _running_with_pages(db: Path) -> bool:
    try:
        conn = sqlite3.connect(db, timeout=5)
        try:
            return bool(conn.execute("SELECT 1 FROM runs r WHERE r.status = 'running' AND EXISTS "
                                     "(SELECT 1 FROM fetches f WHERE f.run_id = r.id)").fetchone())
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_one_ctrl_c_stops_a_crawl_waiting_out_a_crawl_delay(site, tmp_path):
    """`collector crawl` (run_crawl, as the command calls it) waits 30 s between requests as the
    site asks; one SIGINT (what Ctrl-C sends) stops it within seconds, the run 'interrupted'."""
    (site["root"] / "robots.txt").write_text("User-agent: *\nCrawl-delay: 30\n")
    db = tmp_path / "c.sqlite"
    code = textwrap.dedent(f"""
        import sys
        from knowledge.ops.crawl import run_crawl
        try:
            run_crawl([{TOOL!r}], base_urls=[{f"{TOOL}={site['server'].origin}"!r}], db={str(db)!r},
                      settings={{"CRAWL_DELAY_MAX": 60}}, evidence=False)
        except KeyboardInterrupt:
            sys.exit(130)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(cli.__file__).resolve().parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait(lambda: _running_with_pages(db), 30, "the first page to be saved")
        sent = time.monotonic()
        os.kill(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("one Ctrl-C did not stop the crawl within 20 s") from None
        took = time.monotonic() - sent
    finally:
        (site["root"] / "robots.txt").write_text("User-agent: *\nCrawl-delay: 1000\n\nSitemap: __ORIGIN__/sitemap.xml\n")
        if proc.poll() is None:
            _kill_tree(proc)
    assert proc.returncode == 130, proc.stderr.read()
    assert took < 8, f"one Ctrl-C took {took:.1f} s to stop the crawl"
    conn = sqlite3.connect(db)
    try:
        (status, message), = conn.execute("SELECT status, message FROM runs").fetchall()
    finally:
        conn.close()
    assert status == "interrupted", (status, message)
