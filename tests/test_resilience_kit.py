"""Shared helpers for the resilience tests (no tests here): a small generated docs site served by
crawler.localserver, a crawl with short timeouts, and readers for what a run holds."""
from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from urllib.parse import urlsplit

from knowledge.store import Store

TOOL = "metaflow"    # a built-in source; --base-url points it at the local server
# Short timeouts and one retry keep fault tests fast; the behaviour is the same as with the defaults.
FAST = {"DOWNLOAD_TIMEOUT": 1.0, "RETRY_TIMES": 1}

TOPICS = [
    ("Data versioning", "Version your datasets and models; artifacts are stored in Amazon S3 or Azure Blob Storage."),
    ("Scaling out", "Run steps on Kubernetes or AWS Batch to scale to many GPUs in parallel."),
    ("Experiment tracking", "Every run records parameters, metrics and artifacts for experiment tracking."),
    ("Scheduling pipelines", "Deploy a flow to Argo Workflows or AWS Step Functions to schedule the pipeline."),
    ("Model serving", "Serve models behind a REST endpoint; deploy to SageMaker for real-time inference."),
    ("Collaboration", "Namespaces and tags let a team share results and inspect each other's runs."),
]


def page_html(title: str, body: str, links: list[str] = (), anchor: str = "intro") -> str:
    nav = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body>"
            f"<nav><ul>{nav}</ul></nav><main><article><h1 id='top'>{title}</h1>"
            f"<h2 id='{anchor}'>{title} in practice</h2><p>{body}</p>"
            f"<p>{body.replace('.', ' for your projects.')}</p></article></main></body></html>")


def make_site(root: Path, pages: dict[str, str] | None = None, n: int = len(TOPICS)) -> list[str]:
    """Write a docs site: / links to /p0 .. /p{n-1} (extensionless, stored as pN/index.html),
    a sitemap and a robots.txt. `pages` adds or replaces paths (-> html). Returns the page paths."""
    root.mkdir(parents=True, exist_ok=True)
    paths = [f"/p{i}" for i in range(n)]
    files = {"/": page_html("Docs home", "Welcome to the documentation for data science pipelines.", paths)}
    for i, path in enumerate(paths):
        title, body = TOPICS[i % len(TOPICS)]
        # A word per page, not only a number: pages that differ only in their digits are what a
        # link trap generates (crawler.traps), and a site of 120 such pages would be one.
        files[path] = page_html(f"{title} {i} ({_letters(i)})", body, ["/"] + paths, anchor=f"s{i}")
    files.update(pages or {})
    for path, html in files.items():
        target = root / path.strip("/") / "index.html" if path != "/" else root / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    write_robots(root)
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>__ORIGIN__{p}</loc></url>" for p in files) + "</urlset>\n", encoding="utf-8")
    return [p for p in files if p != "/"]


def _letters(i: int) -> str:
    out = ""
    while True:
        out = "abcdefghijklmnopqrstuvwxyz"[i % 26] + out
        i = i // 26 - 1
        if i < 0:
            return out


def write_robots(root: Path, disallow: list[str] = ()) -> None:
    lines = ["User-agent: *"] + [f"Disallow: {d}" for d in disallow] + ["", "Sitemap: __ORIGIN__/sitemap.xml", ""]
    (root / "robots.txt").write_text("\n".join(lines), encoding="utf-8")


def crawl(db: Path, origin: str, **kwargs) -> dict:
    from knowledge.ops.crawl import run_crawl

    kwargs.setdefault("settings", FAST)
    return run_crawl([TOOL], base_urls=[f"{TOOL}={origin}"], db=db, **kwargs)


def fetch_rows(db: Path, run_id: int) -> dict[str, sqlite3.Row]:
    """path -> fetches row of a run."""
    with Store.open(db, create=False) as store:
        return {r["path"]: r for r in store.run_fetches(run_id)}


def evidence_by_path(db: Path, run_id: int) -> dict[str, int]:
    """path -> number of (passage, criterion) pairs the run holds for it, under the current rules."""
    from knowledge.evidence.read import run_evidence

    with Store.open(db, create=False) as store:
        counts: dict[str, int] = {}
        for e in run_evidence(store, run_id):
            counts[e.path] = counts.get(e.path, 0) + 1
        return counts


def diff(db: Path):
    from knowledge.diff.engine import run_diff

    with Store.open(db, create=False) as store:
        return run_diff(store, [TOOL])


def review_all(db: Path) -> None:
    """Accept every flag of a first diff, as a group does after its first crawl (the study's stale
    claims are flags then): later diffs compare with this reviewed state, so any flag is a change."""
    from knowledge.review.decisions import decide

    with Store.open(db, create=False) as store:
        from knowledge.diff.engine import run_diff

        for flag in run_diff(store, [TOOL]).flags:
            decide(store, flag.id, "accepted", reviewer="baseline")


def removed_paths(result) -> set[str]:
    """Page paths of every passage a diff reports as removed, over all flags."""
    return {_path(item["url"]) for flag in result.flags for item in flag.payload.get("removed", [])}


def _path(url: str) -> str:
    return urlsplit(url).path.rstrip("/") or "/"


def page_shas(db: Path) -> dict[str, str]:
    """path -> the last good content hash the store keeps for each page."""
    with Store.open(db, create=False) as store:
        return {r["path"]: r["sha256"] for r in store.conn.execute("SELECT path, sha256 FROM pages WHERE tool = ?",
                                                                     (TOOL,))}


def copy_store(src: Path, dst: Path) -> Path:
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{src}{suffix}").exists():
            shutil.copyfile(f"{src}{suffix}", f"{dst}{suffix}")
    return dst


def integrity(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        conn.close()


# ----------------------------------------------------------------------------- every view, as a user sees it
def cli(*args: str, db: Path | None = None):
    """Run a collector command in-process (CliRunner); returns the click Result."""
    from typer.testing import CliRunner

    import cli as cli_module

    argv = [*args] + (["--db", str(db)] if db is not None else [])
    return CliRunner().invoke(cli_module.app, argv)


def cli_json(*args: str, db: Path):
    import json

    result = cli(*args, "--json", db=db)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def views(db: Path, tool: str = TOOL) -> dict:
    """What every view shows for a tool, reduced to what must not change when a crawl hits a
    fault: counts, facts, flags and the report's cells (not run ids or crawl dates)."""
    import json

    diff_out = cli_json("diff", "--tool", tool, db=db)     # first: it saves the flags the others show
    evidence = cli_json("evidence", tool, db=db)
    facts = cli_json("facts", tool, db=db)
    report = cli("report", "--format", "json", "--tool", tool, db=db)
    assert report.exit_code == 0, report.output
    cells = {(r["criterion"]): (r["passages"], r["facts"], r["marker"], r["open_flags"])
             for r in json.loads(report.stdout)}
    review = cli_json("review", "list", "--tool", tool, db=db)
    shown = {f["id"]: cli_json("review", "show", f["id"], db=db) for f in review}
    return {
        "evidence": len(evidence),
        "evidence_pairs": sorted((e["url"].split("#")[0].rstrip("/").rsplit("/", 1)[-1], e["criterion"],
                                  e["text"]) for e in evidence),
        "facts": sorted((f["criterion"], f["category"], f["value"], len(f["citations"])) for f in facts),
        "report": cells,
        "diff_flags": sorted((f["id"], f["summary"]) for f in diff_out["flags"]),
        "diff_cells": {f["criterion"]: f["summary"] for f in diff_out["flags"]},
        "diff_removed": sorted(r["url"] for f in diff_out["flags"] for r in f["removed"]),
        "review": sorted((f["id"], f["status"], f["summary"]) for f in review),
        "review_terms": {fid: sorted(s["terms"].items()) for fid, s in shown.items()},
    }


def without_possibly_removed(summary: str) -> str:
    """A flag summary without its "?N possibly removed" count (a page answering 404 once adds it)."""
    import re

    parts = []
    for part in summary.split("; "):
        items = [i for i in part.split(", ") if not re.fullmatch(r"\?\d+ possibly removed", i)]
        if items:
            parts.append(", ".join(items))
    return "; ".join(parts)
