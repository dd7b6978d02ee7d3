"""The live Metaflow pair through a GitHub-Pages-like server: coverage, citations, extraction, flags.

    python bench/bench_live.py [--port 18101] [--db STORE] [--sources FILE]

Serves /tmp/corpus/metaflow-live-2024-04-10 (then -05-28) with ../shared/tools/pages_server.py on
one port, crawls each with `collector crawl metaflow --base-url metaflow=http://127.0.0.1:PORT`
into a fresh store, and prints: sitemap pages reached (the sitemap names https://docs.metaflow.org),
passages citing an anchor their stored page lacks, code lines glued, hidden tab panels missing,
admonition titles and "[source]" left, the study's citations as checked, and the flags of
2024-04-10 -> 2024-05-28 against the pages whose article text changed.
Not a test: it reads the reference corpus in place (/tmp/corpus or ../shared/corpus).
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from pathlib import Path
from urllib.parse import urlsplit

import lxml.html

SHARED = Path("/work/shared")
SNAPSHOTS = ("2024-04-10", "2024-05-28")
ADMONITION_WORDS = {"info", "tip", "note", "caution", "warning", "danger", "important"}


def snapshot(date: str) -> Path:
    here = Path("/tmp/corpus") / f"metaflow-live-{date}"
    if here.is_dir():
        return here
    out = Path(tempfile.mkdtemp(prefix="corpus-"))
    with tarfile.open(SHARED / "corpus" / f"metaflow-live-{date}.tar.gz") as tar:
        tar.extractall(out, filter="data")
    return out / f"metaflow-live-{date}"


def crawl(date: str, port: int, db: Path, sources: str | None) -> dict:
    server = subprocess.Popen([sys.executable, str(SHARED / "tools" / "pages_server.py"), str(snapshot(date)),
                               str(port), f"{date} 12:00:00"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        time.sleep(1.0)
        cmd = [str(Path(sys.executable).with_name("collector")), "crawl", "metaflow", "--base-url",
               f"metaflow=http://127.0.0.1:{port}", "--db", str(db), "--json"] + (["--sources", sources] if sources else [])
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        result = json.loads(done.stdout)
        notes = [line for line in done.stderr.replace("\r", "\n").splitlines() if line.startswith("Note:")]
        return {**result["runs"][0], "cli_notes": notes}
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=18101)
    ap.add_argument("--db", type=Path, default=None, help="store to create (default: a temp file)")
    ap.add_argument("--sources", default=None, help="sources file (e.g. with variant_mode = \"separate\")")
    args = ap.parse_args()
    db = args.db or Path(tempfile.mkdtemp(prefix="bench-live-")) / "store.sqlite"
    runs = [crawl(date, args.port, db, args.sources) for date in SNAPSHOTS]
    import sqlite3

    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row

    def blob(sha: str) -> bytes:
        return zlib.decompress(conn.execute("SELECT data FROM blobs WHERE sha256 = ?", (sha,)).fetchone()[0])

    print(f"store: {db}")
    for run, date in zip(runs, SNAPSHOTS):
        sitemap = {urlsplit(u).path.rstrip("/") or "/" for u in
                   re.findall(r"<loc>(.*?)</loc>", (snapshot(date) / "sitemap.xml").read_text())}
        got = {r[0].rstrip("/") or "/" for r in conn.execute(
            "SELECT path FROM fetches WHERE run_id = ? AND outcome IN ('fetched', 'not_modified')", (run["run"],))}
        missed = sorted(sitemap - got)
        variant = [p for p in missed if p.startswith("/v/r")]
        print(f"\n{date} (run {run['run']}, {run['status']}): sitemap {len(sitemap)} pages, reached {len(sitemap & got)}, "
              f"not reached {len(missed)} (of which R-variant pages left out by design: {len(variant)})")
        for note in run["cli_notes"]:
            print(f"  {note}")

    r1, r2 = runs[0]["run"], runs[1]["run"]
    pages = {r["url"]: r["sha256"] for r in conn.execute(
        "SELECT url, sha256 FROM fetches WHERE run_id = ? AND sha256 IS NOT NULL", (r1,))}
    key = conn.execute("SELECT rules_version FROM extractions ORDER BY extracted_at DESC LIMIT 1").fetchone()[0]
    bad = glued = lines_total = panels = panels_missing = adm = src = n = 0
    for sha in pages.values():
        texts = [(r["anchor"], r["text"]) for r in conn.execute(
            "SELECT anchor, text FROM passages WHERE page_sha256 = ? AND rules_version = ?", (sha, key))]
        n += len(texts)
        doc = lxml.html.document_fromstring(blob(sha))
        ids = {e.get("id") for e in doc.iter() if isinstance(e.tag, str) and e.get("id")}
        bad += sum(1 for a, _ in texts if a and a not in ids)
        lines = {" ".join(ln.split()) for _, t in texts for ln in t.split("\n")}
        flat = " ".join(" ".join(t.split()) for _, t in texts)
        for tl in doc.cssselect("article .token-line"):
            t = " ".join(tl.text_content().split())
            if t:
                lines_total += 1
                glued += t not in lines
        for panel in doc.cssselect("article [role=tabpanel][hidden]"):
            panels += 1
            first = [t for t in (" ".join(e.text_content().split()) for e in panel.cssselect(".token-line, p, li")) if t]
            panels_missing += bool(first) and first[0][:60] not in flat
        adm += sum(1 for ln in lines if ln.lower() in ADMONITION_WORDS)
        src += sum(1 for _, t in texts if "[source]" in t)
    print(f"\nextraction, {SNAPSHOTS[0]}: {n} passages on {len(pages)} pages")
    print(f"  passages citing an anchor their page lacks: {bad}")
    print(f"  code token-lines not kept as a line: {glued} of {lines_total}; hidden tab panels missing: "
          f"{panels_missing} of {panels}; admonition-title lines: {adm}; passages with [source]: {src}")
    cited = conn.execute("SELECT status, COUNT(*) FROM cited_checks WHERE run_id = ? GROUP BY status", (r2,)).fetchall()
    print(f"  the study's citations, as checked by run {r2}: " + ", ".join(f"{s} {c}" for s, c in cited))

    diff = json.loads(subprocess.run([str(Path(sys.executable).with_name("collector")), "diff", "--from", str(r1),
                                      "--to", str(r2), "--db", str(db), "--json"], capture_output=True, text=True).stdout)
    old = {r["path"]: r["sha256"] for r in conn.execute(
        "SELECT path, sha256 FROM fetches WHERE run_id = ? AND sha256 IS NOT NULL", (r1,))}
    new = {r["path"]: r["sha256"] for r in conn.execute(
        "SELECT path, sha256 FROM fetches WHERE run_id = ? AND sha256 IS NOT NULL", (r2,))}

    def article(sha: str) -> str:
        doc = lxml.html.document_fromstring(blob(sha))
        el = doc.cssselect("article .theme-doc-markdown") or doc.cssselect("article") or [doc]
        return " ".join(el[0].text_content().split())

    both = old.keys() & new.keys()
    text_changed = {p for p in both if article(old[p]) != article(new[p])}
    touched = set()
    for f in diff["flags"]:
        for kind in ("added", "removed", "changed", "moved"):
            for item in f.get(kind, []):
                for k in ("url", "old_url"):
                    if item.get(k):
                        touched.add(urlsplit(item[k]).path.rstrip("/") or "/")
    quiet = touched - text_changed - (new.keys() - old.keys()) - (old.keys() - new.keys())
    print(f"\n{SNAPSHOTS[0]} -> {SNAPSHOTS[1]}: {len(both)} pages in both, bytes changed "
          f"{sum(old[p] != new[p] for p in both)}, article text changed {len(text_changed)}, "
          f"added {len(new.keys() - old.keys())}, removed {len(old.keys() - new.keys())}")
    print(f"  flags {len(diff['flags'])} on {len(touched)} pages; pages in flags whose article text did not change: "
          f"{len(quiet)} {sorted(quiet)[:5]}")


if __name__ == "__main__":
    main()
