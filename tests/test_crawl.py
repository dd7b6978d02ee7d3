"""End-to-end crawls: real Scrapy in a subprocess against crawler.localserver on 127.0.0.1."""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import pytest

from conftest import html, tiny_site, tiny_sources, write_site
from knowledge.ops.crawl import run_crawl
from knowledge.errors import StoreBusy
from knowledge.store import Store


def crawl(server, tmp_path, **kwargs):
    kwargs.setdefault("sources_file", tiny_sources(tmp_path / "sources.toml"))
    kwargs.setdefault("db", tmp_path / "c.sqlite")
    kwargs.setdefault("evidence", False)
    return run_crawl(["tiny"], base_urls=[f"tiny={server.origin}"], **kwargs)["runs"][0]


def verdicts(db, run_id) -> dict[str, dict]:
    with Store.open(db) as store:
        return {r["path"]: dict(r) for r in store.run_fetches(run_id)}


@pytest.fixture
def site(tmp_path, serve_site):
    return serve_site(tiny_site(tmp_path / "site"))


def test_first_crawl_scope_robots_redirects_and_non_html(site, tmp_path):
    site.faults["/moved"] = {"redirect": "https://elsewhere.invalid/moved"}
    run = crawl(site, tmp_path)
    v = verdicts(tmp_path / "c.sqlite", run["run"])
    outcome = {path: row["outcome"] for path, row in v.items()}
    assert outcome == {
        "/": "fetched", "/guide": "fetched", "/guide/install": "fetched", "/guide/tracking": "fetched",
        "/private/secret": "blocked", "/img/logo.png": "skipped", "/feed.atom": "skipped", "/missing": "gone",
        "/page": "out_of_scope",   # the sitemap entry on elsewhere.invalid
        "/moved": "out_of_scope",  # redirects off the site: not followed
    }
    assert "redirect" in v["/moved"]["reason"]
    assert run["status"] == "complete" and run["stats"]["new"] == 4
    seen = {e["path"] for e in site.log}
    assert "/private/secret" not in seen and "/private/secret/" not in seen       # robots.txt obeyed
    assert not any(p.startswith("/assets") for p in seen)                          # deny prefix
    assert "/old-page/" in seen                                                    # the stub was followed ...
    assert "/old-page" not in v                                                    # ... but is not a page
    assert "/img/logo.png" not in seen                                             # skipped before fetching
    assert all(e["user_agent"].startswith("collector/") for e in site.log)
    assert v["/guide/install"]["url"] == f"{site.origin}/guide/install"            # no utm_, no fragment
    with Store.open(tmp_path / "c.sqlite") as store:
        settings = store.get_run(run["run"])["settings"]
        assert '"source"' in settings and site.origin in settings
        body = store.get_blob(v["/guide"]["sha256"])
        assert b"<h1 id='top'>Guide</h1>" in body


def test_recrawl_is_conditional_and_304_pages_still_yield_links(tmp_path, serve_site):
    # A chain / -> /a -> /b; the first crawl stops at the page limit before /b.
    root = write_site(tmp_path / "site", {"/robots.txt": "User-agent: *\nAllow: /\n",
                                           "/": html("Home", "/a"), "/a": html("A", "/b"), "/b": html("B")})
    server = serve_site(root)
    first = crawl(server, tmp_path, max_pages=2)
    assert first["status"] == "partial" and first["stats"]["fetched"] == 2 and first["stats"]["page_limit_hit"]
    server.log.clear()
    second = crawl(server, tmp_path)
    v = verdicts(tmp_path / "c.sqlite", second["run"])
    assert {p: (r["outcome"], r["change"]) for p, r in v.items()} == {
        "/": ("not_modified", "unchanged"), "/a": ("not_modified", "unchanged"), "/b": ("fetched", "new")}
    assert v["/a"]["bytes"] == 0 and v["/a"]["sha256"] and v["/a"]["http_status"] == 304
    conditional = [e for e in server.log if e["path"] in ("/", "/a/")]
    assert conditional and all(e["if_none_match"] and e["if_modified_since"] and e["status"] == 304
                               for e in conditional)
    assert "/a" not in {e["path"] for e in server.log}   # asked at /a/ directly: no second 301 round trip
    assert second["status"] == "complete" and second["stats"]["bytes"] == len((root / "b/index.html").read_bytes())


def test_changed_page_failure_and_gone(site, tmp_path):
    first = crawl(site, tmp_path)
    before = verdicts(tmp_path / "c.sqlite", first["run"])
    (tmp_path / "site/guide/install/index.html").write_text(html("Install v2"))
    os.utime(tmp_path / "site/guide/install/index.html", (time.time() + 5, time.time() + 5))
    site.faults["/guide/"] = {"status": 500}
    (tmp_path / "site/guide/tracking/index.html").unlink()
    second = crawl(site, tmp_path)
    v = verdicts(tmp_path / "c.sqlite", second["run"])
    assert v["/guide/install"]["change"] == "changed"
    assert v["/guide"]["outcome"] == "failed" and v["/guide"]["http_status"] == 500
    assert v["/guide"]["sha256"] == before["/guide"]["sha256"]           # last good content carried forward
    assert len([e for e in site.log if e["path"] == "/guide/" and e["status"] == 500]) == 3   # 2 retries
    assert v["/guide/tracking"]["outcome"] == "gone"
    assert second["status"] == "partial" and "failed" in second["message"]
    with Store.open(tmp_path / "c.sqlite") as store:
        snapshot = {r["path"]: r["sha256"] for r in store.run_snapshot(second["run"])}
        assert snapshot["/guide"] == before["/guide"]["sha256"]
        assert "/guide/tracking" not in snapshot
        gone = store.conn.execute("SELECT gone_count FROM pages WHERE path = '/guide/tracking'").fetchone()[0]
        assert gone == 1


def test_transient_reset_and_truncation_are_failures_not_removals(site, tmp_path):
    first = crawl(site, tmp_path)
    site.faults["/guide/install/"] = {"reset": True}
    site.faults["/guide/"] = {"truncate": True}
    v = verdicts(tmp_path / "c.sqlite", crawl(site, tmp_path)["run"])
    assert v["/guide/install"]["outcome"] == "failed" and v["/guide"]["outcome"] == "failed"
    assert v["/guide"]["sha256"] == verdicts(tmp_path / "c.sqlite", first["run"])["/guide"]["sha256"]


def test_crawl_delay_from_robots_is_applied(tmp_path, serve_site):
    root = write_site(tmp_path / "site", {"/robots.txt": "User-agent: *\nCrawl-delay: 0.3\n",
                                           "/": html("Home", "/a.html", "/b.html"), "/a.html": html("A"),
                                           "/b.html": html("B")})
    server = serve_site(root)
    # Loopback mirrors get no politeness delay; a real host's cap (60 s) is what applies here.
    assert crawl(server, tmp_path, settings={"CRAWL_DELAY_MAX": 60})["stats"]["fetched"] == 3
    starts = sorted(e["time"] for e in server.log if e["path"] != "/robots.txt")
    assert len(starts) == 3 and all(b - a >= 0.25 for a, b in zip(starts, starts[1:]))


def test_unreachable_site_fails_in_one_line(tmp_path, serve_site):
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()   # nothing listens there now
    run = run_crawl(["tiny"], base_urls=[f"tiny=http://127.0.0.1:{port}"], db=tmp_path / "c.sqlite",
                    sources_file=tiny_sources(tmp_path / "s.toml"), evidence=False)["runs"][0]
    assert run["status"] == "failed" and "nothing could be fetched" in run["message"]
    assert "connection refused" in run["message"]
    assert "\n" not in run["message"]


def test_second_crawl_on_a_busy_store_is_refused_or_waits(site, tmp_path):
    db = tmp_path / "c.sqlite"
    with Store.open(db) as holder:
        with holder.write_lock("a crawl"):
            with pytest.raises(StoreBusy, match="busy"):
                crawl(site, tmp_path)
        lock = holder.write_lock("a crawl")
        lock.__enter__()
        threading.Timer(0.5, lock.__exit__, (None, None, None)).start()
        assert crawl(site, tmp_path, wait=True)["status"] == "complete"


def _slow_site(tmp_path, serve_site):
    files = {"/robots.txt": "User-agent: *\n", "/": html("Home", *[f"/p{i}" for i in range(8)], "/slow")}
    files.update({f"/p{i}": html(f"P{i}") for i in range(8)})
    files["/slow"] = html("Slow")
    return serve_site(write_site(tmp_path / "site", files), faults={"/slow/": {"delay": 3}})


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_killed_crawl_leaves_a_usable_store(tmp_path, serve_site, sig):
    server = _slow_site(tmp_path, serve_site)
    child = {}

    def progress(event):
        if event.get("event") == "start":
            child["pid"] = event["pid"]
        elif event.get("event") == "page" and not child.get("killed"):
            child["killed"] = True
            os.kill(child["pid"], sig)

    started = time.monotonic()
    run = crawl(server, tmp_path, progress=progress)
    assert child.get("killed") and time.monotonic() - started < 10
    assert run["status"] == "interrupted" and run["message"]
    db = tmp_path / "c.sqlite"
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    saved = conn.execute("SELECT COUNT(*) FROM fetches WHERE run_id = ?", (run["run"],)).fetchone()[0]
    assert saved >= 1   # the batch committed before the kill is kept
    conn.close()
    server.faults.clear()
    again = crawl(server, tmp_path)
    assert again["status"] == "complete" and again["stats"]["fetched"] + again["stats"]["not_modified"] == 10


def test_size_cap_and_timeouts_are_recorded(tmp_path, serve_site):
    root = write_site(tmp_path / "site", {"/robots.txt": "User-agent: *\n",
                                           "/": html("Home", "/big", "/slow", "/small"),
                                           "/big": html("Big", extra="<p>" + "x" * 5000 + "</p>"),
                                           "/slow": html("Slow"), "/small": html("Small")})
    server = serve_site(root, faults={"/slow/": {"delay": 1.5}})
    run = crawl(server, tmp_path, settings={"DOWNLOAD_MAXSIZE": 3000, "DOWNLOAD_TIMEOUT": 0.5})
    v = verdicts(tmp_path / "c.sqlite", run["run"])
    assert v["/big"]["outcome"] == "skipped" and "size cap" in v["/big"]["reason"]
    assert v["/slow"]["outcome"] == "failed" and v["/slow"]["reason"].startswith("timed out")
    assert len(server.requests("/slow/")) == 3      # tried, then retried twice
    assert v["/small"]["outcome"] == "fetched" and run["status"] == "partial"


def test_ctrl_c_on_the_command_stops_gracefully(tmp_path, serve_site):
    import subprocess
    import sys

    server = _slow_site(tmp_path, serve_site)
    db = tmp_path / "c.sqlite"
    proc = subprocess.Popen(
        [sys.executable, "-c", "import cli; cli.main()", "crawl", "tiny", "--base-url", f"tiny={server.origin}",
         "--db", str(db), "--sources", str(tiny_sources(tmp_path / "s.toml"))],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 15
    while not server.requests("/slow/") and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "Interrupted" in err and "Traceback" not in err
    with Store.open(db) as store:
        assert [r["status"] for r in store.list_runs()] == ["interrupted"]


def test_robots_change_blocks_known_pages_and_redirect_off_site_keeps_content(site, tmp_path):
    first = verdicts(tmp_path / "c.sqlite", crawl(site, tmp_path)["run"])
    (tmp_path / "site/robots.txt").write_text("User-agent: *\nDisallow: /private\nDisallow: /guide/install\n")
    site.faults["/guide/"] = {"redirect": "https://elsewhere.invalid/guide"}
    site.log.clear()
    run = crawl(site, tmp_path)
    v = verdicts(tmp_path / "c.sqlite", run["run"])
    # known pages are all requested at once while robots.txt is still loading: each must still wait for it
    assert v["/guide/install"]["outcome"] == "blocked"
    assert not any(e["path"].startswith("/guide/install") for e in site.log)
    moved = v["/guide"]
    assert moved["outcome"] == "out_of_scope" and "elsewhere.invalid/guide" in moved["reason"]
    assert moved["sha256"] == first["/guide"]["sha256"]     # a move off the site is not a removal


def test_unchanged_recrawl_reads_kept_links_and_finds_what_a_parsing_recrawl_finds(site, tmp_path):
    """A 304 takes the page's links, fingerprint and release from page_reads (crawler.reads)
    instead of parsing its stored copy; the crawl must find exactly the same pages either way."""
    first = crawl(site, tmp_path)
    db = tmp_path / "c.sqlite"
    with Store.open(db) as store:
        kept = store.conn.execute("SELECT COUNT(*) FROM page_reads").fetchone()[0]
    assert kept == first["stats"]["fetched"] == 4
    with_reads = crawl(site, tmp_path)
    with Store.open(db) as store, store.transaction():
        store.conn.execute("DELETE FROM page_reads")   # derived data: dropping it is always allowed
    parsing = crawl(site, tmp_path)
    a, b = verdicts(db, with_reads["run"]), verdicts(db, parsing["run"])
    pick = lambda v: {p: (r["outcome"], r["change"], r["sha256"], r["doc_version"]) for p, r in v.items()}  # noqa: E731
    assert pick(a) == pick(b)
    assert with_reads["stats"]["not_modified"] == 4 and with_reads["stats"]["fetched"] == 0
    with Store.open(db) as store:   # the parsing recrawl kept its reads again
        assert store.conn.execute("SELECT COUNT(*) FROM page_reads").fetchone()[0] == kept
