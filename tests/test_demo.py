"""`collector demo`: the offline loop on the bundled fixture sites (v1 -> v2), in a throwaway store
unless kept, with every step announced, and the designed changes showing up as flags."""
from __future__ import annotations

import os
import re
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

import cli
from fixtures.sites import load_changes
from knowledge.ops.demo import DEMO_TOOLS, run_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """One throwaway demo, run with an (unreachable) HTTP proxy set, as on many institute networks."""
    saved = {k: os.environ.get(k) for k in ("http_proxy", "HTTP_PROXY", "no_proxy", "NO_PROXY")}
    os.environ["http_proxy"] = os.environ["HTTP_PROXY"] = "http://10.255.255.1:3128"
    for k in ("no_proxy", "NO_PROXY"):
        os.environ.pop(k, None)
    lines: list[str] = []
    try:
        result = run_demo(say=lines.append)
        env_after = {k: os.environ.get(k) for k in ("no_proxy", "NO_PROXY")}
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return {"result": result, "lines": lines, "env_after": env_after}


def _path(url: str) -> str:
    return re.sub(r"^https?://[^/]+", "", url).split("#")[0].rstrip("/") or "/"


def test_throwaway_store_is_removed_and_environment_restored(demo):
    result, lines = demo["result"], demo["lines"]
    assert result["db"] is None and result["kept"] is False
    store = re.search(r"Knowledge store for this demo: (\S+)", lines[0]).group(1)
    assert not Path(store).exists() and not Path(store).parent.exists()
    assert demo["env_after"] == {"no_proxy": None, "NO_PROXY": None}


def test_steps_are_announced_in_order(demo):
    text = "\n".join(demo["lines"])
    positions = [text.index(f"Step {i}/4") for i in range(1, 5)]
    assert positions == sorted(positions)
    assert "Nothing is downloaded" in text and "127.0.0.1" in text


def test_both_versions_crawled_on_the_same_origins(demo):
    runs = demo["result"]["runs"]
    assert len(runs) == 2 * len(DEMO_TOOLS)
    first, second = runs[: len(DEMO_TOOLS)], runs[len(DEMO_TOOLS):]
    assert [r["status"] for r in first] == ["complete"] * len(DEMO_TOOLS)
    assert all(r["status"] in ("complete", "partial") for r in second)
    assert {r["tool"]: r["origin"] for r in first} == {r["tool"]: r["origin"] for r in second}
    assert all(r["origin"].startswith("http://127.0.0.1:") for r in runs)


def test_designed_changes_are_flagged_and_faults_are_not_removals(demo):
    result = demo["result"]
    flagged = {(f["tool"], f["criterion"]) for f in result["flags"]}
    changes = load_changes()["change"]
    for change in changes:
        if change["kind"] == "capability_added":
            assert (change["tool"], change["criterion"]) in flagged, change["description"]
    removed = {(f["tool"], _path(item["url"])) for f in result["flags"] for item in f["removed"]}
    for change in changes:
        if change["kind"] in ("fetch_error", "page_removed"):
            # a 500 keeps last month's content; a page gone once is only "possibly gone"
            assert (change["tool"], change["path"]) not in removed, change
    for tool in DEMO_TOOLS:
        health = result["crawl_health"][tool]
        errors = [c["path"] for c in changes if c["tool"] == tool and c["kind"] == "fetch_error"]
        gone = [c["path"] for c in changes if c["tool"] == tool and c["kind"] == "page_removed"]
        assert sorted(_path(e["url"]) for e in health["failed"]) == sorted(errors)
        assert all(e["evidence_kept"] for e in health["failed"])
        assert sorted(_path(e["url"]) for e in health["possibly_gone"]) == sorted(gone)


def test_report_names_every_tool_with_citations(demo):
    report = demo["result"]["report"]
    assert demo["result"]["format"] == "md"
    for tool in DEMO_TOOLS:
        assert tool in report
    assert re.search(r"http://127\.0\.0\.1:\d+/\S*#\S+", report), "citations carry URL#section"


def test_cli_keeps_store_writes_html_and_prints_follow_ups(tmp_path):
    db, out = tmp_path / "my demo.sqlite", tmp_path / "report.html"
    result = CliRunner().invoke(cli.app, ["demo", "--db", str(db), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html")
    assert result.stdout == ""                       # the report went to the file
    for cmd in ("diff", "review"):
        assert f"collector {cmd} --db '{db}'" in result.stderr
    assert "Step 4/4" in result.stderr
    conn = sqlite3.connect(db)
    try:
        assert conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 2 * len(DEMO_TOOLS)
    finally:
        conn.close()
    # the follow-up commands work on the kept store: flags wait for review
    diff = CliRunner().invoke(cli.app, ["diff", "--db", str(db), "--exit-code"])
    assert diff.exit_code == 1, diff.output
    # the demo never writes into a store that already holds crawls
    again = CliRunner().invoke(cli.app, ["demo", "--db", str(db)])
    assert again.exit_code == 2
    assert "already holds" in " ".join(again.stderr.split()) and "Traceback" not in again.output


def test_cli_prints_markdown_by_default_and_removes_its_store():
    result = CliRunner().invoke(cli.app, ["demo"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# ")
    store = re.search(r"Knowledge store for this demo: (\S+)", result.stderr).group(1)
    assert not Path(store).exists()
    assert "removed" in result.stderr


def test_installed_package_carries_every_data_file():
    """A fresh (non-editable) install must ship what the code reads at run time: migrations, rules
    data and patterns. Every non-Python file of a package must be matched by its package-data
    globs in pyproject.toml (the demo's sample sites are copied by setup.py: next test)."""
    import tomllib

    repo = Path(cli.__file__).resolve().parent
    config = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))
    package_data = config["tool"]["setuptools"]["package-data"]
    missing = []
    for package in ("knowledge", "extractors", "crawler"):
        folder = repo / package
        covered = {p for pattern in package_data.get(package, []) for p in folder.glob(pattern) if p.is_file()}
        for path in folder.rglob("*"):
            if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts \
                    and path not in covered:
                missing.append(str(path.relative_to(repo)))
    assert missing == [], f"not shipped by pip install: {missing[:5]}"


def test_build_ships_demo_sites_inside_knowledge_and_no_top_level_fixtures(tmp_path):
    """What `pip install .` puts on sys.path: collector's own packages, the demo's sample sites as
    package data of knowledge, and no top-level `fixtures` package (a popular testing library's
    name). Runs the real build step (setup.py build_py, what the wheel is made of) into a temp
    folder, then the demo's site lookup from there, without the checkout on sys.path."""
    import subprocess
    import sys
    import tomllib

    pytest.importorskip("setuptools")
    repo = Path(cli.__file__).resolve().parent
    project = tomllib.loads((repo / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] != "collector"                  # an unrelated project owns that name on PyPI
    assert project["scripts"] == {"collector": "cli:main"}  # the command stays `collector`
    build = tmp_path / "lib"
    before = set(repo.iterdir())
    done = subprocess.run([sys.executable, "setup.py", "-q", "egg_info", "--egg-base", str(tmp_path), "build_py",
                           "--build-lib", str(build)], cwd=repo,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in build.iterdir()) == ["cli.py", "crawler", "extractors", "knowledge"]
    sites = build / "knowledge" / "demo_sites"
    for version in ("v1", "v2"):
        for tool in DEMO_TOOLS:
            assert (sites / version / tool / "sitemap.xml").is_file(), (version, tool)
    assert (sites / "v2" / "mlflow" / "_faults.json").is_file()
    assert (build / "knowledge" / "store" / "migrations" / "001_crawl.sql").is_file()
    probe = ("import sys, knowledge.ops.demo as d, importlib.util as u\n"
             "with d._sites() as p: print(p)\n"
             "print(u.find_spec('fixtures'))")
    # the installed dependencies, but not the checkout (nor an editable install's path hooks: -S)
    deps = [p for p in sys.path if p and Path(p).resolve() not in (repo, repo / "tests") and Path(p).is_dir()]
    out = subprocess.run([sys.executable, "-S", "-c", f"import sys; sys.path[:] = {[str(build)] + deps!r}\n" + probe],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    found, fixtures = out.stdout.splitlines()
    assert Path(found) == sites and fixtures == "None"
    assert set(repo.iterdir()) == before      # the build wrote nothing into the checkout
