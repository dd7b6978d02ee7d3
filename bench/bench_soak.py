"""Soak benchmark: many consecutive crawls of the two corpus snapshots under injected faults.

    /tmp/venv/bin/python bench/bench_soak.py [--crawls 10] [--fault-rate 0.03] [--seed 7] [--disk-full auto]

The snapshots (/work/shared/corpus, see its README) are served alternately (v1, v2, v1, v2, ...)
by crawler.localserver on the same ports, one server per tool, into one store. The first crawl of
each snapshot is clean: it lays down the "last good content" a weekly user always has. Every later
crawl gets a fresh, seeded random set of faults on a few % of the pages: HTTP 500/503, connection
resets, truncated bodies, answers slower than the download timeout, binary bodies served as HTML,
the page re-encoded in windows-1252 with the charset only in the HTTP header, and 404 for one
request; and one tool's robots.txt suddenly disallows a section of its site. One crawl (the 5th)
also runs out of disk: a real small filesystem (tmpfs, when this machine allows mounting one),
else SQLite's page limit on the crawler's connection ("database or disk is full" either way).

Printed per crawl: faults injected and pages failed, then evidence counts: passages per tool,
(passage, criterion) pairs per criterion, distinct facts per tool. The verdict checks that the
counts for unchanged content do not drift, although every later crawl has faults:
  - each crawl gives the same counts as the clean crawl of the same snapshot, except on the faulted
    pages whose article differs between the snapshots: a failed page keeps its last good content,
    which for those is the other snapshot's version (the designed behaviour, reported not judged);
  - over the pages whose article is identical in both snapshots (per the corpus manifests; all of
    Metaflow), every crawl gives the same counts;
  - no faulted page known before lost its content in the run, and `collector diff` shows the same
    flags for Metaflow, whose docs are the same in both snapshots, after every crawl as after the
    first (where the docs already contradict parts of the 2022 study); a page answering 404 once
    may add its "possibly removed" entry to a flag, nothing else;
  - the crawl that ran out of disk ends failed (never complete with pages missing) and the current
    evidence stays what the crawl before it left.
The counts are read the way every view reads them (knowledge.evidence.read.run_pages).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.localserver import LocalServer  # noqa: E402
from knowledge.domain.checklist import criterion_ids  # noqa: E402
from knowledge.ops.crawl import RESERVE_BYTES, run_crawl  # noqa: E402
from knowledge.ops.demo import loopback_without_proxy  # noqa: E402
from knowledge.diff.engine import run_diff  # noqa: E402
from knowledge.evidence.read import run_evidence, run_pages, run_passages  # noqa: E402
from knowledge.store import Store  # noqa: E402

CORPUS = Path("/work/shared/corpus")
UNPACKED = Path("/tmp/corpus")
SNAPSHOTS = ("dev-2024-03-01", "dev-2024-04-01")
TOOLS = ("metaflow", "dvc", "mlflow")
PLACEHOLDER_PORTS = {"metaflow": 8001, "dvc": 8002, "mlflow": 8003}   # bases written in robots/sitemap
FAULT_KINDS = ("status500", "status503", "reset", "truncate", "slow", "binary", "charset", "gone_once")
DISK_FULL_CRAWL = 5          # which crawl runs out of disk (1-based; needs --crawls >= 5)
MAYBE = re.compile(r"\?\d+ possibly removed")    # a page answering 404 once, in a flag's summary


# ----------------------------------------------------------------------------- corpus
def snapshot_dir(name: str, tmp: Path) -> Path:
    """The unpacked snapshot: /tmp/corpus/<name> if present, else unpacked into `tmp` (mtimes kept)."""
    if all((UNPACKED / name / tool / "index.html").is_file() for tool in TOOLS):
        return UNPACKED / name
    with tarfile.open(CORPUS / f"{name}.tar.gz") as tar:
        tar.extractall(tmp, filter="data")
    return tmp / name


def manifest_pages(root: Path, tool: str) -> dict[str, str]:
    """url path (no trailing slash) -> sha256 of the rendered article."""
    data = json.loads((root / f"manifest-{tool}.json").read_text(encoding="utf-8"))
    return {(p.rstrip("/") or "/"): v["body_sha256"] for p, v in data["pages"].items()}


# ----------------------------------------------------------------------------- servers and faults
class QuietServer(LocalServer):
    def handle_error(self, request, client_address) -> None:
        pass   # a client hanging up on an injected fault is expected, not worth a traceback


def serve_snapshot(root: Path, ports: dict[str, int], faults: dict[str, dict], stack: ExitStack) -> dict[str, str]:
    """One server per tool on the given ports (0 = pick one; the chosen port is written back)."""
    origins = {}
    for tool in TOOLS:
        server = QuietServer(root / tool, port=ports.get(tool, 0), faults=faults.get(tool, {}))
        server.replace = {f"http://127.0.0.1:{PLACEHOLDER_PORTS[tool]}": server.origin}
        server.start()
        stack.callback(server.stop)
        ports[tool] = server.server_address[1]
        origins[tool] = server.origin
    return origins


def pick_faults(rng: random.Random, pages: dict[str, list[str]], rate: float, slow: float) -> dict[str, dict]:
    """{tool: {path: fault}} on about `rate` of each tool's pages."""
    out: dict[str, dict] = {}
    for tool, paths in pages.items():
        chosen = rng.sample(paths, max(1, round(rate * len(paths))))
        faults = {}
        for path in chosen:
            kind = rng.choice(FAULT_KINDS)
            faults[path] = {"status500": {"status": 500}, "status503": {"status": 503}, "reset": {"reset": True},
                            "truncate": {"truncate": True}, "slow": {"delay": slow},
                            "binary": {"binary": 60_000}, "gone_once": {"status": 404, "times": 1},
                            "charset": {"charset": "cp1252", "label": "windows-1252"}}[kind]
            if path != "/":   # the page is asked for where its last crawl ended (/x/ after a 301)
                faults[path + "/"] = faults[path]
        out[tool] = faults
    return out


def pick_robots_change(rng: random.Random, pages: dict[str, list[str]], faults: dict[str, dict]) -> str:
    """One tool's robots.txt now disallows one section (a path prefix holding a few pages)."""
    tool = rng.choice(sorted(pages))
    prefixes = sorted({"/".join(p.split("/")[:3]) for p in pages[tool] if p.count("/") >= 3})
    prefix = rng.choice(prefixes) if prefixes else rng.choice(pages[tool])
    faults[tool]["/robots.txt"] = {"body": f"User-agent: *\nDisallow: {prefix}/\n", "content_type": "text/plain"}
    for path in pages[tool]:
        if path.startswith(prefix + "/"):
            faults[tool].setdefault(path, {"robots": True})   # bookkeeping only: the server ignores it
    return f"{tool} {prefix}/"


def faulted_pages(faults: dict[str, dict]) -> set[str]:
    return {p.rstrip("/") or "/" for p in faults if p != "/robots.txt"}


# ----------------------------------------------------------------------------- disk full
class DiskFull:
    """Makes one crawl run out of disk: the store lives on a small tmpfs when the machine allows
    mounting one (then a filler file takes the space), else SQLite's max_page_count is set on the
    crawler's connection by a sitecustomize module on PYTHONPATH (same error: disk is full)."""

    def __init__(self, mode: str, tmp: Path):
        self.mode, self.tmp, self.mount = mode, tmp, None
        if mode in ("auto", "tmpfs") and sys.platform.startswith("linux") and shutil.which("mount"):
            mount = tmp / "disk"
            mount.mkdir()
            done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1g", "tmpfs", str(mount)], capture_output=True)
            if done.returncode == 0:
                self.mode, self.mount = "tmpfs", mount
        if self.mode == "tmpfs" and self.mount is None:
            raise SystemExit("--disk-full tmpfs: cannot mount a tmpfs here (needs root on Linux)")
        if self.mode == "auto":
            self.mode = "sqlite"

    def store_dir(self) -> Path:
        return self.mount or self.tmp

    def fill(self, db: Path):
        """Context for the crawl that runs out of disk."""
        import contextlib

        @contextlib.contextmanager
        def filled():
            if self.mode == "tmpfs":
                filler = self.mount / "filler"
                # Room for the crawl's reserve (knowledge.ops.crawl) and 512 KB: it runs out midway.
                room = RESERVE_BYTES + 512 * 1024
                filler.write_bytes(b"\0" * max(0, shutil.disk_usage(self.mount).free - room))
                try:
                    yield
                finally:
                    filler.unlink()
            elif self.mode == "sqlite":
                conn = sqlite3.connect(db)
                pages = conn.execute("PRAGMA page_count").fetchone()[0]
                conn.close()
                inject = self.tmp / "inject"
                inject.mkdir(exist_ok=True)
                (inject / "sitecustomize.py").write_text(textwrap.dedent(f"""
                    import os, sqlite3
                    _connect = sqlite3.connect
                    def connect(database, *args, **kwargs):
                        conn = _connect(database, *args, **kwargs)
                        if os.path.abspath(str(database)) == {str(db)!r}:
                            conn.execute("PRAGMA max_page_count = {pages + 40}")
                        return conn
                    sqlite3.connect = connect
                """), encoding="utf-8")
                saved = os.environ.get("PYTHONPATH")
                os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(inject), saved]))
                try:
                    yield
                finally:
                    if saved is None:
                        os.environ.pop("PYTHONPATH", None)
                    else:
                        os.environ["PYTHONPATH"] = saved
            else:
                yield
        return filled()

    def close(self) -> None:
        if self.mount:
            subprocess.run(["umount", "-l", str(self.mount)], capture_output=True)


# ----------------------------------------------------------------------------- counting
def counts(store: Store, run_id: int, only: set[str] | None = None, exclude: frozenset = frozenset()) -> dict:
    """Evidence of one run as every view reads it: passages, (passage, criterion) pairs per
    criterion, distinct facts; over the pages in `only` (default: all) minus those in `exclude`."""
    keep = lambda path: (only is None or _p(path) in only) and _p(path) not in exclude  # noqa: E731
    passages = sum(1 for ev in run_passages(store, run_id) if keep(ev.path))
    pairs: Counter = Counter()
    facts: set = set()
    for ev in run_evidence(store, run_id):
        if not keep(ev.path):
            continue
        pairs[ev.criterion] += 1
        facts.update((f["category"], f["value"]) for f in ev.facts)
    return {"passages": passages, "pairs": dict(pairs), "facts": len(facts)}


def without_maybe(summary: str) -> str:
    """A flag summary without its "?N possibly removed" count ("a, ?1 possibly removed; b" -> "a; b")."""
    parts = [", ".join(i for i in part.split(", ") if not MAYBE.fullmatch(i)) for part in summary.split("; ")]
    return "; ".join(p for p in parts if p)


def _p(path: str) -> str:
    return path.rstrip("/") or "/"


def lost_pages(store: Store, run_id: int, faults: dict[str, dict]) -> list[str]:
    """Faulted pages that had content before this run but are not part of what it stands for."""
    held = {_p(p.path) for p in run_pages(store, run_id)}
    tool = store.get_run(run_id)["tool"]
    lost = []
    for path in sorted(faulted_pages(faults)):
        had = store.conn.execute(
            "SELECT 1 FROM fetches f JOIN runs r ON r.id = f.run_id WHERE r.tool = ? AND f.run_id < ? AND "
            "f.path IN (?, ?) AND f.outcome IN ('fetched', 'not_modified') LIMIT 1",
            (tool, run_id, path, path + "/")).fetchone()
        if had and path not in held:
            lost.append(path)
    return lost


def quick_check_ms(db: Path) -> tuple[float, float]:
    """(milliseconds for PRAGMA quick_check, store size in MB): what every crawl and diff pays."""
    conn = sqlite3.connect(db)
    try:
        t0 = time.perf_counter()
        assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        return (time.perf_counter() - t0) * 1000, db.stat().st_size / 1e6
    finally:
        conn.close()


# ----------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crawls", type=int, default=10, help="consecutive crawls (default 10)")
    ap.add_argument("--fault-rate", type=float, default=0.03, help="share of pages faulted per crawl (default 0.03)")
    ap.add_argument("--seed", type=int, default=7, help="random seed for the faults (default 7)")
    ap.add_argument("--timeout", type=float, default=3.0, help="download timeout in seconds (default 3)")
    ap.add_argument("--disk-full", choices=("auto", "tmpfs", "sqlite", "none"), default="auto",
                    help="how crawl 5 runs out of disk: a small tmpfs (root on Linux), SQLite's page limit, "
                         "or not at all (default: tmpfs where possible, else sqlite)")
    ap.add_argument("--keep", type=Path, help="copy the soak store to this file at the end (to inspect it)")
    args = ap.parse_args()
    if args.crawls < 2:
        ap.error("--crawls must be at least 2 (one clean crawl of each snapshot)")

    with tempfile.TemporaryDirectory(prefix="collector-soak-") as tmp_name, ExitStack() as outer:
        tmp = Path(tmp_name)
        outer.enter_context(loopback_without_proxy())
        disk = DiskFull(args.disk_full, tmp)
        outer.callback(disk.close)
        roots = [snapshot_dir(name, tmp) for name in SNAPSHOTS]
        manifests = [{t: manifest_pages(r, t) for t in TOOLS} for r in roots]
        stable = {t: {p for p, h in manifests[0][t].items() if manifests[1][t].get(p) == h} for t in TOOLS}
        changed = {t: (set(manifests[0][t]) | set(manifests[1][t])) - stable[t] for t in TOOLS}
        print(f"snapshots: {', '.join(str(r) for r in roots)}")
        print("pages with identical articles in both snapshots: "
              + ", ".join(f"{t} {len(stable[t])}/{len(set(manifests[0][t]) | set(manifests[1][t]))}" for t in TOOLS))
        settings = {"DOWNLOAD_TIMEOUT": args.timeout, "RETRY_TIMES": 1}
        print(f"crawls: {args.crawls}, fault rate {args.fault_rate:.0%}, seed {args.seed}, settings {settings}, "
              f"disk full in crawl {DISK_FULL_CRAWL}: {disk.mode}\n")

        db = disk.store_dir() / "soak.sqlite"
        ports: dict[str, int] = {}
        history: list[dict] = []
        started = time.monotonic()
        for i in range(args.crawls):
            snap = i % 2
            rng = random.Random(args.seed * 1000 + i)
            clean = i < 2
            disk_full = i + 1 == DISK_FULL_CRAWL and disk.mode != "none"
            pages = {t: sorted(manifests[snap][t]) for t in TOOLS}
            faults = {t: {} for t in TOOLS} if clean else pick_faults(rng, pages, args.fault_rate, args.timeout + 1.0)
            robots = None if clean else pick_robots_change(rng, pages, faults)
            t0 = time.monotonic()
            with ExitStack() as stack:
                origins = serve_snapshot(roots[snap], ports, faults, stack)
                if disk_full:
                    stack.enter_context(disk.fill(db))
                result = run_crawl(list(TOOLS), base_urls=[f"{t}={o}" for t, o in origins.items()], db=db,
                                   settings=settings, evidence=not disk_full)
            seconds = time.monotonic() - t0
            entry = {"crawl": i + 1, "snapshot": SNAPSHOTS[snap], "seconds": seconds, "tools": {},
                     "robots": robots, "disk_full": disk_full}
            with Store.open(db, create=False) as store:
                for run in result["runs"]:
                    tool, run_id = run["tool"], run["run"]
                    tool_faults = faults.get(tool, {})
                    finished = run["status"] in ("complete", "partial")
                    # What every view shows now: this run if it finished, else the last one that did.
                    current = run_id if finished else store.latest_finished_run(tool)["id"]
                    entry["tools"][tool] = {
                        "run": run_id, "status": run["status"], "message": run["message"],
                        "current": current, "faults": len(faulted_pages(tool_faults)),
                        "failed": run["stats"].get("failed", 0),
                        "all": counts(store, current),
                        "stable": counts(store, current, stable[tool]),
                        "lost": lost_pages(store, run_id, tool_faults) if finished else [],
                        "carried_other": sorted(p for p in faulted_pages(tool_faults) if p in changed[tool]),
                    }
                    # Same snapshot as its clean crawl: identical counts over the snapshot's pages, except
                    # on faulted pages whose content differs between the snapshots (they carry the other
                    # version, as designed). Pages of the other snapshot only answer 404 here: once, they
                    # are "possibly gone" and keep their content; twice in a row, gone (not compared).
                    if not clean and finished:
                        base_run = history[snap]["tools"][tool]["run"]
                        skip = frozenset(entry["tools"][tool]["carried_other"])
                        mine = {_p(x) for x in manifests[snap][tool]}
                        entry["tools"][tool]["same_snapshot"] = (counts(store, base_run, mine, exclude=skip),
                                                                 counts(store, run_id, mine, exclude=skip))
                # Metaflow's docs did not change between the snapshots: whatever the faults, the diff
                # shows the flags it showed after the first crawl (contradictions of the study).
                entry["metaflow_flags"] = {f.criterion: without_maybe(f.summary)
                                           for f in run_diff(store, ["metaflow"]).flags}
            entry["quick_check"] = quick_check_ms(db)
            history.append(entry)
            print_crawl(entry)
        if args.keep:
            shutil.copyfile(db, args.keep)
        return verdict(history, time.monotonic() - started)


def print_crawl(entry: dict) -> None:
    tools = entry["tools"]
    print(f"crawl {entry['crawl']:2d}  {entry['snapshot']}  {entry['seconds']:5.1f}s  "
          + "  ".join(f"{t}: run {d['run']} {d['status']}, {d['faults']} faults, {d['failed']} failed"
                      for t, d in tools.items()))
    if entry["robots"]:
        print(f"          robots.txt now disallows {entry['robots']}")
    if entry["disk_full"]:
        print("          the disk filled during this crawl: "
              + "; ".join(f"{t} {d['status']} ({(d['message'] or '')[:60]})" for t, d in tools.items()))
    print("          passages  " + "  ".join(f"{t} {d['all']['passages']} (stable {d['stable']['passages']})"
                                         for t, d in tools.items()))
    print("          facts     " + "  ".join(f"{t} {d['all']['facts']} (stable {d['stable']['facts']})"
                                         for t, d in tools.items()))
    pairs = Counter()
    for d in tools.values():
        pairs.update(d["all"]["pairs"])
    print("          pairs     " + " ".join(f"{c}={pairs.get(c, 0)}" for c in criterion_ids()))
    ms, mb = entry["quick_check"]
    print(f"          metaflow diff: {len(entry['metaflow_flags'])} flag(s); store {mb:.1f} MB, "
          f"quick_check {ms:.0f} ms")
    carried = sum(len(d["carried_other"]) for d in tools.values())
    if carried:
        print(f"          ({carried} faulted page(s) differ between the snapshots: they carry the other "
              "snapshot's content, as designed)")


def verdict(history: list[dict], seconds: float) -> int:
    problems = []
    base = {t: d["stable"] for t, d in history[0]["tools"].items()}
    for entry in history[1:]:
        for tool, d in entry["tools"].items():
            if d["stable"] != base[tool]:
                problems.append(f"crawl {entry['crawl']}: {tool} counts on unchanged pages drifted "
                                f"({_delta(base[tool], d['stable'])})")
    for entry in history[2:]:
        for tool, d in entry["tools"].items():
            if "same_snapshot" not in d:
                continue
            a, b = d["same_snapshot"]
            if a != b:
                problems.append(f"crawl {entry['crawl']}: {tool} counts differ from the clean crawl of the same "
                                f"snapshot ({_delta(a, b)})")
    for k, entry in enumerate(history):
        if entry["metaflow_flags"] != history[0]["metaflow_flags"]:
            new = {c: t for c, t in entry["metaflow_flags"].items() if history[0]["metaflow_flags"].get(c) != t}
            gone = sorted(set(history[0]["metaflow_flags"]) - set(entry["metaflow_flags"]))
            problems.append(f"crawl {entry['crawl']}: diff flags on the unchanged metaflow docs changed: "
                            f"{list(new.items())[:2]}{'; no longer flagged: ' + ', '.join(gone) if gone else ''}")
        for tool, d in entry["tools"].items():
            if d["lost"]:
                problems.append(f"crawl {entry['crawl']}: {tool} lost content of faulted pages {d['lost'][:3]}")
            if entry["disk_full"]:
                if d["status"] in ("failed", "interrupted"):
                    if d["status"] == "failed" and "disk full" not in (d["message"] or ""):
                        problems.append(f"crawl {entry['crawl']}: {tool} failed without saying 'disk full'")
                    before = history[k - 1]["tools"][tool]
                    if d["all"] != before["all"]:
                        problems.append(f"crawl {entry['crawl']}: {tool} current evidence changed although the "
                                        f"crawl failed ({_delta(before['all'], d['all'])})")
            elif d["status"] not in ("complete", "partial"):
                problems.append(f"crawl {entry['crawl']}: {tool} run ended {d['status']}")
        if entry["disk_full"] and not any(d["status"] in ("failed", "interrupted") for d in entry["tools"].values()):
            problems.append(f"crawl {entry['crawl']}: the disk filled but every run ended complete")
    faults = sum(d["faults"] for e in history for d in e["tools"].values())
    failed = sum(d["failed"] for e in history for d in e["tools"].values())
    ms, mb = history[-1]["quick_check"]
    print(f"\n{len(history)} crawls in {seconds:.0f}s; {faults} faults injected, {failed} page fetches failed.")
    print(f"PRAGMA quick_check on the final store ({mb:.1f} MB): {ms:.0f} ms")
    for p in problems:
        print("  PROBLEM:", p)
    if problems:
        print(f"VERDICT: FAIL - {len(problems)} problem(s): evidence drifted or was lost under faults.")
        return 1
    print("VERDICT: PASS - 0 evidence drift: every crawl's counts equal its snapshot's clean crawl despite the "
          "faults (faulted pages that differ between snapshots aside), counts on unchanged articles identical "
          "across all crawls, no faulted page lost its last good content, the same flags on the unchanged Metaflow "
          "docs, and the crawl that ran out of disk failed and left the current evidence as it was.")
    return 0


def _delta(a: dict, b: dict) -> str:
    parts = []
    if a["passages"] != b["passages"]:
        parts.append(f"passages {a['passages']} -> {b['passages']}")
    if a["facts"] != b["facts"]:
        parts.append(f"facts {a['facts']} -> {b['facts']}")
    for c in sorted(set(a["pairs"]) | set(b["pairs"])):
        if a["pairs"].get(c, 0) != b["pairs"].get(c, 0):
            parts.append(f"{c} {a['pairs'].get(c, 0)} -> {b['pairs'].get(c, 0)}")
    return ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
