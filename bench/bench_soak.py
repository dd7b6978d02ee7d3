"""Soak benchmark: many consecutive crawls of the two corpus snapshots under injected faults.

    /tmp/venv/bin/python bench/bench_soak.py [--crawls 10] [--fault-rate 0.03] [--seed 7]

The snapshots (/work/shared/corpus, see its README) are served alternately (v1, v2, v1, v2, ...)
by crawler.localserver on the same ports, one server per tool, into one store. The first crawl of
each snapshot is clean: it lays down the "last good content" a weekly user always has. Every later
crawl gets a fresh, seeded random set of faults on a few % of the pages (HTTP 500/503, connection
resets, truncated bodies, answers slower than the download timeout).

Printed per crawl: faults injected and pages failed, then evidence counts: passages per tool,
(passage, criterion) pairs per criterion, distinct facts per tool. The verdict checks that the
counts for unchanged content do not drift, although every later crawl has faults:
  - each crawl gives the same counts as the clean crawl of the same snapshot, except on the faulted
    pages whose article differs between the snapshots: a failed page keeps its last good content,
    which for those is the other snapshot's version (the designed behaviour, reported not judged);
  - over the pages whose article is identical in both snapshots (per the corpus manifests; all of
    Metaflow), every crawl gives the same counts;
  - no faulted page known before lost its content in the run, and `collector diff` never flags
    Metaflow, whose docs are the same in both snapshots.
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import tarfile
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from crawler.localserver import LocalServer  # noqa: E402
from knowledge.domain.checklist import criterion_ids  # noqa: E402
from knowledge.ops.crawl import run_crawl  # noqa: E402
from knowledge.ops.demo import loopback_without_proxy  # noqa: E402
from knowledge.diff.engine import run_diff  # noqa: E402
from knowledge.evidence.rules import run_source, rules_key  # noqa: E402
from knowledge.evidence.read import run_evidence  # noqa: E402
from knowledge.store import Store  # noqa: E402

CORPUS = Path("/work/shared/corpus")
UNPACKED = Path("/tmp/corpus")
SNAPSHOTS = ("dev-2024-03-01", "dev-2024-04-01")
TOOLS = ("metaflow", "dvc", "mlflow")
PLACEHOLDER_PORTS = {"metaflow": 8001, "dvc": 8002, "mlflow": 8003}   # bases written in robots/sitemap
FAULT_KINDS = ("status500", "status503", "reset", "truncate", "slow")


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
                            "truncate": {"truncate": True}, "slow": {"delay": slow}}[kind]
        out[tool] = faults
    return out


# ----------------------------------------------------------------------------- counting
def counts(store: Store, run_id: int, only: set[str] | None = None, exclude: frozenset = frozenset()) -> dict:
    """Evidence of one run: passages, (passage, criterion) pairs per criterion, distinct facts;
    over the pages in `only` (default: all) minus those in `exclude`."""
    key = rules_key(run_source(store, run_id)[1])
    rows = store.conn.execute(
        "SELECT f.path, COUNT(p.id) FROM fetches f JOIN passages p ON p.page_sha256 = f.sha256 "
        "AND p.rules_version = ? WHERE f.run_id = ? GROUP BY f.path", (key, run_id)).fetchall()
    keep = lambda path: (only is None or path in only) and path not in exclude  # noqa: E731
    passages = sum(n for path, n in rows if keep(path))
    pairs: Counter = Counter()
    facts: set = set()
    for ev in run_evidence(store, run_id):
        if not keep(ev.path):
            continue
        pairs[ev.criterion] += 1
        facts.update((f["category"], f["value"]) for f in ev.facts)
    return {"passages": passages, "pairs": dict(pairs), "facts": len(facts)}


def lost_pages(store: Store, run_id: int, faults: dict[str, dict]) -> list[str]:
    """Faulted pages that had content before this run but hold none in it."""
    lost = []
    for path in faults:
        row = store.conn.execute("SELECT url, sha256 FROM fetches WHERE run_id = ? AND path = ?",
                                 (run_id, path)).fetchone()
        had = store.conn.execute("SELECT 1 FROM fetches WHERE run_id < ? AND path = ? AND sha256 IS NOT NULL "
                                 "AND run_id IN (SELECT id FROM runs WHERE tool = (SELECT tool FROM runs WHERE "
                                 "id = ?))", (run_id, path, run_id)).fetchone()
        if had and (row is None or row["sha256"] is None):
            lost.append(path)
    return lost


# ----------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--crawls", type=int, default=10, help="consecutive crawls (default 10)")
    ap.add_argument("--fault-rate", type=float, default=0.03, help="share of pages faulted per crawl (default 0.03)")
    ap.add_argument("--seed", type=int, default=7, help="random seed for the faults (default 7)")
    ap.add_argument("--timeout", type=float, default=3.0, help="download timeout in seconds (default 3)")
    args = ap.parse_args()
    if args.crawls < 2:
        ap.error("--crawls must be at least 2 (one clean crawl of each snapshot)")

    with tempfile.TemporaryDirectory(prefix="collector-soak-") as tmp_name, ExitStack() as outer:
        tmp = Path(tmp_name)
        outer.enter_context(loopback_without_proxy())
        roots = [snapshot_dir(name, tmp) for name in SNAPSHOTS]
        manifests = [{t: manifest_pages(r, t) for t in TOOLS} for r in roots]
        stable = {t: {p for p, h in manifests[0][t].items() if manifests[1][t].get(p) == h} for t in TOOLS}
        changed = {t: (set(manifests[0][t]) | set(manifests[1][t])) - stable[t] for t in TOOLS}
        print(f"snapshots: {', '.join(str(r) for r in roots)}")
        print("pages with identical articles in both snapshots: "
              + ", ".join(f"{t} {len(stable[t])}/{len(set(manifests[0][t]) | set(manifests[1][t]))}" for t in TOOLS))
        settings = {"DOWNLOAD_TIMEOUT": args.timeout, "RETRY_TIMES": 1}
        print(f"crawls: {args.crawls}, fault rate {args.fault_rate:.0%}, seed {args.seed}, settings {settings}\n")

        db = tmp / "soak.sqlite"
        ports: dict[str, int] = {}
        history: list[dict] = []
        started = time.monotonic()
        for i in range(args.crawls):
            snap = i % 2
            rng = random.Random(args.seed * 1000 + i)
            clean = i < 2
            pages = {t: sorted(manifests[snap][t]) for t in TOOLS}
            faults = {} if clean else pick_faults(rng, pages, args.fault_rate, args.timeout + 1.0)
            t0 = time.monotonic()
            with ExitStack() as stack:
                origins = serve_snapshot(roots[snap], ports, faults, stack)
                result = run_crawl(list(TOOLS), base_urls=[f"{t}={o}" for t, o in origins.items()], db=db,
                                   settings=settings)
            seconds = time.monotonic() - t0
            entry = {"crawl": i + 1, "snapshot": SNAPSHOTS[snap], "seconds": seconds, "tools": {}}
            with Store.open(db, create=False) as store:
                for run in result["runs"]:
                    tool, run_id = run["tool"], run["run"]
                    tool_faults = faults.get(tool, {})
                    entry["tools"][tool] = {
                        "run": run_id, "status": run["status"], "faults": len(tool_faults),
                        "failed": run["stats"].get("failed", 0),
                        "all": counts(store, run_id),
                        "stable": counts(store, run_id, stable[tool]),
                        "lost": lost_pages(store, run_id, tool_faults),
                        "carried_other": sorted(p for p in tool_faults if p in changed[tool]),
                    }
                    # Same snapshot as its clean crawl: identical counts, except on faulted pages whose
                    # content differs between the snapshots (they carry the other version, as designed).
                    if not clean:
                        base_run = history[snap]["tools"][tool]["run"]
                        skip = frozenset(entry["tools"][tool]["carried_other"])
                        entry["tools"][tool]["same_snapshot"] = (counts(store, base_run, exclude=skip),
                                                                 counts(store, run_id, exclude=skip))
                # Metaflow's docs did not change between the snapshots: whatever the faults, the diff
                # of its latest crawl against its first must find nothing.
                entry["metaflow_flags"] = [f"{f.criterion}: {f.summary}" for f in run_diff(store, ["metaflow"]).flags]
            history.append(entry)
            print_crawl(entry)
        return verdict(history, time.monotonic() - started)


def print_crawl(entry: dict) -> None:
    tools = entry["tools"]
    print(f"crawl {entry['crawl']:2d}  {entry['snapshot']}  {entry['seconds']:5.1f}s  "
          + "  ".join(f"{t}: run {d['run']} {d['status']}, {d['faults']} faults, {d['failed']} failed"
                      for t, d in tools.items()))
    print("          passages  " + "  ".join(f"{t} {d['all']['passages']} (stable {d['stable']['passages']})"
                                         for t, d in tools.items()))
    print("          facts     " + "  ".join(f"{t} {d['all']['facts']} (stable {d['stable']['facts']})"
                                         for t, d in tools.items()))
    pairs = Counter()
    for d in tools.values():
        pairs.update(d["all"]["pairs"])
    print("          pairs     " + " ".join(f"{c}={pairs.get(c, 0)}" for c in criterion_ids()))
    print(f"          metaflow diff: {len(entry['metaflow_flags'])} flag(s)")
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
            a, b = d["same_snapshot"]
            if a != b:
                problems.append(f"crawl {entry['crawl']}: {tool} counts differ from the clean crawl of the same "
                                f"snapshot ({_delta(a, b)})")
    for entry in history:
        if entry["metaflow_flags"]:
            problems.append(f"crawl {entry['crawl']}: diff flags unchanged metaflow docs: {entry['metaflow_flags'][:2]}")
        for tool, d in entry["tools"].items():
            if d["lost"]:
                problems.append(f"crawl {entry['crawl']}: {tool} lost content of faulted pages {d['lost'][:3]}")
            if d["status"] not in ("complete", "partial"):
                problems.append(f"crawl {entry['crawl']}: {tool} run ended {d['status']}")
    faults = sum(d["faults"] for e in history for d in e["tools"].values())
    failed = sum(d["failed"] for e in history for d in e["tools"].values())
    print(f"\n{len(history)} crawls in {seconds:.0f}s; {faults} faults injected, {failed} page fetches failed.")
    for p in problems:
        print("  PROBLEM:", p)
    if problems:
        print(f"VERDICT: FAIL - {len(problems)} problem(s): evidence drifted or was lost under faults.")
        return 1
    print("VERDICT: PASS - every crawl's counts equal its snapshot's clean crawl despite the faults (faulted "
          "pages that differ between snapshots aside), counts on unchanged articles identical across all "
          "crawls, no faulted page lost its last good content, no flag on the unchanged Metaflow docs.")
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
