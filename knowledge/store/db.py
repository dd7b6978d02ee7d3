"""The knowledge store: one SQLite file holding every crawl, page, passage, tag, flag and decision.

Schema changes are ordered, named SQL files in `knowledge/store/migrations/` (NNN_name.sql), each applied
once inside a transaction and recorded in `_migrations`. A database that carries a migration this
code does not know was written by a newer collector and is refused rather than damaged.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import sqlite3
import zlib
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from typing import Iterator

from knowledge.errors import StoreBusy, StoreError

ENV_VAR = "COLLECTOR_DB"
RUN_STATUSES = ("running", "complete", "partial", "failed", "interrupted")
# File descriptors of write locks this process holds. A forked worker must close them, or the
# lock would outlive this process (flock belongs to the open file, which the fork shares).
HELD_LOCK_FDS: set[int] = set()


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def default_db_path() -> Path:
    """$COLLECTOR_DB, else collector.sqlite in the user's data directory."""
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("collector", appauthor=False)) / "collector.sqlite"


def migrations() -> list[tuple[str, str]]:
    """(name, sql) for every migration shipped with this code, in order."""
    folder = resources.files("knowledge.store") / "migrations"
    items = sorted(p for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(p.name[: -len(".sql")], p.read_text(encoding="utf-8")) for p in items]


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pack_blob(body: bytes) -> tuple[str, int, bytes]:
    """(sha256, size, compressed) as put_blob stores a body. Thread-safe: hashing and zlib release
    the GIL, so a crawler can pack bodies off its event loop."""
    return sha256_bytes(body), len(body), zlib.compress(body, 6)


class Store:
    """A thin wrapper over one sqlite3 connection. Use `Store.open(path)`."""

    def __init__(self, path: Path, conn: sqlite3.Connection):
        self.path = path
        self.conn = conn

    # ------------------------------------------------------------------ opening
    @classmethod
    def open(cls, path: Path | str | None = None, *, create: bool = True) -> "Store":
        path = Path(path) if path else default_db_path()
        if not path.exists() and not create:
            raise StoreError(f"No collector database at {path}.",
                             "Run `collector crawl` first, or pass --db PATH to an existing store.")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"Cannot create the folder for the store {path}: {exc.strerror}.",
                             "Pass --db PATH (or set COLLECTOR_DB) to a writable location.") from None
        if path.exists() and path.is_dir():
            raise StoreError(f"The store path {path} is a folder.", "Pass --db PATH to a file.")
        if _truncated(path):
            raise StoreError(f"The store {path} is not a readable collector database (the file is cut short).",
                             "Move it aside (or restore a backup) and run again, or pass --db PATH to another store.")
        try:
            conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA busy_timeout = 30000")
            conn.execute("PRAGMA foreign_keys = ON")
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise _explain(path, exc) from None
        store = cls(path, conn)
        store._migrate()
        store._close_dead_runs()
        del mode
        return store

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _migrate(self) -> None:
        try:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
            applied = {r[0] for r in self.conn.execute("SELECT name FROM _migrations")}
        except sqlite3.DatabaseError as exc:
            raise _explain(self.path, exc) from None
        known = migrations()
        unknown = applied - {name for name, _ in known}
        if unknown:
            raise StoreError(
                f"The store {self.path} was written by a newer version of collector "
                f"(it has schema migration {sorted(unknown)[-1]}).",
                "Upgrade collector (reinstall it from its repository; on PyPI, 'collector' is another "
                "project), or pass --db PATH to another store.")
        for name, sql in known:
            if name in applied:
                continue
            try:
                with self.transaction():
                    for statement in _split_sql(sql):
                        self.conn.execute(statement)
                    self.conn.execute("INSERT INTO _migrations VALUES (?, ?)", (name, utcnow()))
            except sqlite3.DatabaseError as exc:
                raise _explain(self.path, exc) from None

    def _close_dead_runs(self) -> None:
        """A crawl killed hard leaves its run 'running': whoever opens the store next says so.

        Best effort: a read-only or busy store is left as it is (the next crawl marks it)."""
        try:
            running = self.conn.execute("SELECT pid FROM runs WHERE status = 'running'").fetchall()
            if any(not _pid_alive(r["pid"]) for r in running):   # no write lock while a crawl runs fine
                with self.transaction():
                    self.mark_stale_runs()
        except sqlite3.OperationalError:
            pass

    def schema_version(self) -> list[str]:
        return [r[0] for r in self.conn.execute("SELECT name FROM _migrations ORDER BY name")]

    # ------------------------------------------------------------- transactions
    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, rolled back on any error (so a kill leaves no half write)."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    @contextlib.contextmanager
    def write_lock(self, what: str = "a crawl", wait: bool = False) -> Iterator[None]:
        """An OS file lock next to the database: one crawl (or rebuild) at a time per store.

        The OS releases it when the process dies, even by SIGKILL, so it never goes stale.
        """
        lock_path = self.path.with_name(self.path.name + ".lock")
        fh = open(lock_path, "a+")
        try:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                fh.seek(0)
                holder = fh.read().strip() or "another collector process"
                raise StoreBusy(f"The store {self.path} is busy: {holder} is running.",
                                "Wait for it to finish (or pass --wait), then run this again.") from None
            fh.seek(0)
            fh.truncate()
            fh.write(f"{what} (pid {os.getpid()}, since {utcnow()})")
            fh.flush()
            HELD_LOCK_FDS.add(fh.fileno())
            yield
        finally:
            HELD_LOCK_FDS.discard(fh.fileno())
            fh.close()

    # ------------------------------------------------------------------- blobs
    def put_blob(self, body: bytes) -> str:
        sha = sha256_bytes(body)
        self.conn.execute("INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)",
                          (sha, len(body), zlib.compress(body, 6)))
        return sha

    def put_packed_blob(self, packed: tuple[str, int, bytes]) -> str:
        """Store a body already packed by `pack_blob` (e.g. in a worker thread); returns its sha256."""
        self.conn.execute("INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)", packed)
        return packed[0]

    def get_blob(self, sha: str) -> bytes | None:
        row = self.conn.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha,)).fetchone()
        return zlib.decompress(row[0]) if row else None

    # -------------------------------------------------------------------- runs
    def start_run(self, tool: str, origin: str | None = None, settings: dict | None = None) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs (tool, status, started_at, pid, origin, settings) VALUES (?, 'running', ?, ?, ?, ?)",
            (tool, utcnow(), os.getpid(), origin, json.dumps(settings or {})))
        return int(cur.lastrowid)

    def finish_run(self, run_id: int, status: str, stats: dict | None = None, message: str | None = None) -> None:
        assert status in RUN_STATUSES
        self.conn.execute(
            "UPDATE runs SET status = ?, finished_at = ?, stats = ?, message = ? WHERE id = ?",
            (status, utcnow(), json.dumps(stats or {}), message, run_id))

    def mark_stale_runs(self) -> list[int]:
        """Runs left 'running' by a process that no longer exists become 'interrupted'."""
        stale = []
        for row in self.conn.execute("SELECT id, pid FROM runs WHERE status = 'running'").fetchall():
            if not _pid_alive(row["pid"]):
                stale.append(row["id"])
        for run_id in stale:
            self.conn.execute(
                "UPDATE runs SET status = 'interrupted', finished_at = COALESCE(finished_at, ?), "
                "message = COALESCE(message, 'the crawling process stopped without finishing') WHERE id = ?",
                (utcnow(), run_id))
        return stale

    def get_run(self, run_id: int) -> sqlite3.Row | None:
        return self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()

    def list_runs(self, tool: str | None = None, limit: int | None = None) -> list[sqlite3.Row]:
        sql = "SELECT * FROM runs" + (" WHERE tool = ?" if tool else "") + " ORDER BY id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return self.conn.execute(sql, (tool,) if tool else ()).fetchall()

    def latest_finished_run(self, tool: str) -> sqlite3.Row | None:
        """The tool's newest complete or partial crawl: what evidence, diff and report read (a
        partial crawl carries the last good content of the pages that failed)."""
        return self.conn.execute(
            "SELECT * FROM runs WHERE tool = ? AND status IN ('complete', 'partial') ORDER BY id DESC LIMIT 1",
            (tool,)).fetchone()

    def run_snapshot(self, run_id: int) -> list[sqlite3.Row]:
        """Pages as this run holds them: every URL with content (failed ones carry their last
        good content, as do known pages that now redirect off the site or were left out by the page
        limit), with outcome and fetch time. Gone and robots-blocked pages have none."""
        return self.conn.execute(
            "SELECT url, path, outcome, change, sha256, fetched_at, http_status, reason FROM fetches "
            "WHERE run_id = ? AND sha256 IS NOT NULL ORDER BY path", (run_id,)).fetchall()

    def run_fetches(self, run_id: int) -> list[sqlite3.Row]:
        return self.conn.execute("SELECT * FROM fetches WHERE run_id = ? ORDER BY path", (run_id,)).fetchall()


def _split_sql(sql: str) -> list[str]:
    # Migrations hold plain DDL; sqlite3.complete_statement tells where each one ends.
    out, buf = [], []
    for line in sql.splitlines():
        if line.strip().startswith("--") and not buf:
            continue
        buf.append(line)
        joined = "\n".join(buf)
        if sqlite3.complete_statement(joined):
            if joined.strip():
                out.append(joined)
            buf = []
    if "\n".join(buf).strip():
        out.append("\n".join(buf))
    return out


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); look at its state where /proc exists.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def _truncated(path: Path) -> bool:
    """Is the file shorter than the page count its own header states? (e.g. a copy cut short)

    SQLite itself only notices when a query reaches a missing page, deep inside some command.
    The header's size is trusted only when SQLite marks it valid, and only when no WAL file is
    left over: after a crash, pages still waiting in the WAL legitimately extend the database.
    """
    try:
        if Path(f"{path}-wal").exists() and Path(f"{path}-wal").stat().st_size > 0:
            return False
        with open(path, "rb") as fh:
            header = fh.read(100)
        size = path.stat().st_size
    except OSError:
        return False
    if len(header) < 100 or not header.startswith(b"SQLite format 3\x00"):
        return False   # not SQLite at all: sqlite3 says so itself
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    valid = pages > 0 and header[24:28] == header[92:96]
    return valid and size < pages * page_size


def _explain(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    text = str(exc)
    if "not a database" in text or "malformed" in text or "file is encrypted" in text:
        return StoreError(f"The store {path} is not a readable collector database ({text}).",
                          "Move it aside (or restore a backup) and run again, or pass --db PATH to another store.")
    if "locked" in text or "busy" in text:
        return StoreBusy(f"The store {path} is locked by another process ({text}).",
                         "Wait for the other collector command to finish, then run this again.")
    if "readonly" in text or "unable to open" in text:
        return StoreError(f"Cannot write the store {path} ({text}).",
                          "Pass --db PATH (or set COLLECTOR_DB) to a writable location.")
    return StoreError(f"The store {path} failed: {text}.", "Check the file, or pass --db PATH to another store.")
