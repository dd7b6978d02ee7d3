"""Consistency of the fixture sites (fixtures/sites): shape, sitemaps, robots, and designed changes.

Every difference between v1 and v2 must be declared in CHANGES.toml, and every declared difference
must really be there; other tests rely on that when they assert what a diff should report.
"""
from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

from fixtures.sites import SITES_DIR, TOOLS, VERSIONS, load_changes, site_root
from fixtures.sites.build import file_for, render_all

SHAPE = {"metaflow": "docusaurus", "dvc": "gatsby", "mlflow": "sphinx"}
CONTENT = {"docusaurus": "main article > div.theme-doc-markdown",
           "gatsby": "main.content > div.markdown-body#markdown-root",
           "sphinx": "main > div[role=main] > div[itemprop=articleBody]"}
SIDEBAR_LINKS = {"docusaurus": "aside.theme-doc-sidebar-container a.menu__link",
                 "gatsby": "div.sidebar ul.sidebar-menu a.sidebar-link",
                 "sphinx": "nav.wy-nav-side div.wy-menu a.reference"}
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"
CHANGES = load_changes()


def changes(tool: str, kind: str | None = None) -> list[dict]:
    return [c for c in CHANGES["change"] if c["tool"] == tool and (kind is None or c["kind"] == kind)]


def specials(kind: str) -> list[dict]:
    return [s for s in CHANGES["special"] if s["kind"] == kind]


@lru_cache(maxsize=None)
def sitemap_paths(version: str, tool: str) -> tuple[str, ...]:
    text = (site_root(version, tool) / "sitemap.xml").read_text(encoding="utf-8")
    locs = re.findall(r"<loc>(.*?)</loc>", text)
    assert locs and all(loc.startswith("__ORIGIN__/") for loc in locs), f"{version}/{tool}: bad sitemap locs"
    return tuple(loc[len("__ORIGIN__"):] for loc in locs)


def page_file(version: str, tool: str, path: str) -> Path:
    return site_root(version, tool) / file_for(path)


@lru_cache(maxsize=None)
def soup(version: str, tool: str, path: str) -> BeautifulSoup:
    return BeautifulSoup(page_file(version, tool, path).read_bytes(), "lxml")


def content(version: str, tool: str, path: str):
    node = soup(version, tool, path).select_one(CONTENT[SHAPE[tool]])
    assert node is not None, f"{version}/{tool}{path}: no content element"
    return node


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def sections(version: str, tool: str, path: str) -> dict[str, str]:
    """{anchor: text directly in that section}; absent page -> {}."""
    if not page_file(version, tool, path).is_file():
        return {}
    node, out = content(version, tool, path), {}
    if SHAPE[tool] == "sphinx":
        for sec in node.find_all("section"):
            own = [s for s in sec.find_all(string=True) if s.find_parent("section") is sec]
            out[sec["id"]] = norm("".join(own))
        return out
    anchor = ""
    for child in node.children:
        if getattr(child, "name", None) in ("h1", "h2", "h3"):
            anchor = child["id"]
        text = child.get_text() if hasattr(child, "get_text") else str(child)
        out[anchor] = norm(out.get(anchor, "") + " " + text)
    return out


def both_versions(tool: str) -> list[str]:
    return [p for p in sitemap_paths("v1", tool) if p in sitemap_paths("v2", tool)]


# ----------------------------------------------------------------------------- files and layout
def test_committed_files_are_what_the_generator_writes():
    expected = render_all()
    on_disk = {str(p.relative_to(SITES_DIR)): p.read_bytes()
               for v in VERSIONS for p in (SITES_DIR / v).rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(expected), "run `python -m fixtures.sites.build`"
    stale = [k for k in expected if on_disk[k] != expected[k]]
    assert not stale, f"stale fixture files (run `python -m fixtures.sites.build`): {stale[:5]}"
    assert sum(map(len, expected.values())) < 500_000


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("tool", TOOLS)
def test_sitemap_lists_every_page_and_only_existing_files(version, tool):
    root = site_root(version, tool)
    listed = sitemap_paths(version, tool)
    assert len(listed) == len(set(listed)) and 7 <= len(listed) <= 11
    for path in listed:
        assert page_file(version, tool, path).is_file(), f"{version}/{tool}: sitemap lists missing {path}"
    hidden = {s["path"] for s in specials("robots_disallowed") if s["tool"] == tool}
    landing = {"index.html", "blog/index.html"} if tool != "metaflow" else set()
    pages = {str(p.relative_to(root)) for p in root.rglob("*.html")}
    assert pages - landing == {file_for(p) for p in listed} | {file_for(p) for p in hidden}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("tool", TOOLS)
def test_robots_disallows_an_existing_linked_page_outside_the_sitemap(version, tool):
    lines = (site_root(version, tool) / "robots.txt").read_text(encoding="utf-8").splitlines()
    assert "User-agent: *" in lines and "Sitemap: __ORIGIN__/sitemap.xml" in lines
    disallowed = [line.split(":", 1)[1].strip() for line in lines if line.startswith("Disallow:")]
    (entry,) = [s for s in specials("robots_disallowed") if s["tool"] == tool]
    path = entry["path"]
    assert any(path.startswith(d) for d in disallowed if d)
    assert page_file(version, tool, path).is_file()
    assert path not in sitemap_paths(version, tool)
    linked = [p for p in sitemap_paths(version, tool)
              if soup(version, tool, p).select_one(f'{CONTENT[SHAPE[tool]]} a[href="{path}"]')]
    assert linked, f"nothing links to the disallowed page {path}"


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("kind", ["out_of_scope_link", "non_html_link"])
def test_special_links_are_present(version, kind):
    entries = specials(kind)
    assert {e["tool"] for e in entries} == set(TOOLS)
    for e in entries:
        page = soup(version, e["tool"], e["path"])
        assert page.select_one(f'a[href="{e["target"]}"]'), f"{e['tool']}{e['path']} lacks link {e['target']}"
        if kind == "non_html_link":
            data = (site_root(version, e["tool"]) / e["target"].lstrip("/")).read_bytes()
            assert data.startswith((b"%PDF-", b"\x89PNG"))


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("tool", ["dvc", "mlflow"])
def test_landing_page_links_to_docs(version, tool):
    landing = BeautifulSoup((site_root(version, tool) / "index.html").read_bytes(), "lxml")
    assert landing.select_one('a[href="/doc"]' if tool == "dvc" else 'a[href="/docs/latest/index.html"]')


# ----------------------------------------------------------------------------- site shape
def check_docusaurus(page: BeautifulSoup, body) -> None:
    assert page.select_one("nav.navbar")
    assert page.select_one("main article nav.theme-doc-breadcrumbs")
    assert "Edit this page" in page.select_one("main article footer.theme-doc-footer").get_text()
    assert page.select_one("main nav.pagination-nav")
    assert re.search(rf"Build [0-9a-f]{{6,}} · {STAMP}", page.select_one("footer.footer").get_text())
    assert body.find("h1", id=True)
    assert all(h.get("id") for h in body.find_all(["h1", "h2", "h3"]))


def check_gatsby(page: BeautifulSoup, body) -> None:
    assert page.select_one("header.header nav")
    assert page.select_one("div.sidebar ul.sidebar-menu")
    assert re.search(rf"build [0-9a-f]{{6,}} · {STAMP}", page.select_one("footer.footer").get_text())
    assert body.find("h1", id=True)
    assert all(h.get("id") for h in body.find_all(["h1", "h2", "h3"]))


def check_sphinx(page: BeautifulSoup, body) -> None:
    assert page.select_one("nav.wy-nav-side")
    assert page.select_one("div.rst-content ul.wy-breadcrumbs")
    assert page.select_one("footer div.rst-footer-buttons")
    assert re.search(rf"Built {STAMP} · revision [0-9a-f]{{6,}}", page.select_one("footer").get_text())
    assert body.select_one("section[id] > h1")
    headings = body.find_all(["h1", "h2", "h3"])
    assert headings and not any(h.get("id") for h in headings), "Sphinx puts ids on <section>, not headings"
    assert all(h.parent.name == "section" and h.parent.get("id") for h in headings)


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("tool", TOOLS)
def test_every_page_has_the_site_shape(version, tool):
    shape = SHAPE[tool]
    listed = set(sitemap_paths(version, tool))
    tables = code = 0
    for path in listed:
        page, body = soup(version, tool, path), content(version, tool, path)
        {"docusaurus": check_docusaurus, "gatsby": check_gatsby, "sphinx": check_sphinx}[shape](page, body)
        sidebar = {a["href"] for a in page.select(SIDEBAR_LINKS[shape])}
        assert sidebar == listed, f"{version}/{tool}{path}: sidebar must list every page"
        assert 2 <= len(body.find_all("h2")) <= 6, f"{version}/{tool}{path}: 2-6 sections expected"
        tables += bool(body.find("table"))
        code += bool(body.find("pre"))
    assert tables >= 1 and code >= 3


# ----------------------------------------------------------------------------- designed changes
def test_changes_file_is_well_formed():
    kinds = {"capability_added", "capability_removed", "reworded", "moved", "version_bump", "page_added",
             "page_removed", "fetch_error", "boilerplate"}
    from knowledge.domain.checklist import criterion_ids

    from knowledge.domain.baseline import FACT_VOCABULARY

    for c in CHANGES["change"]:
        assert c["tool"] in TOOLS and c["kind"] in kinds and c["description"]
        assert c["criterion"] in criterion_ids() + ["none"]
        assert c["path"] == "*" or c["path"].startswith("/")
        for fact in c.get("facts_added", []) + c.get("facts_removed", []):
            category, _, value = fact.partition(":")
            assert value in FACT_VOCABULARY.get(category, ()), f"{c['path']}: {fact} is not in the vocabulary"
    for s in CHANGES["special"]:
        assert s["tool"] in TOOLS and s["path"].startswith("/") and s["description"]
    for tool in TOOLS:
        assert {c["kind"] for c in changes(tool)} >= {"boilerplate", "page_added", "page_removed",
                                                      "fetch_error", "capability_added", "reworded"}
    assert {c["kind"] for c in CHANGES["change"]} == kinds


@pytest.mark.parametrize("tool", TOOLS)
def test_added_and_removed_pages(tool):
    v1, v2 = set(sitemap_paths("v1", tool)), set(sitemap_paths("v2", tool))
    added = {c["path"] for c in changes(tool, "page_added")}
    removed = {c["path"] for c in changes(tool, "page_removed")}
    assert v2 - v1 == added and v1 - v2 == removed
    for path in added:
        assert page_file("v2", tool, path).is_file() and not page_file("v1", tool, path).exists()
    for path in removed:
        assert page_file("v1", tool, path).is_file() and not page_file("v2", tool, path).exists()
    for c in changes(tool, "page_added"):
        assert c["marker"] in content("v2", tool, c["path"]).get_text()


@pytest.mark.parametrize("tool", TOOLS)
def test_fault_pages_match_changes_and_keep_their_content(tool):
    faults = json.loads((site_root("v2", tool) / "_faults.json").read_text(encoding="utf-8"))
    declared = {c["path"]: {"status": c["status"]} for c in changes(tool, "fetch_error")}
    assert faults == declared
    assert not (site_root("v1", tool) / "_faults.json").exists()
    for path in declared:
        assert path in sitemap_paths("v2", tool)
        assert str(content("v1", tool, path)) == str(content("v2", tool, path))


@pytest.mark.parametrize("tool", TOOLS)
def test_only_declared_sections_differ(tool):
    """Per page in both versions, the set of sections whose text changed is exactly the declared one."""
    declared: dict[str, set[str]] = {}
    for c in changes(tool):
        if c["kind"] in ("capability_added", "capability_removed", "reworded", "moved"):
            declared.setdefault(c["path"], set()).add(c["anchor"])
        if c["kind"] == "moved":
            declared.setdefault(c["to_path"], set()).add(c["to_anchor"])
    bumps = {c["path"]: c for c in changes(tool, "version_bump")}
    for path in both_versions(tool):
        old, new = sections("v1", tool, path), sections("v2", tool, path)
        if path in bumps:
            b = bumps[path]
            assert old != new and {a: t.replace(b["old"], b["new"]) for a, t in old.items()} == new
            continue
        changed = {a for a in old.keys() | new.keys() if old.get(a) != new.get(a)}
        assert changed == declared.get(path, set()), f"{tool}{path}: undeclared or missing change"
        if not changed:
            assert str(content("v1", tool, path)) == str(content("v2", tool, path))


@pytest.mark.parametrize("tool", TOOLS)
def test_declared_markers_sit_where_declared(tool):
    for c in changes(tool):
        if c["kind"] in ("capability_added", "capability_removed", "reworded"):
            assert c["marker"] in sections("v2", tool, c["path"])[c["anchor"]]
            assert c["marker"] not in content("v1", tool, c["path"]).get_text()
        elif c["kind"] == "moved":
            before, after = sections("v1", tool, c["path"]), sections("v2", tool, c["path"])
            assert c["marker"] in before[c["anchor"]] and c["marker"] not in after.get(c["anchor"], "")
            target_v1 = sections("v1", tool, c["to_path"]).get(c["to_anchor"], "")
            assert c["marker"] in sections("v2", tool, c["to_path"])[c["to_anchor"]]
            assert c["marker"] not in target_v1


@pytest.mark.parametrize("tool", TOOLS)
def test_boilerplate_changes_on_every_page(tool):
    shape = SHAPE[tool]
    added = {c["path"] for c in changes(tool, "page_added")}
    removed = {c["path"] for c in changes(tool, "page_removed")}
    for path in both_versions(tool):
        links = {v: {a["href"] for a in soup(v, tool, path).select(SIDEBAR_LINKS[shape])} for v in VERSIONS}
        assert added <= links["v2"] and not added & links["v1"]
        assert removed <= links["v1"] and not removed & links["v2"]
        stamps = {v: re.findall(STAMP, soup(v, tool, path).find_all("footer")[-1].get_text()) for v in VERSIONS}
        assert stamps["v1"] and stamps["v2"] and stamps["v1"] != stamps["v2"]


def test_hostile_page_carries_raw_escape_sequences_in_both_versions():
    (entry,) = specials("hostile")
    for version in VERSIONS:
        data = page_file(version, entry["tool"], entry["path"]).read_bytes()
        data.decode("utf-8")  # still valid UTF-8
        for seq in (b"\x1b[2J", b"\x1b]0;pwned\x07", b"\x1b[31m", "\u009b".encode()):
            assert seq in data
        assert entry["path"] in sitemap_paths(version, entry["tool"])
        assert "\x1b[31m" in content(version, entry["tool"], entry["path"]).find("h2").get_text()
