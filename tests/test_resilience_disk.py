"""A store that cannot be written fails the crawl, never completes it (issue 9, item 2).

The disk fills in the middle of a crawl. The run must end failed (or interrupted) with "disk full"
in plain words, the previous crawl stays the current evidence in every view, and no diff ever
sees the pages that were not saved. Two ways to fill it, both with the real `collector` command
and its crawler subprocess:
  - a real 8 MB filesystem (tmpfs), where the machine lets the test mount one (root on Linux);
  - everywhere: SQLite's own page limit (`PRAGMA max_page_count`) set on every connection to the
    store by a sitecustomize module on PYTHONPATH; SQLite then answers exactly as on a full disk
    ("database or disk is full").
"""
from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cli
from crawler.localserver import serve
from test_resilience_kit import (TOOL, copy_store, crawl, integrity, make_site, page_html, views)

N_NEW = 60


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """A crawled site, then a second version with many new, hard-to-compress pages."""
    root = tmp_path_factory.mktemp("site")
    paths = make_site(root)
    db = tmp_path_factory.mktemp("clean") / "clean.sqlite"
    with serve(root) as server:
        assert crawl(db, server.origin)["runs"][0]["status"] == "complete"
        clean = views(db)
        words = [os.urandom(6).hex() for _ in range(3000)]
        extra = {f"/n{i}": page_html(f"Storage note {i}", "Artifacts live in Amazon S3. " + " ".join(
            words[(i * 97 + k * 13) % len(words)] for k in range(800))) for i in range(N_NEW)}
        make_site(root, pages=extra)
        home = root / "index.html"
        home.write_text(home.read_text().replace("</ul>", "".join(f"<li><a href='{p}'>{p}</a></li>" for p in extra)
                                                 + "</ul>"))
        yield {"root": root, "server": server, "db": db, "views": clean, "paths": paths}


def _collector(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True, timeout=300,
                          cwd=Path(cli.__file__).resolve().parent, env=env)


def _crawl_cmd(site, db: Path) -> list[str]:
    return ["crawl", TOOL, "--base-url", f"{TOOL}={site['server'].origin}", "--db", str(db)]


def _flat(text: str) -> str:
    return " ".join(text.split()).lower()


def _check_nothing_lost(site, db: Path, crawl_result: subprocess.CompletedProcess, *, started: bool = True) -> None:
    assert crawl_result.returncode == 3, crawl_result.stderr   # failed (cli.EXIT_FAILED)
    assert "disk full" in _flat(crawl_result.stderr), crawl_result.stderr
    assert "Traceback" not in crawl_result.stderr and "Internal error" not in crawl_result.stderr
    runs = json.loads(_collector(["runs", "--json", "--db", str(db)]).stdout)
    assert runs[-1]["status"] == "complete", "the first crawl is untouched"
    if started:   # the run says what happened, in plain words
        assert len(runs) == 2 and runs[0]["status"] == "failed" and "disk full" in runs[0]["message"], runs[0]
    else:         # no room even to start: no run at all
        assert len(runs) == 1, runs
    # Every view still shows the previous crawl's evidence; the diff sees no change at all.
    assert views(db) == site["views"]
    assert integrity(db) == "ok"


def test_disk_fills_during_a_crawl_sqlite_page_limit(site, tmp_path):
    db = copy_store(site["db"], tmp_path / "c.sqlite")
    conn = sqlite3.connect(db)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.close()
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(textwrap.dedent(f"""
        import os, sqlite3
        _connect = sqlite3.connect
        def connect(database, *args, **kwargs):
            conn = _connect(database, *args, **kwargs)
            if os.path.abspath(str(database)) == {str(db)!r}:
                conn.execute("PRAGMA max_page_count = {pages + 25}")
            return conn
        sqlite3.connect = connect
    """), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(inject), os.environ.get("PYTHONPATH", "")]))
    result = _collector(_crawl_cmd(site, db), env=env)
    _check_nothing_lost(site, db, result)


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MB tmpfs mounted for this test (Linux, as root), else the test is skipped."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if not sys.platform.startswith("linux") or shutil.which("mount") is None:
        pytest.skip("needs Linux mount")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {done.stderr.decode(errors='replace').strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


@pytest.mark.parametrize("room", [64, 900], ids=["full-from-the-start", "fills-during-the-crawl"])
def test_disk_full_on_a_real_small_filesystem(site, small_disk, room):
    """`room` KB left free: not even enough to start (the crawl holds back 512 KB for recording its
    end), or enough to start and run out in the middle of the new pages."""
    db = copy_store(site["db"], small_disk / "c.sqlite")
    filler = small_disk / "filler"
    filler.write_bytes(b"\0" * max(0, shutil.disk_usage(small_disk).free - room * 1024))
    result = _collector(_crawl_cmd(site, db))
    filler.unlink()                                          # views need a little room (WAL, shm)
    _check_nothing_lost(site, db, result, started=room > 512)
    assert not Path(f"{db}.reserve").exists()
    # With space again, the next crawl simply works.
    again = _collector(_crawl_cmd(site, db))
    assert again.returncode == 0, again.stderr
