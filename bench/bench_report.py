"""Report benchmark: `collector report --as-of` on the dev pair store (dev-2024-03-01 then dev-2024-04-01
crawled into one store, `collector diff` after each crawl), as the weekly loop builds it.

    python bench/bench_report.py                    # crawl both snapshots into a fresh store, then time
    python bench/bench_report.py --db STORE         # time an existing store (crawled as above)
    python bench/bench_report.py --keep STORE       # crawl into STORE and keep it

Prints the wall time of each command (a subprocess each, so Python and import start-up are
included), the median and the worst of --repeat runs:
  - the weekly `collector report` right after each crawl (reads the new crawl and judges its claims:
    the only time this work is done; the reading is recorded in the store)
  - `collector report --as-of RUN` for the first and the second crawl, csv and md (target <= 2 s)
  - `collector report --as-of RUN` when nothing was recorded (a store from before this version)
  - `collector changelog`
and checks that `--as-of` the first crawl prints the bytes the weekly report printed then.
The corpus is read in place from /tmp/corpus (or unpacked from /work/shared/corpus); crawls go
through local servers on free ports.
"""
from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import REPO, base_urls, serve_snapshot, snapshot_dir  # noqa: E402

SNAPSHOTS = ("dev-2024-03-01", "dev-2024-04-01")
TARGET = 2.0


def collector(*args: str) -> tuple[float, str]:
    exe = Path(sys.executable).with_name("collector")
    cmd = [str(exe), *args] if exe.exists() else [sys.executable, "-c", "import cli; cli.main()", *args]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        sys.exit(f"collector {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
    return wall, out.stdout


def build_store(db: Path, tmp: Path) -> dict[str, str]:
    """Crawl both snapshots (diff and the weekly report after each); returns the weekly CSVs."""
    from knowledge.ops.crawl import run_crawl

    weekly = {}
    for snapshot in SNAPSHOTS:
        with ExitStack() as stack:
            servers = serve_snapshot(snapshot_dir(snapshot, tmp), stack)
            t0 = time.perf_counter()
            result = run_crawl(None, base_urls=base_urls(servers), db=db)
            print(f"crawled {snapshot} in {time.perf_counter() - t0:.1f} s: "
                  + ", ".join(f"{r['tool']} run {r['run']} ({r['status']})" for r in result["runs"]))
        wall, _ = collector("diff", "--db", str(db), "--json")
        print(f"  collector diff: {wall:.2f} s")
        wall, weekly[snapshot] = collector("report", "--db", str(db), "-f", "csv")
        print(f"  weekly collector report (reads and records the new crawl): {wall:.2f} s")
    return weekly


def crawl_runs(db: Path) -> list[str]:
    """The last run id of each crawl (what `--as-of` that crawl means), oldest first."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT id, tool FROM runs WHERE status IN ('complete', 'partial') ORDER BY id").fetchall()
    crawls: list[tuple[int, set]] = []
    for rid, tool in rows:            # one run per tool per crawl: a tool seen again starts the next crawl
        if crawls and tool not in crawls[-1][1]:
            crawls[-1] = (rid, crawls[-1][1] | {tool})
        else:
            crawls.append((rid, {tool}))
    return [str(rid) for rid, _tools in crawls]


def timed(label: str, args: list[str], repeat: int) -> float:
    walls = [collector(*args)[0] for _ in range(repeat)]
    worst = max(walls)
    print(f"{label:58} median {statistics.median(walls):.2f} s, worst {worst:.2f} s "
          f"({'ok' if worst <= TARGET else 'over'} the {TARGET:.0f} s target)")
    return worst


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--db", type=Path, help="time this store instead of crawling the pair afresh")
    ap.add_argument("--keep", type=Path, help="crawl into this (new) store and keep it")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmpname:
        tmp = Path(tmpname)
        weekly = {}
        db = args.db
        if db is None:
            db = args.keep or tmp / "report.sqlite"
            weekly = build_store(db, tmp)
        runs = crawl_runs(db)
        print(f"\ncrawls in the store, as --as-of run ids: {', '.join(runs)}")
        for rid in runs:
            for fmt in ("csv", "md"):
                timed(f"collector report --as-of {rid} -f {fmt}", ["report", "--db", str(db), "--as-of", rid,
                                                                   "-f", fmt], args.repeat)
        timed("collector changelog", ["changelog", "--db", str(db)], args.repeat)
        if weekly:
            _, again = collector("report", "--db", str(db), "--as-of", runs[0], "-f", "csv")
            same = again == weekly[SNAPSHOTS[0]]
            print(f"\n--as-of {runs[0]} prints the bytes the weekly report printed after that crawl: {same}")
        cold = tmp / "cold.sqlite"
        shutil.copy(db, cold)
        with sqlite3.connect(cold) as conn:
            conn.execute("DELETE FROM report_snapshots")
        wall, _ = collector("report", "--db", str(cold), "--as-of", runs[-1], "-f", "csv")
        print(f"collector report --as-of {runs[-1]}, nothing recorded yet (reads and judges 6 crawls): {wall:.2f} s")


if __name__ == "__main__":
    main()
