"""Store-level behaviour of knowledge/store/db.py: migrations, refusal of damaged or newer files,
transactions, the write lock, stale runs, blobs."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from knowledge.errors import StoreBusy, StoreError
from knowledge.store import Store, default_db_path, migrations


def _filled_store(path: Path, n_blobs: int = 300) -> Path:
    """A real store with enough data to span many pages."""
    with Store.open(path) as store, store.transaction():
        run = store.start_run("metaflow")
        for i in range(n_blobs):
            sha = store.put_blob(os.urandom(2000))
            store.conn.execute(
                "INSERT INTO fetches (run_id, url, path, outcome, change, sha256, fetched_at) "
                "VALUES (?, ?, ?, 'fetched', 'new', ?, '2026-01-01T00:00:00Z')",
                (run, f"http://x/p{i}", f"/p{i}", sha))
        store.finish_run(run, "complete")
    return path


def test_migrations_apply_once_and_reopen_is_idempotent(tmp_path):
    db = tmp_path / "c.sqlite"
    with Store.open(db) as store:
        names = store.schema_version()
    assert names == [name for name, _ in migrations()]
    with Store.open(db) as store:
        assert store.schema_version() == names
        assert store.conn.execute("SELECT COUNT(*) FROM _migrations").fetchone()[0] == len(names)


def test_missing_store_without_create(tmp_path):
    with pytest.raises(StoreError, match="No collector database"):
        Store.open(tmp_path / "none.sqlite", create=False)
    assert not (tmp_path / "none.sqlite").exists()


def test_folder_as_store(tmp_path):
    with pytest.raises(StoreError, match="is a folder"):
        Store.open(tmp_path)


def test_newer_schema_is_refused_and_untouched(tmp_path):
    db = tmp_path / "c.sqlite"
    with Store.open(db) as store:
        store.conn.execute("INSERT INTO _migrations VALUES ('999_from_the_future', 'x')")
    before = db.read_bytes()
    with pytest.raises(StoreError) as info:
        Store.open(db)
    assert str(db) in info.value.message and "newer version" in info.value.message
    assert "999_from_the_future" in info.value.message
    assert db.read_bytes() == before


def test_random_bytes_are_refused(tmp_path):
    db = tmp_path / "c.sqlite"
    db.write_bytes(os.urandom(64 * 1024))
    with pytest.raises(StoreError) as info:
        Store.open(db)
    assert str(db) in info.value.message and "not a readable collector database" in info.value.message
    assert info.value.hint and "Move it aside" in info.value.hint


def test_truncated_store_is_refused_at_open(tmp_path):
    """Without the header check, SQLite would only fail later, deep inside some query."""
    db = _filled_store(tmp_path / "c.sqlite")
    data = db.read_bytes()
    assert len(data) > 100_000
    db.write_bytes(data[: len(data) // 2])
    with pytest.raises(StoreError) as info:
        Store.open(db)
    assert str(db) in info.value.message and "cut short" in info.value.message


def test_header_check_does_not_refuse_healthy_or_empty_files(tmp_path):
    db = _filled_store(tmp_path / "c.sqlite")
    with Store.open(db) as store:
        assert store.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    (tmp_path / "empty.sqlite").write_bytes(b"")
    Store.open(tmp_path / "empty.sqlite").close()


def test_transaction_rolls_back_on_error(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as store:
        with pytest.raises(RuntimeError):
            with store.transaction():
                store.start_run("dvc")
                raise RuntimeError("boom")
        assert store.list_runs() == []
        with store.transaction():
            store.start_run("dvc")
        assert len(store.list_runs()) == 1


def test_write_lock_refuses_second_holder_and_names_the_first(tmp_path):
    db = tmp_path / "c.sqlite"
    with Store.open(db) as one, Store.open(db) as two:
        with one.write_lock("a crawl"):
            with pytest.raises(StoreBusy) as info:
                with two.write_lock("an evidence rebuild"):
                    pass
            assert f"a crawl (pid {os.getpid()}" in info.value.message
            assert "--wait" in info.value.hint
        with two.write_lock("an evidence rebuild"):   # released on exit
            pass


def test_write_lock_is_released_by_a_hard_kill(tmp_path):
    db = tmp_path / "c.sqlite"
    Store.open(db).close()
    code = textwrap.dedent(f"""
        import sys, time
        from knowledge.store import Store
        store = Store.open({str(db)!r})
        with store.write_lock("a crawl"):
            print("locked", flush=True)
            time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "locked"
        with Store.open(db) as store:
            with pytest.raises(StoreBusy):
                with store.write_lock("a crawl"):
                    pass
            proc.kill()
            proc.wait()
            with store.write_lock("a crawl"):   # the OS dropped the dead process's lock
                pass
    finally:
        proc.kill()
        proc.wait()


def test_mark_stale_runs_only_touches_dead_processes(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Store.open(tmp_path / "c.sqlite") as store:
        with store.transaction():
            mine = store.start_run("dvc")
            stale = store.start_run("mlflow")
            store.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead.pid, stale))
            done = store.start_run("metaflow")
            store.finish_run(done, "complete")
        with store.transaction():
            assert store.mark_stale_runs() == [stale]
        assert store.get_run(stale)["status"] == "interrupted"
        assert store.get_run(stale)["message"]
        assert store.get_run(mine)["status"] == "running"
        assert store.get_run(done)["status"] == "complete"


def test_blobs_are_stored_once_and_round_trip(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as store:
        body = b"<html>" + bytes(range(256)) * 100
        a = store.put_blob(body)
        b = store.put_blob(body)
        assert a == b
        assert store.get_blob(a) == body
        assert store.get_blob("0" * 64) is None
        assert store.conn.execute("SELECT COUNT(*) FROM blobs").fetchone()[0] == 1


def test_run_snapshot_holds_only_pages_with_content(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as store, store.transaction():
        run = store.start_run("dvc")
        sha = store.put_blob(b"x")
        for path, outcome, content in [("/a", "fetched", sha), ("/b", "failed", sha), ("/c", "gone", None),
                                       ("/d", "blocked", None)]:
            store.conn.execute("INSERT INTO fetches (run_id, url, path, outcome, sha256, fetched_at) "
                               "VALUES (?, ?, ?, ?, ?, 'now')", (run, "http://x" + path, path, outcome, content))
        assert [r["path"] for r in store.run_snapshot(run)] == ["/a", "/b"]
        assert len(store.run_fetches(run)) == 4


def test_unknown_run_status_is_rejected(tmp_path):
    with Store.open(tmp_path / "c.sqlite") as store:
        run = store.start_run("dvc")
        with pytest.raises((AssertionError, sqlite3.IntegrityError)):
            store.finish_run(run, "exploded")


def test_default_path_follows_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("COLLECTOR_DB", str(tmp_path / "env.sqlite"))
    assert default_db_path() == tmp_path / "env.sqlite"
    with Store.open() as store:
        assert store.path == tmp_path / "env.sqlite"


def test_concurrent_reader_sees_committed_data_only(tmp_path):
    db = tmp_path / "c.sqlite"
    with Store.open(db) as writer, Store.open(db) as reader:
        writer.conn.execute("BEGIN IMMEDIATE")
        writer.start_run("dvc")
        assert reader.list_runs() == []          # WAL: readers are not blocked and see no half write
        writer.conn.execute("COMMIT")
        assert len(reader.list_runs()) == 1



def test_opening_the_store_closes_runs_of_dead_crawlers(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    db = tmp_path / "c.sqlite"
    with Store.open(db) as store, store.transaction():
        stale = store.start_run("mlflow")
        store.conn.execute("UPDATE runs SET pid = ? WHERE id = ?", (dead.pid, stale))
        alive = store.start_run("dvc")
    with Store.open(db) as store:
        assert store.get_run(stale)["status"] == "interrupted"
        assert store.get_run(alive)["status"] == "running"
