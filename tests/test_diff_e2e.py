"""End to end: crawl the fixture sites v1, then v2 twice (the next weekly crawl confirms removed
pages), on 127.0.0.1, and check every designed change of fixtures/sites/CHANGES.toml in the diff.

The diff is responsible for *where* a change shows, given the tags: a designed change must be in a
flag of every criterion its passage is tagged with (on either side), as the right kind of entry
(added / changed / moved / removed). Whether the tagger tags the passage with the designed
criterion is the tagger's business (tests/test_tagger*), so it is not asserted here.
"""
from __future__ import annotations

import contextlib
from urllib.parse import urlsplit

import pytest

from crawler.localserver import serve
from crawler.urls import normalise, path_of
from fixtures.sites import TOOLS, load_changes, site_root
from knowledge.ops.crawl import run_crawl
from knowledge.diff.engine import _Context, run_diff
from knowledge.store import Store


def _canon(path: str) -> str:
    """The path a page is stored under (/x/index.html is the page /x)."""
    return path if path == "*" else path_of(normalise("http://x" + path))


CHANGES = [{**c, **{k: _canon(c[k]) for k in ("path", "to_path") if k in c}} for c in load_changes()["change"]]


def _path(url: str) -> str:
    return urlsplit(url).path.rstrip("/") or "/"


def _anchor(url: str) -> str:
    return urlsplit(url).fragment


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    db = tmp_path_factory.mktemp("e2e") / "store.sqlite"
    ports: dict[str, int] = {}
    for version in ("v1", "v2", "v2"):
        with contextlib.ExitStack() as stack:
            bases = []
            for tool in TOOLS:
                server = stack.enter_context(serve(site_root(version, tool), port=ports.get(tool, 0)))
                ports[tool] = urlsplit(server.origin).port
                bases.append(f"{tool}={server.origin}")
            run_crawl(list(TOOLS), base_urls=bases, db=db, settings={"DOWNLOAD_TIMEOUT": 10})
    store = Store.open(db)
    result = run_diff(store)
    yield _Context(store), result      # one evidence cache for all checks
    store.close()


def entries(result, tool: str, kinds=("added", "changed", "moved", "removed")):
    """(criterion, entry kind, entry, flag) for every passage entry of the tool's flags."""
    for f in result.flags:
        if f.tool != tool:
            continue
        for kind in kinds:
            for e in getattr(f, kind):
                yield f.criterion, kind, e, f


def tagged(store: _Context, run_id: int, path: str, marker: str | None = None) -> set[str]:
    """Criteria of the run's evidence on this page (containing the marker, when given)."""
    side = store.side(run_id)
    return {c for c, evs in side.items() for e in evs
            if e.path.rstrip("/") == path and (marker is None or _squash(marker) in _squash(e.text))}


def runs(result, tool: str) -> tuple[int, int]:
    return result.from_runs[tool][0]["run_id"], result.to_runs[tool]["run_id"]


@pytest.mark.parametrize("change", [c for c in CHANGES if c["kind"] in (
    "capability_added", "capability_removed", "reworded", "page_added")], ids=lambda c: f"{c['tool']}-{c['kind']}-{c['path']}")
def test_new_text_is_flagged_under_its_criteria(crawled, change):
    store, result = crawled
    tool, marker = change["tool"], _squash(change["marker"])
    old_run, new_run = runs(result, tool)
    expected = tagged(store, new_run, change["path"], marker) | tagged(store, old_run, change["path"], marker)
    if not expected:
        pytest.skip("the current tagging rules tag this passage with no criterion: nothing to flag")
    found = {}
    for criterion, kind, e, flag in entries(result, tool, ("added", "changed")):
        if _path(e["url"]) == change["path"] and marker in _squash(e["text"]):
            found.setdefault(criterion, (kind, flag))
    assert expected <= set(found), f"tagged {sorted(expected)}, flagged {sorted(found)}"
    if change["kind"] == "page_added":
        assert all(kind == "added" for kind, _ in found.values())
    if change["kind"] == "reworded":
        assert all(kind == "changed" for kind, _ in found.values())
    if change["kind"].startswith("capability") and change["criterion"] in found:
        # A capability change; when it contradicts the study's claim for the cell, that comes first.
        flag = found[change["criterion"]][1]
        assert flag.kind == "capability" or (flag.kind == "contradiction" and flag.claim["contradicts"])
    new_facts = _facts(store, new_run, change["criterion"]) - _facts(store, old_run, change["criterion"])
    for fact in change.get("facts_added", []):
        cat, value = fact.split(":", 1)
        if (cat, value) in new_facts:
            assert value in found[change["criterion"]][1].facts_gained.get(cat, [])


def _facts(store: _Context, run_id: int, criterion: str) -> set[tuple[str, str]]:
    return {(f["category"], f["value"]) for e in store.side(run_id).get(criterion, []) for f in e.facts}


@pytest.mark.parametrize("change", [c for c in CHANGES if c["kind"] == "moved"], ids=lambda c: f"{c['tool']}-{c['path']}")
def test_moved_text_is_reported_as_moved(crawled, change):
    store, result = crawled
    tool, marker = change["tool"], _squash(change["marker"])
    old_run, new_run = runs(result, tool)
    expected = tagged(store, old_run, change["path"], marker) & tagged(store, new_run, change["to_path"], marker)
    assert expected, "the moved passage carries no criterion on both sides: nothing to check"
    moved = {c for c, kind, e, _ in entries(result, tool, ("moved",))
             if marker in _squash(e["text"]) and _path(e["url"]) == change["to_path"]
             and _anchor(e["url"]) == change["to_anchor"] and _path(e["old_url"]) == change["path"]
             and _anchor(e["old_url"]) == change["anchor"]}
    assert expected <= moved
    for c, kind, e, _ in entries(result, tool, ("added", "removed")):
        assert marker not in _squash(e["text"]), f"moved text reported as {kind} under {c}"


@pytest.mark.parametrize("change", [c for c in CHANGES if c["kind"] == "page_removed"], ids=lambda c: f"{c['tool']}-{c['path']}")
def test_page_gone_twice_is_removed(crawled, change):
    store, result = crawled
    tool = change["tool"]
    old_run, _ = runs(result, tool)
    expected = tagged(store, old_run, change["path"])
    if not expected:
        pytest.skip("the current tagging rules tag nothing on this page: nothing to flag")
    removed = {c for c, kind, e, _ in entries(result, tool, ("removed",)) if _path(e["url"]) == change["path"]}
    assert expected == removed
    gone = [_path(p["url"]) for p in result.crawl_health[tool]["gone"]]
    assert change["path"] in gone


@pytest.mark.parametrize("change", [c for c in CHANGES if c["kind"] == "fetch_error"], ids=lambda c: f"{c['tool']}-{c['path']}")
def test_failed_page_is_crawl_health_and_keeps_evidence(crawled, change):
    store, result = crawled
    tool = change["tool"]
    failed = {_path(p["url"]): p for p in result.crawl_health[tool]["failed"]}
    assert change["path"] in failed and failed[change["path"]]["evidence_kept"]
    assert not [e for _, _, e, _ in entries(result, tool) if _path(e["url"]) == change["path"]
                or _path(e.get("old_url", e["url"])) == change["path"]]
    old_run, new_run = runs(result, tool)
    assert tagged(store, new_run, change["path"]) == tagged(store, old_run, change["path"])


def test_boilerplate_and_version_bumps_are_not_flagged(crawled):
    store, result = crawled
    for tool in TOOLS:
        designed = {c["path"] for c in CHANGES if c["tool"] == tool and c["kind"] not in ("boilerplate", "version_bump")}
        designed |= {c["to_path"] for c in CHANGES if c["tool"] == tool and c.get("to_path")}
        bumped = {c["path"] for c in CHANGES if c["tool"] == tool and c["kind"] == "version_bump"}
        touched = {_path(e[k]) for _, _, e, _ in entries(result, tool) for k in ("url", "old_url") if k in e}
        assert touched <= designed, f"{tool}: flags on pages without a designed change: {sorted(touched - designed)}"
        assert not touched & bumped
