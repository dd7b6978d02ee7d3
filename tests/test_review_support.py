"""Shared builders for the review and report tests: runs, evidence, flags and a study claim,
inserted directly into a tmp_path store (the flags table is the contract with `collector diff`)."""
from __future__ import annotations

import json
import sys
import types
from dataclasses import dataclass

import pytest

import knowledge.evidence.build as evidence
from extractors.model import Fact, Passage, Tag
from knowledge.store import Store

# A hostile page: terminal escapes (CSI colour, OSC retitle + BEL, 8-bit CSI, clear screen),
# a carriage-return overwrite, a backspace, rich markup and HTML/Markdown.
EVIL = ("Store in S3\x1b[31m RED\x1b[0m\x1b]0;pwned\x07 \x9b2J\rFAKE\x08 [bold red]styled[/bold red] "
        "<script>alert(1)</script> | [link](javascript:alert(1))")
ESCAPES = ("\x1b", "\x9b", "\x07", "\x08", "\r")


def assert_inert(text: str) -> None:
    for ch in ESCAPES:
        assert ch not in text, f"raw control character {ch!r} reached the output"


@dataclass
class Claim:
    tool: str
    criterion: str
    claim: str
    citations: tuple
    status: str
    facts: dict


STUDY = {("mlflow", "storage"): Claim("mlflow", "storage", "Local file paths, NFS, SFTP, Amazon S3, Azure Blob.",
                                      ("https://www.mlflow.org/docs/latest/tracking.html#id49",), "stated",
                                      {"storage_backend": ["s3", "azure-blob"]})}


@pytest.fixture
def study(monkeypatch):
    """A known study claim per cell, whether or not knowledge.domain.baseline has landed yet (test-only fallback)."""
    def baseline_for(tool, criterion):
        return STUDY.get((tool, criterion))
    try:
        import knowledge.domain.baseline as baseline
    except ImportError:
        baseline = types.ModuleType("knowledge.domain.baseline")
        monkeypatch.setitem(sys.modules, "knowledge.domain.baseline", baseline)
    monkeypatch.setattr(baseline, "baseline_for", baseline_for, raising=False)
    return STUDY


# Pages: path -> [(anchor, heading, text, {criterion: score}, [(category, value, criterion)])]
PAGES = {
    "/doc/storage": [("remote", "Remote storage", "Artifacts go to Amazon S3 or Azure Blob Storage.",
                      {"storage": 0.9}, [("storage_backend", "s3", "storage"), ("storage_backend", "azure-blob", "storage")]),
                     ("local", "Local", "Or a local file path.", {"storage": 0.5}, []),
                     ("nfs", "NFS", "NFS mounts work as well.", {"storage": 0.4}, []),
                     ("sftp", "SFTP", "SFTP servers too.", {"storage": 0.3}, [])],
    "/doc/track": [("metrics", "Metrics", "Log metrics and params.", {"tracking": 0.8}, [])],
}


@pytest.fixture
def fake_extractor(monkeypatch):
    """Evidence from a table keyed by page path (the HTML body is the path), no real extractor."""
    pages = dict(PAGES)

    def extract_html(html, url, source=None):
        key = html.decode() if isinstance(html, bytes) else html
        out = []
        for i, (anchor, heading, text, tags, facts) in enumerate(pages.get(key, [])):
            p = Passage(url, anchor, (heading,), text, i)
            out.append((p, [Tag(c, s, tuple(text.lower().split()[:2])) for c, s in tags.items()],
                        [Fact(cat, val, crit, val) for cat, val, crit in facts]))
        return out

    monkeypatch.setattr(evidence, "extract_html", extract_html)
    return pages


def add_run(store: Store, tool: str, paths: list[str], *, when: str = "2026-01-05T00:00:00Z",
            status: str = "complete") -> int:
    run = store.start_run(tool, settings={"source": {"content": ["main"], "drop": []}})
    with store.transaction():
        store.conn.execute("UPDATE runs SET started_at = ? WHERE id = ?", (when, run))
        for path in paths:
            sha = store.put_blob(path.encode())
            store.conn.execute(
                "INSERT INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at) "
                "VALUES (?, ?, ?, 'fetched', 'new', 200, ?, ?)",
                (run, f"https://{tool}.example.org{path}", path, sha, when))
    store.finish_run(run, status)
    return run


def passage(tool: str, anchor: str, text: str, crawled: str = "2026-02-01T00:00:00Z", **extra) -> dict:
    return {"url": f"https://{tool}.example.org/doc/page#{anchor}", "heading_path": ["Page", anchor.title()],
            "text": text, "crawled_at": crawled, **extra}


def add_flag(store: Store, flag_id: str, tool: str, criterion: str, *, rank: int = 3, to_run: int = 2,
             from_run: int | None = 1, status: str = "open", payload: dict | None = None,
             summary: str | None = None, kind: str = "evidence", created_at: str = "2026-02-01T00:00:00Z") -> str:
    payload = payload if payload is not None else {
        "added": [passage(tool, "new", "Now also Google Cloud Storage.")], "removed": [], "moved": [],
        "changed": [dict(passage(tool, "remote", "Artifacts go to S3 or GCS."), old_text="Artifacts go to S3.")],
        "facts_gained": {"storage_backend": ["gcs"]}, "facts_lost": {}}
    with store.transaction():
        store.conn.execute(
            "INSERT INTO flags (id, tool, criterion, kind, rank, summary, from_run, to_run, from_state, to_state, "
            "rules_version, payload, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (flag_id, tool, criterion, kind, rank, summary or f"{criterion} evidence changed", from_run, to_run,
             f"state-{from_run}", f"state-{flag_id}", "rules-1", json.dumps(payload), status, created_at, created_at))
    return flag_id


def db_rows(store: Store, sql: str, *args) -> list[dict]:
    return [dict(r) for r in store.conn.execute(sql, args)]
