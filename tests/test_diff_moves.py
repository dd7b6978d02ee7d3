"""knowledge.diff.moves: a site-wide prefix move recognised from addresses (issue 12, item 1)."""
from __future__ import annotations

from knowledge.diff.moves import find_site_moves, path_map

NAMES = ("start", "install", "remotes", "pipelines", "experiments", "api/read")


def test_doc_prefix_moved_to_the_root():
    old = ["/doc"] + [f"/doc/{n}" for n in NAMES]
    new = ["/"] + [f"/{n}" for n in NAMES] + ["/blog"]
    [move] = find_site_moves(old, new)
    assert (move.old_prefix, move.new_prefix, move.label) == ("/doc/", "/", "/doc/* to /*")
    assert path_map([move]) == {"/doc": "/", **{f"/doc/{n}": f"/{n}" for n in NAMES}}
    assert move.to_dict()["pages"] == 7


def test_a_few_renamed_pages_are_page_moves_not_a_site_move():
    old = ["/doc/start/data-management/a", "/doc/start/data-management/b"]
    new = ["/doc/start/data-pipelines/a", "/doc/start/data-pipelines/b"]
    assert find_site_moves(old, new) == []


def test_a_prefix_that_explains_only_some_vanished_pages_is_not_a_move():
    old = [f"/doc/{n}" for n in NAMES] + [f"/doc/gone-{i}" for i in range(10)]
    new = [f"/{n}" for n in NAMES]
    assert find_site_moves(old, new) == []           # 6 of 16 pages: most of /doc/ really is gone


def test_nested_prefix_and_pages_still_present_are_left_alone():
    old = [f"/docs/latest/{n}" for n in NAMES] + ["/docs/latest/kept"]
    new = [f"/docs/v2/{n}" for n in NAMES] + ["/docs/latest/kept"]
    [move] = find_site_moves([p for p in old if p not in new], new)
    assert (move.old_prefix, move.new_prefix) == ("/docs/latest/", "/docs/v2/")
    assert "/docs/latest/kept" not in path_map([move])
