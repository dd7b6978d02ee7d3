"""The knowledge store: one SQLite file holding every crawl, page, passage, tag, flag and decision.

Schema changes are ordered, named SQL files in `knowledge/store/migrations/` (NNN_name.sql), each applied
once inside a transaction and recorded in `_migrations`. A database that carries a migration this
code does not know was written by a newer collector and is refused rather than damaged.
"""
from __future__ import annotations

import contextlib
import errno
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
# lock would outlive this process (the lock belongs to the open file, which the fork shares).
# The crawler subprocess inherits its parent's on purpose: it holds the lock for as long as it writes.
HELD_LOCK_FDS: set[int] = set()
# A page verdict reason that starts with this marks a link trap: crawl health, never evidence.
TRAP_REASON = "link trap"


def utcnow() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def default_db_path() -> Path:
    """$COLLECTOR_DB, else collector.sqlite in the user's data directory."""
    if os.environ.get(ENV_VAR):
        return Path(os.path.abspath(Path(os.environ[ENV_VAR]).expanduser()))
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
        # Absolute from here on: the crawler subprocess opens the same path from another directory.
        path = Path(os.path.abspath(Path(path).expanduser())) if path else default_db_path()
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
            running = self.conn.execute("SELECT pid, started_at FROM runs WHERE status = 'running'").fetchall()
            if any(not _pid_alive(r["pid"], r["started_at"]) for r in running):   # no lock needed: a dead pid
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
            if self.conn.in_transaction:   # SQLite may have rolled back already (e.g. disk full)
                with contextlib.suppress(sqlite3.Error):
                    self.conn.execute("ROLLBACK")
            raise
        else:
            try:
                self.conn.execute("COMMIT")
            except sqlite3.Error:
                if self.conn.in_transaction:
                    with contextlib.suppress(sqlite3.Error):
                        self.conn.execute("ROLLBACK")
                raise

    @contextlib.contextmanager
    def write_lock(self, what: str = "a crawl", wait: bool = False) -> Iterator[int]:
        """An OS file lock next to the database: one crawl (or rebuild) at a time per store.

        filelock's native lock (flock on Unix, LockFileEx on Windows) on a descriptor we own, so
        the crawler subprocess can inherit it (`pass_fds`) and hold the lock for as long as it
        writes, even if this process dies first. The OS releases it when the last holder exits,
        even by SIGKILL, so it never goes stale. Yields the descriptor.
        """
        from filelock import lock_descriptor

        lock_path = self.path.with_name(self.path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if not lock_descriptor(fd, blocking=False):
                if not wait:
                    raise StoreBusy(f"The store {self.path} is busy: {_lock_holder(fd)} is running.",
                                    "Wait for it to finish (or pass --wait), then run this again.")
                lock_descriptor(fd, blocking=True, poll_interval=0.2)
            with contextlib.suppress(OSError):   # who holds it, for the message a second command shows
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, f"{what} (pid {os.getpid()}, since {utcnow()})".encode())
            HELD_LOCK_FDS.add(fd)
            yield fd
        finally:
            HELD_LOCK_FDS.discard(fd)
            # Closing (not unlocking) releases it unless an inheriting crawler still holds it.
            os.close(fd)

    # ---------------------------------------------------------------- integrity
    def check_integrity(self, before: str = "writing") -> None:
        """SQLite's `PRAGMA quick_check` (structure, not content: about a second per GB); raises a
        StoreError naming the file and what to do when the store is damaged."""
        try:
            rows = [r[0] for r in self.conn.execute("PRAGMA quick_check(5)")]
        except sqlite3.DatabaseError as exc:
            rows = [str(exc)]
        if rows == ["ok"]:
            return
        raise StoreError(
            f"The store {self.path} is damaged (SQLite quick_check: {'; '.join(rows)[:300]}); "
            f"nothing was changed before {before}.",
            f"Restore a backup of it, or save what is readable: `sqlite3 {self.path} .recover | sqlite3 "
            f"recovered.sqlite`, then use --db recovered.sqlite (or move the file aside and crawl again).")

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
        for row in self.conn.execute("SELECT id, pid, started_at FROM runs WHERE status = 'running'").fetchall():
            if not _pid_alive(row["pid"], row["started_at"]):
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
        """Fetch rows of this run that hold content: fetched or unchanged pages, and pages the run
        could not read carrying their last good content (failed, skipped, robots-blocked, redirecting
        off the site). What a run stands for (incl. a first 404) is knowledge.evidence.read.run_pages."""
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


def _pid_alive(pid: int | None, since: str | None = None) -> bool:
    """Does the process that started a run still run? psutil, so it works on every OS.

    A zombie (exited, not yet reaped) is dead; so is a process younger than the run (`since`, ISO
    UTC): its pid was reused after the crawler that owned it died."""
    if not pid:
        return False
    if pid == os.getpid():
        return True
    import psutil

    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        if since:
            started = datetime.fromisoformat(since.replace("Z", "+00:00")).timestamp()
            if proc.create_time() > started + 2.0:
                return False
        return True
    except psutil.NoSuchProcess:
        return False
    except (psutil.AccessDenied, ValueError):
        return True


def _lock_holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 300).decode("utf-8", "replace").strip()
    except OSError:   # Windows: the locked byte cannot be read by others
        text = ""
    return text or "another collector process"


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


WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS}


def write_failure(exc: BaseException) -> str | None:
    """Plain words for an error that means the store cannot be written (disk full, I/O error,
    read-only), else None."""
    text = str(exc).lower()
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) \
            or "disk is full" in text or "file too large" in text:
        return "disk full: the store could not be written (no space left)"
    if isinstance(exc, OSError) and exc.errno == errno.EROFS or "readonly" in text or "read-only" in text:
        return "the store could not be written (it is read-only)"
    if isinstance(exc, OSError) and exc.errno == errno.EIO or "disk i/o error" in text:
        return "the store could not be written (disk I/O error)"
    return None


def explain(path: Path, exc: BaseException) -> StoreError:
    """A StoreError naming the file and what to do, for any sqlite3 or OS error on the store."""
    failure = write_failure(exc)
    if failure:
        return StoreError(f"{failure[0].upper()}{failure[1:]}: {path} ({exc}).",
                          "Free some space (or make the folder writable), then run this again; "
                          "nothing half-written is used.")
    if isinstance(exc, sqlite3.DatabaseError):
        return _explain(path, exc)
    return StoreError(f"The store {path} failed: {exc}.", "Check the file, or pass --db PATH to another store.")


def _explain(path: Path, exc: sqlite3.DatabaseError) -> StoreError:
    text = str(exc)
    if write_failure(exc):
        return explain(path, exc)
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
