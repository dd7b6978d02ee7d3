"""Nothing Linux-only in the code paths every command takes (issue 9, item 12).

The store's write lock is filelock's native lock (flock on Unix, LockFileEx on Windows), process
checks are psutil's: no `fcntl`, no `/proc`. Linux is what the tests run on; macOS and Windows
work by design (see README, "Systems").
"""
from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import cli
from knowledge.errors import StoreBusy
from knowledge.store import Store

ROOT = Path(cli.__file__).resolve().parent
PACKAGES = ("cli.py", "knowledge", "crawler", "extractors")


def _sources() -> list[Path]:
    out = []
    for name in PACKAGES:
        path = ROOT / name
        out += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return out


def test_no_linux_only_modules_or_paths():
    found = []
    for path in _sources():
        text = path.read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module else []
            found += [f"{path.relative_to(ROOT)}: import {n}" for n in names if n.split(".")[0] == "fcntl"]
        if "/proc/" in text:
            found.append(f"{path.relative_to(ROOT)}: reads /proc")
    assert found == [], found


def test_the_write_lock_is_filelocks_native_lock(tmp_path):
    """Another process holding filelock.FileLock on the lock file makes the store busy: the same
    primitive on every system."""
    db = tmp_path / "c.sqlite"
    Store.open(db).close()
    code = textwrap.dedent(f"""
        import time, filelock
        with filelock.FileLock({str(db) + '.lock'!r}):
            print("locked", flush=True)
            time.sleep(30)
    """)
    holder = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with Store.open(db) as store, pytest.raises(StoreBusy):
            with store.write_lock("a crawl"):
                pass
    finally:
        holder.kill()
        holder.wait()
    with Store.open(db) as store, store.write_lock("a crawl"):
        pass


def test_a_reused_pid_does_not_keep_a_dead_crawl_running(tmp_path):
    """A run left 'running' by a crawler long dead, whose pid now belongs to a younger process (pids
    are reused), is found interrupted: psutil compares the process's start with the run's."""
    db = tmp_path / "c.sqlite"
    young = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with Store.open(db) as store, store.transaction():
            run = store.start_run("dvc")
            store.conn.execute("UPDATE runs SET pid = ?, started_at = '2024-01-01T00:00:00Z' WHERE id = ?",
                               (young.pid, run))
        with Store.open(db) as store:
            assert store.get_run(run)["status"] == "interrupted"
    finally:
        young.kill()
        young.wait()
