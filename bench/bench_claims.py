"""Claim check benchmark: the study's 45 claims judged on one corpus snapshot, scored against the two
independent judgements in /work/shared/claims/ (read in place).

    python bench/bench_claims.py                      # crawl dev-2024-03-01 into a fresh store, judge
    python bench/bench_claims.py --db STORE           # judge an existing store (its latest crawls)
    python bench/bench_claims.py --snapshot era-2025-06-01 --no-judges   # verdicts only

Prints: recall of consensus-stale cells (both judges say stale), precision of our stale verdicts
against arguably-stale cells (either judge says stale), four-verdict agreement with each judge next
to the judges' agreement with each other, consensus-stale cells among the top of the ranking, for
each stale verdict whether a cited passage lies on a page either judge cites, and the time of
`collector claims --json`. Targets (issue 11): consensus-stale recall >= 0.85, precision >= 0.8,
agreement with each judge >= the judges' agreement with each other.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import REPO, SHARED, base_urls, serve_snapshot, snapshot_dir  # noqa: E402

from knowledge.ops.crawl import run_crawl  # noqa: E402

CLAIMS = SHARED / "claims"


def crawl(snapshot: str, db: Path, tmp: Path) -> None:
    with ExitStack() as stack:
        servers = serve_snapshot(snapshot_dir(snapshot, tmp), stack)
        t0 = time.perf_counter()
        result = run_crawl(None, base_urls=base_urls(servers), db=db)
        runs = ", ".join(f"{r['tool']} {r['stats'].get('fetched', 0) + r['stats'].get('not_modified', 0)} pages "
                         f"({r['status']})" for r in result["runs"])
        print(f"crawled {snapshot} into a fresh store in {time.perf_counter() - t0:.1f} s: {runs}")


def run_claims(db: Path) -> tuple[list[dict], float, float]:
    exe = Path(sys.executable).with_name("collector")
    cmd = [str(exe), "claims", "--json", "--db", str(db)] if exe.exists() else \
        [sys.executable, "-c", "import cli; cli.main()", "claims", "--json", "--db", str(db)]
    t0 = time.perf_counter()
    before = os.times()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    after = os.times()
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"collector claims failed ({out.returncode}): {out.stderr.strip()}")
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return json.loads(out.stdout), wall, cpu


def judges(snapshot: str) -> list[dict]:
    found = sorted(CLAIMS.glob(f"claims-{snapshot}-*.json"))
    return [json.loads(p.read_text()) for p in found]


def agreement(a: dict, b: dict) -> float:
    keys = set(a) & set(b)
    return sum(a[k] == b[k] for k in keys) / len(keys) if keys else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--snapshot", default="dev-2024-03-01")
    ap.add_argument("--db", type=Path, help="judge this store instead of crawling the snapshot afresh")
    ap.add_argument("--no-judges", action="store_true", help="print verdicts only")
    ap.add_argument("--top", type=int, default=15, help="how many top-ranked cells to inspect")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-claims-") as tmpname:
        tmp = Path(tmpname)
        db = args.db
        if db is None:
            db = tmp / "claims.sqlite"
            crawl(args.snapshot, db, tmp)
        cells, wall, cpu = run_claims(db)
    ours = {(c["tool"], c["criterion"]): c for c in cells}
    print(f"`collector claims --json`: {len(cells)} cells in {wall:.2f} s wall, {cpu:.2f} s CPU")
    counts = {v: sum(c["verdict"] == v for c in cells) for v in ("stale", "extended", "holds", "no-claim")}
    print("verdicts:", ", ".join(f"{n} {v}" for v, n in counts.items()))
    sets = [] if args.no_judges else judges(args.snapshot)
    if not sets:
        for c in cells:
            print(f"  {c['rank']:2} {c['tool']:9} {c['criterion']:14} {c['verdict']:9} {c['score']:.2f}  {c['deciding'][:110]}")
        return
    by_judge = [{(c["tool"], c["criterion"]): c for c in s["cells"]} for s in sets]
    status = [{k: c["status"] for k, c in j.items()} for j in by_judge]
    mine = {k: c["verdict"] for k, c in ours.items()}
    consensus = {k for k in status[0] if all(s.get(k) == "stale" for s in status)}
    arguable = {k for k in status[0] if any(s.get(k) == "stale" for s in status)}
    stale = {k for k, v in mine.items() if v == "stale"}
    recall = len(consensus & stale) / len(consensus) if consensus else float("nan")
    precision = len(stale & arguable) / len(stale) if stale else float("nan")
    between = agreement(status[0], status[1]) if len(status) > 1 else float("nan")
    print(f"\nconsensus-stale cells: {len(consensus)}; arguably stale: {len(arguable)}; ours stale: {len(stale)}")
    print(f"recall of consensus-stale:           {recall:.2f}  ({len(consensus & stale)}/{len(consensus)}; target >= 0.85)")
    print(f"precision against arguably-stale:    {precision:.2f}  ({len(stale & arguable)}/{len(stale)}; target >= 0.8)")
    for i, s in enumerate(status):
        print(f"four-verdict agreement with judge {sets[i].get('judge', i)}: {agreement(mine, s):.2f}  "
              f"(the judges with each other: {between:.2f})")
    ranked = sorted(cells, key=lambda c: c["rank"])
    top = ranked[: args.top]
    print(f"consensus-stale among the top {args.top}: {sum((c['tool'], c['criterion']) in consensus for c in top)}"
          f" of {min(args.top, len(consensus))} possible; among the top {len(consensus)}: "
          f"{sum((c['tool'], c['criterion']) in consensus for c in ranked[:len(consensus)])}")
    print("\nstale verdicts: does a cited passage lie on a page either judge cites?")
    for c in ranked:
        k = (c["tool"], c["criterion"])
        if c["verdict"] != "stale":
            continue
        pages = {e["url"].rstrip("/") for j in by_judge for e in j.get(k, {}).get("evidence", [])}
        ours_pages = {urlsplit(p["url"]).path.rstrip("/") for p in c["passages"]}
        hit = bool(pages & ours_pages)
        label = "consensus" if k in consensus else "arguable" if k in arguable else "NOT STALE for the judges"
        print(f"  {c['tool']:9} {c['criterion']:14} {label:25} cited page shared: {'yes' if hit else 'no'}"
              f"  | {c['deciding'][:90]}")
    missed = sorted(consensus - stale)
    if missed:
        print("\nconsensus-stale cells we did not call stale:")
        for k in missed:
            print(f"  {k[0]:9} {k[1]:14} ours: {mine.get(k)}  | {ours[k]['deciding'][:100]}")
    print("\nall disagreements with judge a / b:")
    for k in sorted(mine):
        theirs = [s.get(k) for s in status]
        if any(t != mine[k] for t in theirs):
            print(f"  {k[0]:9} {k[1]:14} ours {mine[k]:9} judges {' / '.join(map(str, theirs))}")


if __name__ == "__main__":
    main()
