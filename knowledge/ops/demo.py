"""`collector demo`: the whole weekly loop, offline, on the sample sites bundled with collector.

The bundled sample sites (knowledge/demo_sites/v1 and v2 in an installed collector, copied there at
build time from the repository's fixtures/sites/; read from fixtures/sites/ in a checkout) play "last month" and
"this week" of the Metaflow, DVC and MLflow docs. Each tool's site is served on 127.0.0.1 from
inside this process (crawler.localserver): v1 is served and crawled, the servers stop, v2 is served
on the *same ports* (so every URL matches across the two crawls) and crawled, then the two crawls
are diffed and the report is rendered. The store is a throwaway temp folder unless the caller
keeps it. Every step is announced through `say` in plain words for a scientist.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import tempfile
from collections import Counter
from importlib import resources
from pathlib import Path
from typing import Callable, Iterator

from knowledge.errors import CollectorError, UsageError

DEMO_TOOLS = ("metaflow", "dvc", "mlflow")
VERSIONS = ("v1", "v2")

Say = Callable[[str], None]


def run_demo(db: Path | str | None = None, *, keep: bool = False, fmt: str = "md",
             output: Path | str | None = None, say: Say | None = None,
             progress: Callable[[dict], None] | None = None) -> dict:
    """Serve v1, crawl, serve v2 on the same ports, crawl, diff, report.

    Returns {"db": path or None when removed, "kept": bool, "runs": [...], "flags": [...],
    "crawl_health": {...}, "report": text, "format": fmt, "output": path or None}.
    `progress` receives the crawl's progress events (see knowledge.crawl.run_crawl).
    """
    from knowledge.report import render as report_mod

    say = say or (lambda text: None)
    fmt = report_mod.check_format(fmt)
    keep = keep or db is not None
    workdir = None
    if db is None:
        workdir = Path(tempfile.mkdtemp(prefix="collector-demo-"))
        db_path = workdir / "demo.sqlite"
    else:
        db_path = Path(db).expanduser().resolve()
        _check_fresh(db_path)
    try:
        with _sites() as sites:
            result = _loop(db_path, sites, fmt, say, progress)
        if output is not None:
            report_mod.write_report(result["report"], Path(output))
        result.update(db=str(db_path) if keep else None, kept=keep, format=fmt,
                      output=str(output) if output is not None else None)
        if keep and workdir is not None:
            workdir = None   # --keep without --db: leave the temp folder in place
        return result
    finally:
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)


def follow_up_commands(db: str) -> list[str]:
    """What to try next on a kept demo store."""
    q = shlex.quote(db)
    return [f"collector claims --db {q}", f"collector diff --db {q}", f"collector review --db {q}",
            f"collector report --db {q} -o report.html", f"collector evidence dvc storage --db {q}"]


# --------------------------------------------------------------------------- the loop
def _loop(db: Path, sites: Path, fmt: str, say: Say, progress) -> dict:
    from knowledge.ops.crawl import run_crawl
    from knowledge.diff.engine import run_diff
    from knowledge.report.render import make_report
    from knowledge.store import Store

    say("collector demo: the whole weekly loop on small sample copies of the Metaflow, DVC and MLflow "
        "documentation that come with collector. Nothing is downloaded: the sample sites are served on "
        f"this computer (127.0.0.1). Knowledge store for this demo: {db}")
    ports: dict[str, int] = {}
    runs: list[dict] = []
    for step, version in enumerate(VERSIONS, 1):
        if version == "v1":
            say(f"Step {step}/4 - 'last month': serving version 1 of the three sites and crawling them. The "
                "crawler follows the links and the sitemap, stores every page, and extracts passages tagged "
                "with the 15 checklist criteria (versioning, tracking, storage, ...).")
        else:
            say(f"Step {step}/4 - 'this week': serving version 2 at the same addresses and crawling again. "
                "Some pages changed, a few were added or removed, and a few now answer with a server "
                "error, as real sites sometimes do.")
        with _serve_all(sites / version, ports) as origins, loopback_without_proxy():
            result = run_crawl(list(DEMO_TOOLS), base_urls=[f"{t}={o}" for t, o in origins.items()], db=db,
                               progress=progress)
        runs += result["runs"]
        say("  " + "; ".join(_run_line(r) for r in result["runs"]))
        failed = [r for r in result["runs"] if r["status"] not in ("complete", "partial")]
        if failed:
            raise CollectorError(f"The demo could not crawl the sample sites served on this computer "
                                 f"({failed[0]['tool']}: {failed[0]['message'] or failed[0]['status']}).",
                                 "Check that nothing blocks connections to 127.0.0.1 (a firewall or proxy "
                                 "setting), then run `collector demo` again.")
    say("Step 3/4 - comparing this week's evidence with last month's, per tool and criterion, and judging the "
        "study's claims against it. Every changed cell becomes one flag for a person to review; a claim the "
        "docs now contradict comes first. A page that failed to load keeps last month's content (a "
        "crawl-health note, not a removal); a page gone once is only 'possibly gone'.")
    with Store.open(db, create=False) as store:
        diff = run_diff(store, list(DEMO_TOOLS))
        flags = [f.to_dict() for f in diff.flags]
        kinds = Counter(f["kind"] for f in flags)
        say(f"  {len(flags)} flag(s): " + (", ".join(f"{n} {k}" for k, n in kinds.most_common()) or "none") + ".")
        for f in sorted(flags, key=lambda f: (f["rank"], f["tool"], f["criterion"]))[:6]:
            say(f"  - {f['tool']} / {f['criterion']} ({f['kind']}): {f['summary']}")
        for tool, h in sorted(diff.crawl_health.items()):
            failed, maybe = len(h.get("failed", [])), len(h.get("possibly_gone", []))
            if failed or maybe:
                say(f"  crawl health, {tool}: {failed} page(s) failed (last good content kept), "
                    f"{maybe} possibly gone (confirmed only if missing again next week).")
        say(f"Step 4/4 - the comparison report ({fmt}): one row per tool and criterion, with the study's "
            "claim and its verdict today (stale / extended / holds), today's evidence and citations "
            "(URL#section and crawl date), and the open flags.")
        text = make_report(store, fmt, list(DEMO_TOOLS))
    return {"runs": runs, "flags": flags, "crawl_health": diff.crawl_health, "report": text}


def _run_line(run: dict) -> str:
    s = run.get("stats") or {}
    parts = [f"{s.get('fetched', 0) + s.get('not_modified', 0)} pages"]
    for key, label in (("changed", "changed"), ("new", "new"), ("not_modified", "not modified"),
                       ("failed", "failed"), ("gone", "gone")):
        if s.get(key):
            parts.append(f"{s[key]} {label}")
    return f"{run['tool']}: crawl {run['run']} {run['status']} ({', '.join(parts)})"


# --------------------------------------------------------------------------- sites and servers
@contextlib.contextmanager
def loopback_without_proxy() -> Iterator[None]:
    """Keep 127.0.0.1 out of any HTTP proxy set in the environment (common on institute networks):
    the crawl subprocess inherits these variables, and Scrapy honours no_proxy."""
    saved = {k: os.environ.get(k) for k in ("no_proxy", "NO_PROXY")}
    extra = "127.0.0.1,localhost,::1"
    for key, value in saved.items():
        os.environ[key] = f"{value},{extra}" if value else extra
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
REINSTALL = "Reinstall collector (pip install --force-reinstall from where you installed it)."


def checkout_sites() -> Path:
    """fixtures/sites/ of the source checkout this code runs from (a checkout or an editable install)."""
    import knowledge

    return Path(knowledge.__file__).resolve().parents[1] / "fixtures" / "sites"


@contextlib.contextmanager
def _sites() -> Iterator[Path]:
    """The sample sites folder as a real path: package data of an installed collector, else the
    checkout's fixtures/sites/."""
    ref = resources.files("knowledge") / "demo_sites"
    if not ref.is_dir():
        ref = checkout_sites()
    if not ref.is_dir():
        raise CollectorError("The bundled sample sites (knowledge/demo_sites) are missing from this install.", REINSTALL)
    with resources.as_file(ref) as path:
        missing = [f"{v}/{t}" for v in VERSIONS for t in DEMO_TOOLS if not (Path(path) / v / t).is_dir()]
        if missing:
            raise CollectorError(f"The bundled sample sites are incomplete (missing {', '.join(missing)}).", REINSTALL)
        yield Path(path)


@contextlib.contextmanager
def _serve_all(version_dir: Path, ports: dict[str, int]) -> Iterator[dict[str, str]]:
    """Serve each tool's site; the first call picks free ports, later calls reuse them."""
    from crawler.localserver import serve

    with contextlib.ExitStack() as stack:
        origins = {}
        for tool in DEMO_TOOLS:
            try:
                server = stack.enter_context(serve(version_dir / tool, port=ports.get(tool, 0)))
            except OSError as exc:
                raise CollectorError(f"Could not serve the sample site of {tool} on 127.0.0.1 "
                                     f"(port {ports.get(tool, 'any')}): {exc.strerror or exc}.",
                                     "Another program may have taken the port; run the demo again.") from None
            ports[tool] = server.server_address[1]
            origins[tool] = server.origin
        yield origins


def _check_fresh(db: Path) -> None:
    """The demo writes sample crawls; never into a store that already holds real ones."""
    if not db.exists():
        return
    from knowledge.store import Store

    with Store.open(db, create=False) as store:
        n = store.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    if n:
        raise UsageError(f"The store {db} already holds {n} crawl(s); the demo only writes into a new store.",
                         "Pass --db with a new file name, or leave out --db for a throwaway store.")
