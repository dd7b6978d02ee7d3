"""Benchmark `collector diff` on the corpus snapshots, week by week, and on a moved site.

    /work/venvs/i12/bin/python bench/bench_diff.py [--corpus DIR] [--changes FILE] [--show-missed]

A fresh store is prepared by importing the unpacked corpus pages directly (no crawl), per tool:
  week 1  run a = dev-2024-03-01, run b = dev-2024-04-01 (pages removed in April answer 404: 'gone'
          once, "possibly gone"): the diff a reviewer sees right after the first April crawl;
  week 2  run c = dev-2024-04-01 again (the next weekly crawl: removed pages are gone twice, so
          confirmed), diffed with nothing reviewed; and, in a copy of the store, after every
          week-1 flag was accepted (identity across weeks: nothing may come back);
  moved   dvc only: run A = dev-2024-04-01, run B = the same pages with /doc/x moved to /x (the
          content unchanged, links rewritten, every old URL answering 404), run C = B again.
URLs are http://127.0.0.1:800X + the page path.

Printed (targets from issue 12):
  - diff wall and CPU time for the pair (<= 2 s), extraction timed separately;
  - printed lines of the default `collector diff` (<= 200; also screen rows at 160 columns), and of
    --stat and --full; flags by kind; items per flag;
  - changed labelled sections found (gold sections with criteria that the changes file lists as
    changed, or whose page was removed; >= 95%, counting "possibly removed");
  - citations of pages whose content did not change (must be 0);
  - moved site: "added" items whose text existed in the older crawl (0) and flags caused by the
    move alone (0), the crawl-health line.
Reads /work/shared in place; copies nothing into the repository. Timings are noisy on a shared
machine (wall > CPU means other processes shared the cores).
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import sys
import tarfile
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from knowledge.diff.engine import _Context, run_diff  # noqa: E402
from knowledge.diff.matching import norm_hash, normalise  # noqa: E402
from knowledge.evidence.build import build_evidence  # noqa: E402
from knowledge.evidence.read import run_passages  # noqa: E402
from knowledge.store import Store, utcnow  # noqa: E402

SHARED = Path("/work/shared")
SNAPSHOTS = ("dev-2024-03-01", "dev-2024-04-01")
ORIGINS = {"metaflow": "http://127.0.0.1:8001", "dvc": "http://127.0.0.1:8002", "mlflow": "http://127.0.0.1:8003"}
URLWATCH = {"no filter": 554, "per-site content selectors": 94}
ENTRY_LISTS = ("added", "removed", "changed", "possibly_removed", "restored", "moved")


# --------------------------------------------------------------------------- corpus -> store
def corpus_root(arg: str | None) -> Path:
    if arg:
        return Path(arg)
    if all((Path("/tmp/corpus") / s).is_dir() for s in SNAPSHOTS):
        return Path("/tmp/corpus")
    out = Path(tempfile.mkdtemp(prefix="corpus-"))
    for s in SNAPSHOTS:
        with tarfile.open(SHARED / "corpus" / f"{s}.tar.gz") as tar:
            tar.extractall(out, filter="data")
    return out


def manifest(root: Path, snapshot: str, tool: str) -> dict:
    return json.loads((root / snapshot / f"manifest-{tool}.json").read_text())["pages"]


def import_pages(store: Store, tool: str, label: str, pages: dict[str, bytes], gone: set[str]) -> int:
    """One crawl run as the crawler stores it: every page fetched, every path in `gone` a 404."""
    run_id = store.start_run(tool, origin=ORIGINS[tool], settings={"bench": label})
    now = utcnow()
    rows = [(run_id, ORIGINS[tool] + path, path, "fetched", None, 200, store.put_blob(body), now, len(body), None)
            for path, body in sorted(pages.items())]
    rows += [(run_id, ORIGINS[tool] + path, path, "gone", None, 404, None, now, 0, "HTTP 404")
             for path in sorted(gone - set(pages))]
    with store.transaction() as conn:
        conn.executemany("INSERT INTO fetches (run_id, url, path, outcome, change, http_status, sha256, fetched_at, "
                         "bytes, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    store.finish_run(run_id, "complete", {"pages": len(rows)})
    return run_id


def snapshot_pages(root: Path, snapshot: str, tool: str) -> dict[str, bytes]:
    return {path: (root / snapshot / tool / meta["file"]).read_bytes()
            for path, meta in manifest(root, snapshot, tool).items()}


def moved_pages(pages: dict[str, bytes]) -> dict[str, bytes]:
    """dvc's /doc/x served at /x, links rewritten the same way; the text of every page unchanged."""
    link = re.compile(rb'((?:href|src)=")/doc(?=[/"#?])/?')
    return {(path[len("/doc"):] or "/"): link.sub(rb"\1/", body) for path, body in pages.items()}


# --------------------------------------------------------------------------- measuring
def timed_diff(store: Store, **kw):
    t, cpu = time.perf_counter(), time.process_time()
    result = run_diff(store, **kw)
    return result, time.perf_counter() - t, time.process_time() - cpu


def fresh_process_diff(db: Path) -> tuple[float, float]:
    """(wall, CPU) of run_diff in a new process on a copy of the store, as `collector diff` runs it
    (the bench process is big after extraction, which slows the in-process timing down)."""
    import subprocess

    copy = db.with_name("timing.sqlite")
    shutil.copyfile(db, copy)
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); from knowledge.store import Store; "
            "from knowledge.diff.engine import run_diff; s = Store.open(sys.argv[2], create=False); "
            "t, c = time.perf_counter(), time.process_time(); run_diff(s); "
            "print(time.perf_counter() - t, time.process_time() - c)")
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).resolve().parents[1]), str(copy)],
                         capture_output=True, text=True, check=True).stdout.split()
    copy.unlink()
    return float(out[0]), float(out[1])


def printed(db: Path, *args: str) -> tuple[int, int]:
    """(lines, screen rows at 160 columns) of `collector diff ARGS` printed to a pipe."""
    from typer.testing import CliRunner

    from cli import app

    res = CliRunner().invoke(app, ["diff", "--db", str(db), *args])
    if res.exit_code != 0:
        raise SystemExit(f"collector diff {' '.join(args)} failed: {res.output}")
    lines = res.stdout.splitlines()
    return len(lines), sum(max(1, -(-len(line) // 160)) for line in lines)


def entries(flag, lists=ENTRY_LISTS):
    for kind in lists:
        for e in flag.payload.get(kind) or []:
            yield kind, e


def path_of(url: str) -> str:
    """URL path without trailing slash (a crawl may keep the slash a 301 added; the changes file does not)."""
    return urlsplit(url).path.rstrip("/") or "/"


def title_key(title: str) -> str:
    title = re.sub(r"\s*\[\d+\]$", "", title)                 # "Heading [2]": second heading of that name
    title = re.sub(r"`([^`<]*?)\s*<[^>]*>`_", r"\1", title)  # rST link `Text <target>`_
    return normalise(title)


def flagged_sections(flags) -> dict[tuple[str, str], set[str]]:
    """{(page path, heading title key): entry kinds} over every entry, both sides of it."""
    out: dict[tuple[str, str], set[str]] = {}
    for f in flags:
        for kind, e in entries(f):
            for url_key, hp_key in (("url", "heading_path"), ("old_url", "old_heading_path")):
                if e.get(url_key) and e.get(hp_key):
                    out.setdefault((path_of(e[url_key]), title_key(e[hp_key][-1])), set()).add(kind)
                if e.get(url_key):
                    out.setdefault((path_of(e[url_key]), "*page*"), set()).add(kind)
    return out


def section_texts(store: Store, run_id: int) -> dict[tuple[str, str], str]:
    """{(page path, heading title key): normalised text of all its passages} for one run."""
    out: dict[tuple[str, str], str] = {}
    for e in run_passages(store, run_id):
        key = (path_of(e.url), title_key(e.heading_path[-1]) if e.heading_path else "")
        out[key] = (out.get(key, "") + " " + normalise(e.text)).strip()
    return out


def labelled_changes(changes: dict, store: Store, runs: dict[str, list[int]]) -> list[dict]:
    """Gold sections with criteria that changed between the snapshots: the changes file lists their
    heading as changed/added/removed on their page, or their page was removed. `visible`: their
    extracted text differs after noise normalisation (a change of link targets only is not)."""
    gold = [json.loads(line) for line in (SHARED / "gold" / "dev-sections.jsonl").read_text().splitlines() if line]
    out, texts = [], {}
    for g in gold:
        c = changes.get(g["tool"])
        if not g["criteria"] or c is None:
            continue
        path, key = g["url"].rstrip("/") or "/", title_key(g["heading_path"][-1])
        removed_page = path in {p.rstrip("/") for p in c["removed"]}
        listed = any(m["url"].rstrip("/") == path and key in {title_key(t) for t in m["sections_changed"]
                                                              + m["sections_added"] + m["sections_removed"]}
                     for m in c["modified"])
        if not (listed or removed_page):
            continue
        a, b = runs[g["tool"]][0], runs[g["tool"]][1]
        for rid in (a, b):
            if rid not in texts:
                texts[rid] = section_texts(store, rid)
        visible = removed_page or texts[a].get((path, key)) != texts[b].get((path, key))
        out.append({"tool": g["tool"], "path": path, "key": key, "title": g["heading_path"][-1],
                    "criteria": g["criteria"], "removed_page": removed_page, "visible": visible})
    return out


def found(units: list[dict], flags) -> tuple[list[dict], list[dict]]:
    sections = flagged_sections(flags)
    hit, miss = [], []
    for u in units:
        kinds = sections.get((u["path"], u["key"]), set())
        if u["removed_page"]:
            kinds |= sections.get((u["path"], "*page*"), set())
        (hit if kinds else miss).append(dict(u, kinds=sorted(kinds)))
    return hit, miss


def unchanged_citations(changes: dict, flags) -> list[tuple[str, str]]:
    """(flag, page) for every entry citing a page whose content did not change (not moved either)."""
    out = set()
    for f in flags:
        c = changes.get(f.tool)
        if c is None:
            continue
        changed = ({m["url"].rstrip("/") for m in c["modified"]} | {p.rstrip("/") for p in c["added"] + c["removed"]}
                   | {p.rstrip("/") for p in c["generated_changed"]})
        for kind, e in entries(f):
            for key in ("url", "old_url"):
                if e.get(key) and path_of(e[key]) not in changed:
                    out.add((f.id, path_of(e[key])))
    return sorted(out)


def items_line(flags) -> str:
    sizes = [sum(1 for _ in entries(f)) for f in flags]
    if not sizes:
        return "no flags"
    by_kind = Counter(kind for f in flags for kind, _ in entries(f))
    ref = sum(1 for f in flags for _, e in entries(f) if e.get("reference"))
    return (f"{sum(sizes)} items in {len(sizes)} flags: median {statistics.median(sizes):.0f}, max {max(sizes)} per "
            f"flag; " + ", ".join(f"{k} {n}" for k, n in by_kind.most_common()) + f"; reference material {ref}")


def flag_table(flags) -> None:
    print("  by kind: " + ", ".join(f"{k} {n}" for k, n in Counter(f.kind for f in flags).most_common()))
    for f in flags:
        print(f"    {f.id} {f.tool:<8} {f.criterion:<13} {f.kind:<16} {f.summary[:100]}")


def accept_all(store: Store, flags) -> None:
    from knowledge.review.decisions import decide

    for f in flags:
        decide(store, f.id, "accepted", reviewer="bench")


# --------------------------------------------------------------------------- the runs
def dev_pair(root: Path, changes: dict, show_missed: bool) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-diff-"))
    db = tmp / "store.sqlite"
    store = Store.open(db)
    runs: dict[str, list[int]] = {}
    t = time.perf_counter()
    old_pages = {}
    for tool in ORIGINS:
        old_pages[tool] = set(manifest(root, SNAPSHOTS[0], tool))
        runs[tool] = [import_pages(store, tool, SNAPSHOTS[0], snapshot_pages(root, SNAPSHOTS[0], tool), set()),
                      import_pages(store, tool, SNAPSHOTS[1], snapshot_pages(root, SNAPSHOTS[1], tool), old_pages[tool])]
    print(f"import of both snapshots: {time.perf_counter() - t:.1f} s ({db})")
    t = time.perf_counter()
    stats = build_evidence(store, [r for rs in runs.values() for r in rs])
    print(f"extraction: {time.perf_counter() - t:.1f} s for {stats['pages']} (page, rules) pairs "
          f"({stats['extracted']} extracted, {stats['cached']} cached, {stats['passages']} passages, "
          f"{stats['errors']} errors)")

    print("\n== week 1: right after the first April crawl (removed pages answered 404 once)")
    result, wall, cpu = timed_diff(store)
    store.close()
    fresh = fresh_process_diff(db)
    store = Store.open(db, create=False)
    print(f"diff time (collector diff, all tools, evidence extracted): {wall:.2f} s wall, {cpu:.2f} s CPU in this "
          f"process; {fresh[0]:.2f} s wall, {fresh[1]:.2f} s CPU in a fresh one (target <= 2 s)")
    lines = {args: printed(db, *args) for args in ((), ("--stat",), ("--full",))}
    print(f"printed lines: default digest {lines[()][0]} (target <= 200; {lines[()][1]} screen rows at 160 "
          f"columns), --stat {lines[('--stat',)][0]}, --full {lines[('--full',)][0]}")
    print(f"flags: {len(result.flags)}; items: {items_line(result.flags)}")
    flag_table(result.flags)
    units = labelled_changes(changes, store, runs)
    report_units(units, result.flags, show_missed)
    false = unchanged_citations(changes, result.flags)
    print(f"citations of pages whose content did not change: {len(false)} (must be 0)")
    for fid, path in false:
        print(f"      {fid} cites unchanged page {path}")

    backup = tmp / "week1.sqlite"
    store.close()
    shutil.copyfile(db, backup)
    store = Store.open(db, create=False)
    print("\n== week 2: April crawled again (removals confirmed), nothing reviewed yet")
    for tool in ORIGINS:
        runs[tool].append(import_pages(store, tool, SNAPSHOTS[1] + " again",
                                       snapshot_pages(root, SNAPSHOTS[1], tool), old_pages[tool]))
    build_evidence(store, [rs[-1] for rs in runs.values()])
    week2, wall, cpu = timed_diff(store)
    same = {f.id for f in week2.flags} == {f.id for f in result.flags}
    print(f"diff time: {wall:.2f} s wall, {cpu:.2f} s CPU; flags {len(week2.flags)} "
          f"({'the same ids as week 1' if same else 'ids differ from week 1'}); possibly removed entries: "
          f"{sum(len(f.possibly_removed) for f in result.flags)} in week 1 -> "
          f"{sum(len(f.possibly_removed) for f in week2.flags)} now, removed "
          f"{sum(len(f.removed) for f in result.flags)} -> {sum(len(f.removed) for f in week2.flags)}")
    print(f"printed lines: default digest {printed(db)[0]}; items: {items_line(week2.flags)}")
    flag_table(week2.flags)
    report_units(units, week2.flags, False)
    print(f"citations of pages whose content did not change: {len(unchanged_citations(changes, week2.flags))}")
    store.close()

    print("\n== week 2 after accepting every week-1 flag (identity across weeks)")
    store = Store.open(backup, create=False)
    accept_all(store, result.flags)
    for tool in ORIGINS:
        import_pages(store, tool, SNAPSHOTS[1] + " again", snapshot_pages(root, SNAPSHOTS[1], tool), old_pages[tool])
    again = run_diff(store)
    ctx = _Context(store)
    back = 0
    for f in again.flags:
        texts = {it.key for it in ctx.passages(f.to_run)}
        back += sum(1 for e in f.removed if norm_hash(e["text"]) in texts)
    evidence_again = [f for f in again.flags if any(entries(f))]
    claim_only = [f for f in again.flags if not any(entries(f))]
    print(f"flags raised again by evidence: {len(evidence_again)} (target 0); removed entries whose text is still "
          f"in the newer crawl: {back} (target 0)")
    print(f"claim changes without a passage change: {len(claim_only)} (a statement only a 404-once page still "
          f"supported in week 1 is contradicted now that the removal is confirmed)")
    flag_table(again.flags)
    store.close()


def report_units(units: list[dict], flags, show_missed: bool) -> None:
    hit, miss = found(units, flags)
    visible = [u for u in units if u["visible"]]
    hit_visible = [u for u in hit if u["visible"]]
    maybe = sum(1 for u in hit if "possibly_removed" in u["kinds"])
    print(f"changed labelled sections found: {len(hit)}/{len(units)} = {len(hit) / max(1, len(units)):.0%} "
          f"({maybe} as possibly removed); of those whose extracted text changed beyond noise: "
          f"{len(hit_visible)}/{len(visible)} = {len(hit_visible) / max(1, len(visible)):.0%} (target >= 95%)")
    for u in miss if show_missed else []:
        why = "extracted text unchanged after noise normalisation" if not u["visible"] else "not in any flag"
        print(f"      missed: {u['tool']} {u['path']} § {u['title']}  [{why}]")


def moved_site(root: Path) -> None:
    print("\n== moved site: dvc dev-2024-04-01, then the same pages with /doc/x moved to /x (old URLs 404)")
    db = Path(tempfile.mkdtemp(prefix="bench-moved-")) / "store.sqlite"
    store = Store.open(db)
    pages = snapshot_pages(root, SNAPSHOTS[1], "dvc")
    moved = moved_pages(pages)
    a = import_pages(store, "dvc", "april", pages, set())
    build_evidence(store, [a])
    accept_all(store, run_diff(store).flags)   # the group reviewed April (the study's stale claims)
    b = import_pages(store, "dvc", "april moved", moved, set(pages))
    build_evidence(store, [b])
    result, wall, cpu = timed_diff(store)
    older = {it.key for it in _Context(store).passages(a)}
    added_existing = sum(1 for f in result.flags for e in f.added if norm_hash(e["text"]) in older)
    print(f"diff time: {wall:.2f} s wall, {cpu:.2f} s CPU (target <= 2 s)")
    print(f"flags caused by the move alone: {len(result.flags)} (target 0); 'added' items whose text existed in "
          f"the older crawl: {added_existing} (target 0); printed lines {printed(db)[0]}")
    for mv in result.crawl_health["dvc"]["moved"]:
        print(f"  crawl health: {mv['pages']} pages moved from {mv['from']}* to {mv['to']}*")
    flag_table(result.flags)
    import_pages(store, "dvc", "april moved again", moved, set(pages))
    build_evidence(store, [b + 1])
    again = run_diff(store)
    print(f"next crawl (old URLs 404 twice): flags {len(again.flags)} (target 0), crawl health: "
          + ("; ".join(f"{m['pages']} pages moved from {m['from']}* to {m['to']}*" for m in again.crawl_health["dvc"]["moved"])
             or "no move line"))
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", help="folder holding the unpacked dev-2024-0{3,4}-01 snapshots")
    ap.add_argument("--changes", type=Path, default=SHARED / "corpus" / "changes-dev-2024-03-01_2024-04-01.json")
    ap.add_argument("--show-missed", action="store_true", help="list changed labelled sections not in a flag")
    args = ap.parse_args()
    changes = json.loads(args.changes.read_text())
    root = corpus_root(args.corpus)
    dev_pair(root, changes, args.show_missed)
    moved_site(root)
    print("\n(page-level monitor for comparison, urlwatch: "
          + ", ".join(f"{n} pages changed with {k}" for k, n in URLWATCH.items()) + ")")


if __name__ == "__main__":
    main()
