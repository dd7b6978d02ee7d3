"""Test helpers for the diff: crawls inserted straight into a tmp store, and a fixed extractor.

`Crawls.run(tool, pages)` stores one crawl run the way the crawler does: one fetch verdict per URL,
page bodies as blobs, a failed page carrying its last good content forward, a gone page with no
content. `use_fixed_extractor(monkeypatch)` swaps knowledge.evidence.build.extract_html for a small,
deterministic one (h1-h3 sections under <main>, keyword tags, storage-backend facts) so the diff
tests do not move when the real extractor's rules are tuned.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

import knowledge.evidence.build as evidence
from extractors.model import Fact, Passage, Tag
from knowledge.evidence.build import build_evidence
from knowledge.store import Store, utcnow

ORIGINS = {"metaflow": "http://127.0.0.1:8001", "dvc": "http://127.0.0.1:8002", "mlflow": "http://127.0.0.1:8003"}


@dataclass(frozen=True)
class Failed:
    reason: str = "connection refused"


@dataclass(frozen=True)
class Gone:
    status: int = 404


def page(*sections: tuple[str, str], title: str = "Page", chrome: str = "Home | Docs | Blog",
         stamp: str = "build 3f2a9c1 at 2024-03-01T04:00:00Z") -> str:
    """An HTML page: navbar and footer (chrome) around <main> with one h2 per (heading, text)."""
    body = "".join(f'<h2 id="{h.lower().replace(" ", "-")}">{h}</h2><p>{t}</p>' for h, t in sections)
    return (f"<html><body><nav>{chrome}</nav><main><h1 id=\"top\">{title}</h1>{body}</main>"
            f"<footer>{stamp}</footer></body></html>")


class Crawls:
    def __init__(self, tmp_path: Path):
        self.path = tmp_path / "store.sqlite"
        self.store = Store.open(self.path)
        self._last: dict[tuple[str, str], str] = {}   # (tool, url) -> last good sha

    def run(self, tool: str, pages: dict[str, object], status: str = "complete", extract: bool = True,
            origin: str | None = None) -> int:
        store = self.store
        origin = origin or ORIGINS[tool]
        run_id = store.start_run(tool, origin=origin)
        now = utcnow()
        for path, content in pages.items():
            url = origin + path
            if isinstance(content, Failed):
                sha = self._last.get((tool, url))
                row = (run_id, url, path, "failed", None, None, sha, now, 0, content.reason)
            elif isinstance(content, Gone):
                row = (run_id, url, path, "gone", None, content.status, None, now, 0, f"HTTP {content.status}")
            else:
                body = content.encode() if isinstance(content, str) else content
                sha = store.put_blob(body)
                change = "new" if (tool, url) not in self._last else (
                    "unchanged" if self._last[(tool, url)] == sha else "changed")
                self._last[(tool, url)] = sha
                row = (run_id, url, path, "fetched", change, 200, sha, now, len(body), None)
            store.conn.execute(
                "INSERT INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at, bytes, "
                "reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", row)
        store.finish_run(run_id, "running" if status == "running" else status)
        if status == "running":
            store.conn.execute("UPDATE runs SET finished_at = NULL WHERE id = ?", (run_id,))
        if extract and status in ("complete", "partial"):
            build_evidence(store, [run_id])
        return run_id

    def flags(self) -> list[dict]:
        return [dict(r) for r in self.store.conn.execute("SELECT * FROM flags ORDER BY id")]


# --------------------------------------------------------------------------- fixed extractor
KEYWORDS = {"storage": ("storage", "s3", "remote", "azure", "bucket"),
            "tracking": ("metric", "experiment", "param"),
            "scaling": ("kubernetes", "cluster", "batch"),
            "serving": ("serve", "deploy")}
FACTS = {"s3": "s3", "azure": "azure-blob", "google cloud storage": "gcs", "gcs": "gcs"}


def fixed_extract_html(html, url, source=None):
    soup = BeautifulSoup(html, "lxml")
    root = soup.find("main") or soup.body or soup
    out, heads, anchor, buf = [], [], "", []

    def flush():
        if buf:
            out.append(Passage(url, anchor, tuple(heads), " ".join(buf), len(out)))
            buf.clear()

    for el in root.find_all(["h1", "h2", "h3", "p", "li"]):
        if el.name.startswith("h"):
            flush()
            heads[:] = heads[: int(el.name[1]) - 1] + [el.get_text(" ", strip=True)]
            anchor = el.get("id") or ""
        else:
            buf.append(el.get_text(" ", strip=True))
    flush()
    results = []
    for p in out:
        low = (" ".join(p.heading_path) + " " + p.text).lower()
        tags = [Tag(c, 1.0, tuple(w for w in ws if w in low)) for c, ws in KEYWORDS.items() if any(w in low for w in ws)]
        facts = [Fact("storage_backend", v, "storage", k) for k, v in FACTS.items() if k in p.text.lower()]
        facts = list({f.value: f for f in facts}.values()) if any(t.criterion == "storage" for t in tags) else []
        results.append((p, tags, facts))
    return results


def use_fixed_extractor(monkeypatch) -> None:
    monkeypatch.setattr(evidence, "extract_html", fixed_extract_html)


def flag_for(result, tool: str, criterion: str):
    found = [f for f in result.flags if f.tool == tool and f.criterion == criterion]
    assert len(found) <= 1
    return found[0] if found else None


def payload(flag) -> dict:
    return json.loads(json.dumps(flag.to_dict()))
