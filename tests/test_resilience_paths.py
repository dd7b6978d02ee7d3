"""Relative paths mean the directory the user runs collector from (issue 9, item 1).

The real console script runs from a job directory (as the generated GitLab/GitHub jobs do) with a
relative --db, a relative COLLECTOR_DB, a relative --sources and a relative -o. The crawl runs in
a subprocess with its own working directory: every path must be resolved before it sees one.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from crawler.localserver import serve
from knowledge.store import Store
from test_resilience_kit import TOOL, make_site

SOURCES = """[[source]]
tool = "metaflow"
name = "Metaflow (test mirror)"
roots = ["https://docs.example.invalid/"]
allow = ["https://docs.example.invalid/"]
content = ["main"]
max_pages = 50
"""


def _console_script() -> str:
    """The installed `collector` command next to this interpreter (else on PATH)."""
    here = Path(sys.executable).parent / ("collector.exe" if os.name == "nt" else "collector")
    found = str(here) if here.is_file() else shutil.which("collector")
    if not found:
        pytest.skip("the collector console script is not installed (pip install -e .)")
    return found


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_site(root)
    with serve(root) as server:
        yield server.origin


def _run(args: list[str], cwd: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([_console_script(), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.parametrize("how", ["--db", "COLLECTOR_DB"])
def test_relative_store_sources_and_output_from_another_directory(tmp_path, origin, how):
    job = tmp_path / "job"
    job.mkdir()
    (job / "my-sources.toml").write_text(SOURCES, encoding="utf-8")
    rel = Path(".collector") / "collector.sqlite"
    env = {k: v for k, v in os.environ.items() if k != "COLLECTOR_DB"}
    db_args: list[str] = []
    if how == "--db":
        db_args = ["--db", str(rel)]
    else:
        env["COLLECTOR_DB"] = str(rel)
    crawl = ["crawl", TOOL, "--base-url", f"{TOOL}={origin}", "--sources", "my-sources.toml", *db_args]
    for attempt in ("a fresh store", "an existing store"):
        done = _run(crawl, job, env)
        assert done.returncode == 0, f"{attempt}: {done.stderr}"
        assert "Internal error" not in done.stderr
    store_file = job / rel
    assert store_file.is_file(), "the store is where the user said, relative to their directory"
    with Store.open(store_file, create=False) as store:
        runs = store.list_runs()
        assert [(r["tool"], r["status"]) for r in runs] == [(TOOL, "complete")] * 2
        assert json.loads(runs[0]["settings"])["source"]["name"] == "Metaflow (test mirror)"
    # Nothing landed next to the code (where the crawler subprocess runs).
    assert not (Path(cli.__file__).resolve().parent / rel).exists()

    evidence = _run(["evidence", TOOL, "--json", *db_args], job, env)
    assert evidence.returncode == 0, evidence.stderr
    assert json.loads(evidence.stdout), "the views read the same relative store"
    (job / "out").mkdir()
    report = _run(["report", "-o", "out/report.html", *db_args], job, env)
    assert report.returncode == 0, report.stderr
    assert (job / "out" / "report.html").is_file()
