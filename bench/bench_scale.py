"""Scale benchmark (issue 15, "Thirty tools on one machine"): N distinct documentation sites crawled
by one `collector crawl`, for N = 3, 9, 30.

    python bench/bench_scale.py [--sizes 3,9,30] [--keep DIR] [--max-pages N]

For each N, N local servers (free ports) serve copies of the corpus snapshot dev-2024-03-01: N/3
copies of each of metaflow, mlflow and dvc. Copy k inserts "<p>Copy k of this site keeps its own
notes here.</p>" after every </h1>, </h2> and </h3> of every HTML page (before </body> on a page
without such a heading): each copy's pages have content hashes of their own, so neither the blob
store nor the evidence cache hides any work, while an unchanged recrawl still gets 304s and the
same bytes. A generated sources file names copy 0 of each tool as the tool itself (the study's
claims apply to these three) and copy k > 0 as TOOL-cK, every URL (roots, allow, deny, sitemaps,
cited) rebased onto that copy's server; other fields as in knowledge/data/sources.toml.

Prints for each N, into a fresh store:
  1. the first crawl and 2. an unchanged recrawl, each the whole job a user runs
     (`collector crawl --db STORE --sources FILE`: the crawler subprocess, then the evidence build
     with its worker processes) as a subprocess: wall and CPU time (all the job's processes), how
     long the crawler subprocess lived, pages fetched / not modified (from the store), pages/s and
     ms per page, peak RSS of each process (the CLI, the crawler subprocess, the largest evidence
     worker and how many there were), the peak of the whole process tree's summed RSS (and PSS,
     which counts pages that forked workers share with the CLI once), the store's size; the
     recrawl also as a fraction of the first crawl's time;
  3. `collector diff`, `collector claims` and `collector report` on the resulting store, a
     subprocess each (start-up included), run twice: the first run after a crawl reads it and
     records what it found, the second reads that back. Wall time of both.
Then one summary row per N and the issue's targets with PASS/MISS (the worse of the two runs
counts): peak RSS (tree and largest process) <= 400 MB at N = 30; ms per page at N = 30 within
1.2x of N = 3; the unchanged recrawl of the 3 tools <= 0.2x the first crawl's time; diff, claims
and report <= 2 s each on the 3-tool store and <= 10 s on the 30-tool store.
The process tree is sampled with psutil every 0.1 s (PSS every 0.5 s). The servers run in this
process; their CPU is printed apart ("servers"). The machine may be shared: one run, no best-of.
"""
from __future__ import annotations

import argparse
import json
import re
import resource
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import PLACEHOLDER_PORTS, REPO, snapshot_dir  # noqa: E402

from crawler.localserver import LocalServer, _Handler  # noqa: E402
from knowledge.domain.sources import rebase  # noqa: E402

SNAPSHOT = "dev-2024-03-01"
SOURCES = REPO / "knowledge" / "data" / "sources.toml"
TOOLS = ("metaflow", "mlflow", "dvc")       # in the order of the shipped sources file
SAMPLE_S = 0.1
PSS_EVERY = 5                                # samples
MB = 1024 * 1024
RSS_TARGET_MB = 400
PER_PAGE_TARGET = 1.2
RECRAWL_TARGET = 0.2
COMMAND_TARGETS = {3: 2.0, 30: 10.0}        # seconds for diff / claims / report, by N


# ----------------------------------------------------------------------------- distinct copies
class _CopyHandler(_Handler):
    """The corpus server's handler, with the copy's own sentence in every HTML page it sends."""

    HEADING_END = re.compile(rb"</h[123]\s*>", re.I)

    def _send(self, entry, status, body, ctype, *, head, extra=None):
        if status == 200 and ctype and ctype.startswith("text/html") and body:
            note = self.server.note
            body, n = self.HEADING_END.subn(lambda m: m.group(0) + note, body)
            if not n:
                body = body.replace(b"</body>", note + b"</body>", 1)
        super()._send(entry, status, body, ctype, head=head, extra=extra)


class CopyServer(LocalServer):
    """A LocalServer for copy `copy` of a site: Content-Length follows the longer body; the
    validators stay those of the file, so an unchanged recrawl is answered 304 as before."""

    def __init__(self, root: Path, copy: int, port: int = 0):
        super().__init__(root, port)
        self.RequestHandlerClass = _CopyHandler
        self.note = f"<p>Copy {copy} of this site keeps its own notes here.</p>".encode()


@dataclass
class Site:
    tool: str          # the tool name in the sources file
    base: str          # which corpus tool it copies
    copy: int
    server: LocalServer


def serve_copies(root: Path, n: int, stack: ExitStack) -> list[Site]:
    """n sites: copies 0..n/3-1 of each tool, interleaved (metaflow, mlflow, dvc, metaflow-c1, ...)."""
    sites = []
    for copy in range(n // len(TOOLS)):
        for base in TOOLS:
            server = CopyServer(root / base, copy)
            server.replace = {f"http://127.0.0.1:{PLACEHOLDER_PORTS[base]}": server.origin}
            server.start()
            stack.callback(server.stop)
            sites.append(Site(base if copy == 0 else f"{base}-c{copy}", base, copy, server))
    return sites


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)   # a JSON string is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} as TOML")


URL_KEYS = ("roots", "allow", "deny", "sitemaps", "cited")


def write_sources(sites: list[Site], path: Path) -> None:
    """One [[source]] per site: the shipped entry of its tool, renamed, every URL on its server."""
    shipped = {e["tool"]: e for e in tomllib.loads(SOURCES.read_text(encoding="utf-8"))["source"]}
    out = [f"# Generated by bench/bench_scale.py: {len(sites)} copies of the corpus sites.\n"]
    for site in sites:
        entry = dict(shipped[site.base])
        entry["tool"] = site.tool
        if site.copy:
            entry["name"] = f"{entry.get('name', site.base)} (copy {site.copy})"
        for key in URL_KEYS:
            if key in entry:
                entry[key] = list(dict.fromkeys(rebase(u, site.server.origin) for u in entry[key]))
        out.append("\n[[source]]\n" + "".join(f"{k} = {_toml(v)}\n" for k, v in entry.items()))
    path.write_text("".join(out), encoding="utf-8")


# ----------------------------------------------------------------------------- process sampling
@dataclass
class Sampled:
    """What the sampler saw of one job's process tree."""
    peak: dict[str, int] = field(default_factory=dict)        # role -> largest RSS of one process
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)   # pid -> (role, last user+sys)
    workers: set[int] = field(default_factory=set)
    tree_rss: int = 0
    tree_pss: int = 0
    phase_rss: dict[str, int] = field(default_factory=dict)   # "crawl" (crawler alive) / "evidence" -> tree peak
    crawler_first: float | None = None     # perf_counter when the crawler subprocess was first seen
    crawler_last: float | None = None      # ... and last seen
    samples: int = 0

    def role_cpu(self, role: str) -> float:
        return sum(c for r, c in self.cpu.values() if r == role)


def _role(proc: psutil.Process, root: int) -> str:
    if proc.pid == root:
        return "cli"
    try:
        cmd = proc.cmdline()
        parent = proc.ppid()
    except psutil.Error:
        return "other"
    if "crawler.run" in cmd:
        return "crawler"
    return "worker" if parent == root else "other"   # the evidence pool forks from the CLI


def sample_tree(proc: subprocess.Popen, seen: Sampled, stop: threading.Event) -> None:
    root = psutil.Process(proc.pid)
    known: dict[int, tuple[psutil.Process, str]] = {}
    while not stop.is_set():
        t = time.perf_counter()
        try:
            procs = [root] + root.children(recursive=True)
        except psutil.Error:
            break
        total = pss = 0
        crawling = False
        with_pss = seen.samples % PSS_EVERY == 0
        for p in procs:
            entry = known.get(p.pid)
            if entry is None or entry[0] != p:      # psutil compares pid and creation time
                entry = known[p.pid] = (p, _role(p, proc.pid))
            p, role = entry
            try:
                if with_pss:
                    info = p.memory_full_info()
                    pss += info.pss
                else:
                    info = p.memory_info()
                times = p.cpu_times()
            except psutil.Error:
                continue
            total += info.rss
            seen.peak[role] = max(seen.peak.get(role, 0), info.rss)
            seen.cpu[p.pid] = (role, times.user + times.system)
            if role == "worker":
                seen.workers.add(p.pid)
            elif role == "crawler":
                crawling = True
                seen.crawler_first = seen.crawler_first or t
                seen.crawler_last = t
        seen.tree_rss = max(seen.tree_rss, total)
        phase = "crawl" if crawling else "evidence" if seen.crawler_last is not None else "start"
        seen.phase_rss[phase] = max(seen.phase_rss.get(phase, 0), total)
        seen.tree_pss = max(seen.tree_pss, pss)
        seen.samples += 1
        stop.wait(max(0.0, SAMPLE_S - (time.perf_counter() - t)))


def collector_cmd(*args: str) -> list[str]:
    exe = Path(sys.executable).with_name("collector")
    return [str(exe), *args] if exe.exists() else [sys.executable, "-c", "import cli; cli.main()", *args]


def cpu_children() -> float:
    u = resource.getrusage(resource.RUSAGE_CHILDREN)
    return u.ru_utime + u.ru_stime


def cpu_self() -> float:
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime


@dataclass
class Job:
    wall: float
    cpu: float            # all processes of the job (reaped children of this process)
    server_cpu: float     # this process meanwhile: the servers (and the sampler)
    code: int
    stderr: str
    result: dict
    seen: Sampled
    counts: dict[str, int]
    runs: dict[str, int]  # run status -> count
    db_bytes: int
    wal_bytes: int
    requests: int
    answered_304: int

    @property
    def pages(self) -> int:
        return self.counts.get("fetched", 0) + self.counts.get("not_modified", 0)

    @property
    def crawler_s(self) -> float:
        first, last = self.seen.crawler_first, self.seen.crawler_last
        return last - first if first is not None and last is not None else 0.0


def last_run_id(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COALESCE(MAX(id), 0) FROM runs").fetchone()[0]


def crawl_job(db: Path, sources: Path, sites: list[Site], max_pages: int | None) -> Job:
    """`collector crawl` as a user runs it, its process tree sampled meanwhile."""
    before = last_run_id(db)
    for s in sites:
        s.server.log.clear()
    args = ["crawl", "--db", str(db), "--sources", str(sources), "--json"]
    if max_pages:
        args += ["--max-pages", str(max_pages)]
    seen, stop = Sampled(), threading.Event()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        c0, s0, t0 = cpu_children(), cpu_self(), time.perf_counter()
        proc = subprocess.Popen(collector_cmd(*args), stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=REPO)
        sampler = threading.Thread(target=sample_tree, args=(proc, seen, stop), daemon=True)
        sampler.start()
        code = proc.wait()
        wall = time.perf_counter() - t0
        stop.set()
        sampler.join()
        cpu, server_cpu = cpu_children() - c0, cpu_self() - s0
        out.seek(0)
        err.seek(0)
        text, stderr = out.read(), err.read()
    try:
        result = json.loads(text)
    except ValueError:
        result = {}
    if not db.exists():
        sys.exit(f"collector crawl made no store (exit {code}): {stderr.strip()[-2000:]}")
    with sqlite3.connect(db) as conn:
        counts = dict(conn.execute("SELECT outcome, COUNT(*) FROM fetches WHERE run_id > ? GROUP BY outcome",
                                   (before,)).fetchall())
        runs = dict(conn.execute("SELECT status, COUNT(*) FROM runs WHERE id > ? GROUP BY status",
                                 (before,)).fetchall())
    wal = Path(f"{db}-wal")
    return Job(wall, cpu, server_cpu, code, stderr, result, seen, counts, runs, db.stat().st_size,
               wal.stat().st_size if wal.exists() else 0,
               sum(len(s.server.log) for s in sites),
               sum(1 for s in sites for e in s.server.log if e["status"] == 304))


def time_command(db: Path, name: str, args: list[str]) -> tuple[float, int, str]:
    """Wall seconds, exit code and stderr of `collector NAME --db STORE ARGS` (stdout discarded).
    Exit code 1 is an answer (`diff --exit-code`: flags wait), 2 and up a failure."""
    t0 = time.perf_counter()
    out = subprocess.run(collector_cmd(name, "--db", str(db), *args), stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True, cwd=REPO)
    return time.perf_counter() - t0, out.returncode, out.stderr


# ----------------------------------------------------------------------------- printing
def mb(n: float) -> str:
    return f"{n / MB:.0f} MB"


def print_job(label: str, job: Job, first: Job | None = None) -> None:
    seen, c = job.seen, job.counts
    fetched = c.get("fetched", 0)
    ev = job.result.get("evidence") or {}
    other = {k: v for k, v in c.items() if k not in ("fetched", "not_modified")}
    print(f"   {label}: exit {job.code}, {job.wall:.1f} s wall"
          + (f" = {job.wall / first.wall:.2f} of the first crawl" if first else "")
          + f", CPU {job.cpu:.1f} s (crawler {seen.role_cpu('crawler'):.1f}, CLI {seen.role_cpu('cli'):.1f}, "
          f"workers {seen.role_cpu('worker'):.1f}; servers {job.server_cpu:.1f})")
    print(f"      runs {', '.join(f'{n} {s}' for s, n in sorted(job.runs.items()))}; pages fetched {fetched}, "
          f"not modified {c.get('not_modified', 0)}"
          + "".join(f", {k.replace('_', ' ')} {v}" for k, v in sorted(other.items()))
          + f"; {job.requests} HTTP requests, {job.answered_304} answered 304")
    if first is None:
        print(f"      {fetched / job.wall:.1f} pages/s, {1000 * job.wall / max(fetched, 1):.0f} ms per page fetched "
              f"(crawler subprocess {job.crawler_s:.1f} s, evidence and the rest {job.wall - job.crawler_s:.1f} s)")
    else:
        print(f"      {job.pages / job.wall:.1f} pages checked/s (crawler subprocess {job.crawler_s:.1f} s, "
              f"evidence and the rest {job.wall - job.crawler_s:.1f} s)")
    if ev:
        print(f"      evidence: {ev.get('pages', 0)} pages, {ev.get('extracted', 0)} extracted, "
              f"{ev.get('cached', 0)} cached, {ev.get('errors', 0)} errors")
    p = seen.peak
    print(f"      peak RSS: CLI {mb(p.get('cli', 0))}, crawler {mb(p.get('crawler', 0))}, largest evidence worker "
          f"{mb(p.get('worker', 0))} ({len(seen.workers)} workers)"
          + (f", other {mb(p['other'])}" if "other" in p else "")
          + f"; whole tree {mb(seen.tree_rss)} RSS (while crawling {mb(seen.phase_rss.get('crawl', 0))}, "
          f"after {mb(seen.phase_rss.get('evidence', 0))}), {mb(seen.tree_pss)} PSS ({seen.samples} samples)")
    print(f"      store {mb(job.db_bytes)} (+ WAL {mb(job.wal_bytes)})")
    if job.code and job.stderr.strip():
        print("      stderr: " + job.stderr.strip()[-2000:].replace("\n", "\n      "))


@dataclass
class Row:
    n: int
    first: Job
    again: Job
    commands: dict[str, list[float]]

    def peak_tree(self) -> int:
        return max(self.first.seen.tree_rss, self.again.seen.tree_rss)

    def peak_single(self) -> int:
        return max(max(j.seen.peak.values(), default=0) for j in (self.first, self.again))

    def ms_per_page(self) -> float:
        return 1000 * self.first.wall / max(self.first.counts.get("fetched", 0), 1)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def summary(rows: list[Row]) -> None:
    print("\nSummary (first crawl / unchanged recrawl; commands: the worse of two runs)")
    head = (f"{'N':>3} {'pages':>6} {'first s':>8} {'CPU s':>7} {'ms/page':>8} {'pages/s':>8} {'recrawl s':>9} "
            f"{'ratio':>6} {'tree RSS':>9} {'max proc':>9} {'tree PSS':>9} {'store':>8} {'diff s':>7} "
            f"{'claims s':>8} {'report s':>8}")
    print(head)
    for r in rows:
        f = r.first
        fetched = f.counts.get("fetched", 0)
        print(f"{r.n:>3} {fetched:>6} {f.wall:>8.1f} {f.cpu:>7.1f} {r.ms_per_page():>8.0f} {fetched / f.wall:>8.1f} "
              f"{r.again.wall:>9.1f} {r.again.wall / f.wall:>6.2f} {mb(r.peak_tree()):>9} {mb(r.peak_single()):>9} "
              f"{mb(max(f.seen.tree_pss, r.again.seen.tree_pss)):>9} {mb(r.again.db_bytes + r.again.wal_bytes):>8} "
              + " ".join(f"{max(r.commands[c]):>{w}.2f}" for c, w in (("diff", 7), ("claims", 8), ("report", 8))))
    by_n = {r.n: r for r in rows}
    print("\nTargets")
    big, small = by_n.get(30), by_n.get(3)
    if big:
        tree, single = big.peak_tree() / MB, big.peak_single() / MB
        print(f"  peak RSS at N=30, whole `collector crawl` tree: {tree:.0f} MB (target <= {RSS_TARGET_MB} MB)  "
              f"{verdict(tree <= RSS_TARGET_MB)}")
        print(f"  peak RSS at N=30, largest single process: {single:.0f} MB (target <= {RSS_TARGET_MB} MB)  "
              f"{verdict(single <= RSS_TARGET_MB)}")
    else:
        print("  peak RSS at N=30: not measured (N=30 not in --sizes)")
    if big and small:
        ratio = big.ms_per_page() / small.ms_per_page()
        print(f"  time per page at N=30 vs N=3: {big.ms_per_page():.0f} / {small.ms_per_page():.0f} ms = {ratio:.2f}x "
              f"(target <= {PER_PAGE_TARGET}x)  {verdict(ratio <= PER_PAGE_TARGET)}")
    else:
        print("  time per page at N=30 vs N=3: not measured (needs both sizes)")
    if small:
        ratio = small.again.wall / small.first.wall
        print(f"  unchanged recrawl of the 3 tools: {small.again.wall:.1f} / {small.first.wall:.1f} s = {ratio:.2f} "
              f"(target <= {RECRAWL_TARGET})  {verdict(ratio <= RECRAWL_TARGET)}")
    else:
        print("  unchanged recrawl of the 3 tools: not measured (N=3 not in --sizes)")
    for n, target in COMMAND_TARGETS.items():
        row = by_n.get(n)
        if row is None:
            print(f"  diff / claims / report on the {n}-tool store: not measured")
            continue
        for name, walls in row.commands.items():
            worst = max(walls)
            print(f"  {name} on the {n}-tool store: {worst:.2f} s (target <= {target:.0f} s)  {verdict(worst <= target)}")


# ----------------------------------------------------------------------------- main
COMMANDS = (("diff", ["--json"]), ("claims", ["--json"]), ("report", []))


def bench_size(n: int, root: Path, work: Path, keep: Path | None, max_pages: int | None) -> Row:
    db = (keep or work) / f"scale-{n}.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    with ExitStack() as stack:
        sites = serve_copies(root, n, stack)
        sources = (keep or work) / f"sources-{n}.toml"
        write_sources(sites, sources)
        print(f"\nN = {n}: {len(sites)} sites on ports {sites[0].server.server_address[1]}.."
              f"{sites[-1].server.server_address[1]}, sources {sources}, store {db}"
              + (f", --max-pages {max_pages}" if max_pages else ""), flush=True)
        first = crawl_job(db, sources, sites, max_pages)
        print_job("1. first crawl", first)
        again = crawl_job(db, sources, sites, max_pages)
        print_job("2. unchanged recrawl", again, first)
    print("   3. commands on the store (first run after the crawl, then again):")
    commands: dict[str, list[float]] = {}
    for name, args in COMMANDS:
        walls = []
        for _ in range(2):
            wall, code, err = time_command(db, name, args)
            walls.append(wall)
            if code >= 2:
                print(f"      collector {name} failed (exit {code}): {err.strip()[-1000:]}")
        commands[name] = walls
        print(f"      collector {' '.join([name, *args])}: {walls[0]:.2f} s, then {walls[1]:.2f} s (exit {code})",
              flush=True)
    return Row(n, first, again, commands)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="3,9,30", help="numbers of sites, multiples of 3 (default 3,9,30)")
    ap.add_argument("--keep", type=Path, help="keep the stores and sources files in this folder")
    ap.add_argument("--max-pages", type=int, help="page limit per site (quick tries; default: each source's)")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if any(n < 3 or n % 3 for n in sizes):
        ap.error("--sizes: each a multiple of 3 (copies of the 3 corpus tools)")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmpname:
        tmp = Path(tmpname)
        root = snapshot_dir(SNAPSHOT, tmp)
        print(f"corpus {root}; {psutil.cpu_count()} CPUs, load average "
              + " ".join(f"{x:.2f}" for x in psutil.getloadavg()))
        rows = [bench_size(n, root, tmp, args.keep, args.max_pages) for n in sizes]
        summary(rows)
        if args.keep:
            print(f"\nstores and sources files kept in {args.keep}")


if __name__ == "__main__":
    main()
