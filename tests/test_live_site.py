"""A real crawl of a site shaped like a live deployment, mirrored on 127.0.0.1 with --base-url.

The site names its real host everywhere - sitemap, robots.txt, absolute links, canonical links,
redirects - as docs.metaflow.org does; its pages are real Docusaurus markup (fixtures/html/:
token-line code, hidden tab panels, an id-less h1). The crawl must reach every sitemap page on
the mirror, cite only anchors its pages have, record each page's other URLs, check the study's
cited pages, leave a doc variant out, and say what a sitemap named outside the scope.
"""
from __future__ import annotations

import json
from pathlib import Path

import lxml.html
import pytest
from typer.testing import CliRunner

import cli
from conftest import write_site
from knowledge.evidence.read import run_passages
from knowledge.evidence.site import all_cited, cited_status, doc_versions, page_aliases, stored_sources
from knowledge.ops.crawl import run_crawl
from knowledge.store import Store

LIVE = "https://docs.example-flows.invalid"
HTML = Path(__file__).resolve().parents[1] / "fixtures" / "html"


def _page(title: str, body: str, *, canonical: str | None = None) -> str:
    link = f'<link rel="canonical" href="{canonical}">' if canonical else ""
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title} | Example Flows Docs</title>{link}"
            "</head><body><nav class='navbar'><a class='navbar__brand' href='/'>Navbar Example Flows</a></nav>"
            f"<main><article><div class='theme-doc-markdown markdown'>{body}</div></article></main></body></html>")


def live_site(root: Path) -> Path:
    sitemap = "".join(f"<url><loc>{loc}</loc></url>" for loc in (
        f"{LIVE}/", f"{LIVE}/guide", f"{LIVE}/scaling/remote-tasks/introduction", f"{LIVE}/orphan",
        f"{LIVE}/introduction/release-notes", f"{LIVE}/v/r/intro", "https://cdn.elsewhere.invalid/x"))
    return write_site(root, {
        "/robots.txt": f"User-agent: *\nDisallow: /private\n\nSitemap: {LIVE}/sitemap.xml\n",
        "/sitemap.xml": f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/'
                        f'sitemap/0.9">{sitemap}</urlset>',
        "/": _page("Welcome", "<h1>Welcome</h1><p>Example Flows runs data science flows on Kubernetes.</p>"
                   f"<ul><li><a href='{LIVE}/scaling/remote-tasks/introduction'>Scaling</a></li>"
                   "<li><a href='/guide/index.html'>Guide</a></li><li><a href='/old-page'>Old</a></li>"
                   "<li><a href='/guide/print'>Print</a></li><li><a href='/v/r/intro'>R docs</a></li></ul>",
                   canonical=f"{LIVE}/"),
        "/guide": _page("Guide", "<h1>Guide</h1><p>Flows are Python classes.</p><h2 id='intro-section'>Intro"
                        "</h2><p>Each step stores artifacts in S3.</p>", canonical=f"{LIVE}/guide"),
        # a print view naming the guide as its canonical page: the same page, never stored twice
        "/guide/print": _page("Guide (print)", "<h1>Guide</h1><p>Flows are Python classes.</p>",
                              canonical=f"{LIVE}/guide"),
        # a Docusaurus client redirect naming the live host
        "/old-page": (f"<!doctype html><html><head><meta http-equiv='refresh' content='0; url={LIVE}/guide'>"
                      f"<link rel='canonical' href='{LIVE}/guide'></head><body></body></html>"),
        "/scaling/remote-tasks/introduction": (HTML / "docusaurus-live.html").read_text(encoding="utf-8"),
        "/introduction/release-notes": (HTML / "release-notes.html").read_text(encoding="utf-8"),
        "/orphan": _page("Orphan", "<h1>Orphan</h1><p>Only the sitemap links here.</p>"),
        "/v/r/intro": _page("R intro", "<h1>Metaflow for R</h1><p>The R variant of the docs.</p>"),
    })


def live_sources(path: Path, *, mode: str = "exclude") -> Path:
    cited = [f"{LIVE}/guide#intro-section", f"{LIVE}/guide#no-longer-there", f"{LIVE}/old-page#intro-section",
             f"{LIVE}/removed-page", "https://other-site.invalid/paper"]
    path.write_text(
        f'[[source]]\ntool = "flows"\nname = "Example Flows"\nroots = ["{LIVE}/"]\nallow = ["{LIVE}/"]\n'
        f'sitemaps = ["{LIVE}/sitemap.xml"]\ngenerator = "docusaurus"\n'
        'content = ["article .theme-doc-markdown", "article", "main"]\n'
        f'cited = {json.dumps(cited)}\nvariants = {{r = "/v/r/"}}\nvariant_mode = "{mode}"\n', encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    from crawler.localserver import LocalServer

    tmp = tmp_path_factory.mktemp("live")
    server = LocalServer(live_site(tmp / "site"), faults={"/moved-away": {"redirect": f"{LIVE}/guide"}}).start()
    try:
        db = tmp / "c.sqlite"
        result = run_crawl(["flows"], base_urls=[f"flows={server.origin}"], sources_file=live_sources(tmp / "s.toml"),
                           db=db)
        yield {"result": result, "run": result["runs"][0], "db": db, "server": server, "tmp": tmp,
               "log": list(server.log)}
    finally:
        server.stop()


def _verdicts(db: Path, run_id: int) -> dict[str, dict]:
    with Store.open(db) as store:
        return {r["path"]: dict(r) for r in store.run_fetches(run_id)}


def test_every_sitemap_page_is_fetched_on_the_mirror(crawled):
    run, v = crawled["run"], _verdicts(crawled["db"], crawled["run"]["run"])
    assert run["status"] == "complete", run
    fetched = {p for p, r in v.items() if r["outcome"] == "fetched"}
    assert {"/", "/guide", "/scaling/remote-tasks/introduction", "/orphan", "/introduction/release-notes"} <= fetched
    assert v["/v/r/intro"]["outcome"] == "out_of_scope" and "doc variant 'r'" in v["/v/r/intro"]["reason"]
    assert v["/x"]["outcome"] == "out_of_scope"          # the sitemap entry on another host
    assert not any(r["outcome"] == "failed" for r in v.values())
    # nothing was stored twice: the print view and the redirect stub are the guide's other URLs
    assert "/guide/print" not in fetched and "/old-page" not in fetched
    assert all(e["path"] != "/v/r/intro" for e in crawled["log"])     # the variant is never requested
    notes = " ".join(run["notes"])
    assert "cdn.elsewhere.invalid (1)" in notes and "doc variant 'r'" in notes


def test_every_cited_fragment_is_an_id_of_its_stored_page(crawled):
    with Store.open(crawled["db"]) as store:
        passages = run_passages(store, crawled["run"]["run"])
        bodies = {p.url: store.get_blob(sha) for p, sha in (
            (p, store.conn.execute("SELECT sha256 FROM fetches WHERE run_id = ? AND url = ?",
                                   (crawled["run"]["run"], p.url)).fetchone()[0]) for p in passages)}
    assert len(passages) >= 10
    for url, body in bodies.items():
        doc = lxml.html.document_fromstring(body)
        ids = {e.get("id") for e in doc.iter() if isinstance(e.tag, str) and e.get("id")}
        anchors = {p.anchor for p in passages if p.url == url and p.anchor}
        assert anchors <= ids, (url, anchors - ids)
    top = [p for p in passages if p.url.endswith("/scaling/remote-tasks/introduction") and not p.anchor]
    assert top and top[0].citation == top[0].url            # the id-less h1 cites the page itself
    code = next(p.text for p in passages if "class BigSum(FlowSpec):" in p.text)
    assert "from exampleflows import FlowSpec, step\nclass BigSum(FlowSpec):" in code
    tabs = next(p.text for p in passages if p.anchor == "running-on-a-cluster")
    assert "Tab: AWS Batch\n$ python bigsum.py run --with batch" in tabs


def test_other_urls_of_a_page_are_recorded_as_aliases(crawled):
    with Store.open(crawled["db"]) as store:
        aliases = {(a["alias"].split(":", 2)[2].split("/", 1)[1], a["kind"]) for a in page_aliases(store, "flows")}
    assert {("guide/index.html", "index"), ("old-page", "redirect"), ("guide/print", "canonical")} <= aliases


def test_cited_pages_fetched_redirected_gone_and_their_sections(crawled):
    with Store.open(crawled["db"]) as store:
        rows = {r["url"].removeprefix(LIVE): r for r in cited_status(store, "flows")}
        versions = doc_versions(store, crawled["run"]["run"])
        remembered = stored_sources(store)["flows"]
    assert rows["/guide#intro-section"]["status"] == "fetched" and rows["/guide#intro-section"]["anchor_found"] is True
    assert rows["/guide#no-longer-there"]["anchor_found"] is False
    moved = rows["/old-page#intro-section"]
    assert moved["status"] == "redirected" and moved["final_url"].endswith("/guide") and moved["anchor_found"]
    assert rows["/removed-page"]["status"] == "gone" and rows["/removed-page"]["http_status"] == 404
    # a mirror crawl never reaches for other hosts: that citation stays unchecked
    assert rows["https://other-site.invalid/paper"]["status"] == "unchecked"
    assert all(r["run_id"] == crawled["run"]["run"] for r in rows.values())
    assert versions == {"2.11.0": 1}        # the live page's navbar names its release
    assert remembered["tool"] == "flows" and remembered["cited"]


def test_sources_cited_command_and_a_fourth_tool_needs_no_sources_flag(crawled):
    db = str(crawled["db"])
    out = CliRunner().invoke(cli.app, ["sources", "--cited", "--db", db, "--json"])
    assert out.exit_code == 0, out.output
    rows = {(r["tool"], r["url"]): r["status"] for r in json.loads(out.stdout)}
    assert rows[("flows", f"{LIVE}/removed-page")] == "gone"
    assert rows[("metaflow", "https://docs.metaflow.org/metaflow/client")] == "unchecked"   # never crawled here
    table = CliRunner().invoke(cli.app, ["sources", "--cited", "--db", db])
    assert "redirected" in table.stdout and "gone" in table.stdout
    # the store remembers the sources file the tool was crawled with
    for args in (["evidence", "flows", "--db", db, "--json"], ["facts", "flows", "--db", db, "--json"],
                 ["extract", "--page", str(HTML / "release-notes.html"), "--tool", "flows", "--db", db, "--json"]):
        result = CliRunner().invoke(cli.app, args)
        assert result.exit_code == 0, (args, result.output)
    evidence = CliRunner().invoke(cli.app, ["evidence", "flows", "--db", db])
    assert "docs of release 2.11.0" in evidence.stderr


def test_a_variant_shown_separately_is_its_own_tool(tmp_path, serve_site):
    server = serve_site(live_site(tmp_path / "site"))
    sources = live_sources(tmp_path / "s.toml", mode="separate")
    result = run_crawl(["flows", "flows-r"], base_urls=[f"flows={server.origin}"], sources_file=sources,
                       db=tmp_path / "c.sqlite", evidence=False)
    runs = {r["tool"]: r for r in result["runs"]}
    assert runs["flows-r"]["origin"] == server.origin          # served by its main tool's mirror
    r_pages = {p for p, r in _verdicts(tmp_path / "c.sqlite", runs["flows-r"]["run"]).items() if r["outcome"] == "fetched"}
    main = {p for p, r in _verdicts(tmp_path / "c.sqlite", runs["flows"]["run"]).items() if r["outcome"] == "fetched"}
    assert r_pages == {"/v/r/intro"} and "/v/r/intro" not in main
    with Store.open(tmp_path / "c.sqlite") as store:
        assert [r["tool"] for r in all_cited(store, {})] == ["flows"] * 5   # citations stay with the main tool
