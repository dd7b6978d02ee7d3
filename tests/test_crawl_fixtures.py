"""End-to-end crawl of the fixture sites v1 then v2 (all three tools in one `collector crawl`),
checked against the designed differences in fixtures/sites/CHANGES.toml."""
from __future__ import annotations

import re

import pytest

from crawler.urls import normalise, path_of
from fixtures.sites import ROOT_PATHS, TOOLS, load_changes, site_root
from knowledge.ops.crawl import run_crawl
from knowledge.store import Store


def canon(path: str) -> str:
    """The path a page is stored under (/x/index.html is the page /x)."""
    return path_of(normalise("http://x" + path))


def sitemap_paths(version: str, tool: str) -> set[str]:
    text = (site_root(version, tool) / "sitemap.xml").read_text(encoding="utf-8")
    return {canon(p) for p in re.findall(r"<loc>__ORIGIN__([^<]*)</loc>", text)}


def by_kind(kind: str, table: str = "change") -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {t: [] for t in TOOLS}
    for entry in load_changes().get(table, []):
        if entry["kind"] == kind:
            out[entry["tool"]].append(entry)
    return out


@pytest.fixture(scope="module")
def crawls(tmp_path_factory, request):
    """Crawl v1, then v2 on the same origins (the servers switch folders), into one store."""
    from crawler.localserver import LocalServer

    db = tmp_path_factory.mktemp("fixture-crawl") / "c.sqlite"
    servers = {t: LocalServer(site_root("v1", t)).start() for t in TOOLS}
    request.addfinalizer(lambda: [s.stop() for s in servers.values()])
    result = {}
    for version in ("v1", "v2"):
        for tool, server in servers.items():
            server.root = site_root(version, tool)
            server.log.clear()
        runs = run_crawl(None, base_urls=[f"{t}={s.origin}" for t, s in servers.items()], db=db,
                         evidence=False)["runs"]
        with Store.open(db) as store:
            result[version] = {r["tool"]: (r, {f["path"]: dict(f) for f in store.run_fetches(r["run"])},
                                           {e["path"]: e for e in servers[r["tool"]].requests()})
                               for r in runs}
    return result


@pytest.mark.parametrize("tool", TOOLS)
def test_v1_every_sitemap_page_is_fetched_and_specials_hold(crawls, tool):
    run, fetches, requested = crawls["v1"][tool]
    fetched = {p for p, f in fetches.items() if f["outcome"] == "fetched"}
    assert run["status"] == "complete"
    assert sitemap_paths("v1", tool) <= fetched
    assert canon(ROOT_PATHS[tool]) in fetched
    for special in by_kind("robots_disallowed", "special")[tool]:
        assert fetches[special["path"]]["outcome"] == "blocked"
        assert not any(p.rstrip("/") == special["path"] for p in requested)
    for special in by_kind("out_of_scope_link", "special")[tool]:
        target = special["target"]
        assert target not in fetches and target not in requested
    for special in by_kind("non_html_link", "special")[tool]:
        target = special["target"]
        assert target not in requested
        assert target not in fetches or fetches[target]["outcome"] == "skipped"


@pytest.mark.parametrize("tool", TOOLS)
def test_v2_changes_are_seen_as_designed(crawls, tool):
    run, fetches, requested = crawls["v2"][tool]
    _, before, _ = crawls["v1"][tool]
    added = {canon(c["path"]) for c in by_kind("page_added")[tool]}
    removed = {c["path"] for c in by_kind("page_removed")[tool]}
    errors = {c["path"]: c for c in by_kind("fetch_error")[tool]}
    assert {p for p, f in fetches.items() if f["change"] == "new"} == added
    assert {p for p, f in fetches.items() if f["outcome"] == "gone"} == removed
    assert {p for p, f in fetches.items() if f["outcome"] == "failed"} == set(errors)
    for path, change in errors.items():
        assert fetches[path]["http_status"] == change["status"]
        assert fetches[path]["sha256"] == before[path]["sha256"]    # previous content survives
    # every surviving page changed at least in its boilerplate (build stamp), and was asked conditionally
    for path, f in fetches.items():
        if f["outcome"] == "fetched" and path not in added:
            assert f["change"] == "changed", path
            asked = requested.get(path + "/") or requested.get(path) or requested[path + "/index.html"]
            assert asked["if_none_match"] and asked["if_modified_since"] and asked["status"] == 200
    assert run["status"] == "partial" and "failed" in run["message"]
