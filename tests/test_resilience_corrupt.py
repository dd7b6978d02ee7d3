"""A damaged or newer store: every command says which file and what to do, exits 1, never shows a
traceback, and leaves the file as it was."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from crawler.localserver import serve
from test_resilience_kit import TOOL, crawl, make_site

COMMANDS = [
    ["runs"],
    ["evidence", TOOL],
    ["facts"],
    ["diff"],
    ["report"],
    ["review", "list"],
    ["crawl", TOOL, "--base-url", f"{TOOL}=http://127.0.0.1:9"],
]


@pytest.fixture(scope="module")
def real_db(tmp_path_factory):
    """A real store from a crawl, large enough to span many database pages."""
    root = tmp_path_factory.mktemp("site")
    make_site(root, n=60)
    db = tmp_path_factory.mktemp("db") / "real.sqlite"
    with serve(root) as server:
        assert crawl(db, server.origin)["runs"][0]["status"] == "complete"
    assert db.stat().st_size > 200_000
    return db.read_bytes()


def _random(path, real):
    path.write_bytes(os.urandom(256 * 1024))


def _truncated(path, real):
    path.write_bytes(real[: len(real) // 3])


def _newer(path, real):
    path.write_bytes(real)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _migrations VALUES ('999_written_by_the_future', '2030-01-01T00:00:00Z')")
    conn.commit()
    conn.close()


CASES = {
    "random bytes": (_random, "not a readable collector database", "Move it aside"),
    "truncated": (_truncated, "not a readable collector database", "Move it aside"),
    "newer schema": (_newer, "newer version of collector", "Upgrade collector"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_damaged_store_gives_one_clear_error(tmp_path, real_db, case, command):
    make, message, hint = CASES[case]
    db = tmp_path / "collector.sqlite"
    make(db, real_db)
    before = db.read_bytes()
    result = CliRunner().invoke(cli.app, [*command, "--db", str(db)])
    output = result.output
    assert result.exit_code == 3, output
    assert "Traceback" not in output and "Internal error" not in output, output
    flat = "".join(output.split())          # Rich may wrap the message: compare without whitespace
    assert "".join(str(db).split()) in flat, output
    assert "".join(message.split()) in flat and "".join(hint.split()) in flat, output
    assert result.stdout == "", "errors go to stderr, not into data output"
    assert db.read_bytes() == before, "a refused store is left exactly as it was"


def test_error_is_short(tmp_path, real_db):
    db = tmp_path / "collector.sqlite"
    _truncated(db, real_db)
    result = CliRunner().invoke(cli.app, ["runs", "--db", str(db)])
    assert result.exit_code == 3
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines[0].startswith("Error:") and len(lines) <= 4, result.stderr


def test_damage_deep_inside_the_file_names_the_store(tmp_path, real_db):
    data = bytearray(real_db)
    for offset in range(len(data) - 4096 * 8, len(data) - 4096, 4096):   # page bodies near the end
        data[offset:offset + 4096] = os.urandom(4096)
    db = tmp_path / "collector.sqlite"
    db.write_bytes(bytes(data))
    result = CliRunner().invoke(cli.app, ["evidence", TOOL, "--db", str(db)])
    assert result.exit_code == 3 and "Traceback" not in result.output
    assert "".join(str(db).split()) in "".join(result.output.split()), result.output


def _damaged_in_the_middle(path, real: bytes) -> None:
    """Random bytes over three pages in the middle of the file (as a bad disk or copy would write):
    the header is fine and the store opens; only SQLite's quick_check sees the damage."""
    import random

    rng = random.Random(9)
    page = int.from_bytes(real[16:18], "big")
    pages = len(real) // page
    for start in range(pages // 2, pages - 3):
        data = bytearray(real)
        data[start * page:(start + 3) * page] = rng.randbytes(3 * page)
        path.write_bytes(bytes(data))
        conn = sqlite3.connect(path)
        try:
            damaged = conn.execute("PRAGMA quick_check").fetchone()[0] != "ok"
            opens = conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1
        except sqlite3.DatabaseError:
            damaged, opens = True, False
        finally:
            conn.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        if damaged and opens:
            return
    raise AssertionError("found no place to damage the store quietly")


@pytest.mark.parametrize("command", [["crawl", TOOL, "--base-url", f"{TOOL}=http://127.0.0.1:9"], ["diff"]],
                         ids=["crawl", "diff"])
def test_quietly_damaged_store_is_refused_before_writing(tmp_path, real_db, command):
    """Item 3: damage that opens fine (random bytes mid-file) is caught by PRAGMA quick_check before
    a crawl writes pages or a diff saves flags: exit 3, the file named, what to do, nothing written."""
    db = tmp_path / "collector.sqlite"
    _damaged_in_the_middle(db, real_db)
    before = db.read_bytes()
    result = CliRunner().invoke(cli.app, [*command, "--db", str(db)])
    flat = " ".join(result.output.split())
    assert result.exit_code == 3, result.output   # failed (cli.EXIT_FAILED)
    assert "Traceback" not in result.output and "Internal error" not in result.output
    assert "".join(str(db).split()) in "".join(result.output.split())
    assert "is damaged" in flat and "quick_check" in flat and ".recover" in flat, flat
    assert db.read_bytes() == before, "nothing was written into the damaged store"
