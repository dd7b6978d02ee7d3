"""A sources file is checked against its schema before anything runs (issue 9, item 11).

Every problem is reported at once, one line each: file:line, which [[source]], which key, what is
wrong; exit code 2; nothing is crawled and no store is created.
"""
from __future__ import annotations

import re

import pytest

from crawler.localserver import serve
from test_resilience_kit import TOOL, cli, crawl, make_site

GOOD = """[[source]]
tool = "metaflow"
roots = ["https://docs.example.invalid/"]
allow = ["https://docs.example.invalid/"]
"""

CASES = {
    "a typo in a key": (GOOD + "maxpages = 10\n", [(5, "maxpages", "unknown key (did you mean 'max_pages'?)")]),
    "a page limit of 0": (GOOD + "max_pages = 0\n", [(5, "max_pages", "must be at least 1")]),
    "a page limit that is text": (GOOD + "max_pages = '50'\n", [(5, "max_pages", "must be a whole number")]),
    "source as a plain list": ('source = ["metaflow", "dvc"]\n', [(1, "source", "must be [[source]] tables")]),
    "a broken IPv6 base URL": (GOOD.replace("https://docs.example.invalid/\"]\nallow", "http://[::1\"]\nallow"),
                               [(3, "roots", "cannot be read")]),
    "a URL without host": (GOOD + "sitemaps = ['https:///sitemap.xml']\n", [(5, "sitemaps", "has no host")]),
    "a bad CSS selector": (GOOD + "content = ['main >>> p']\n", [(5, "content", "is not a CSS selector")]),
    "several at once": (GOOD + "maxpages = 10\nkeep_query = 'yes'\n\n[[source]]\ntool = 'dvc'\nroots = []\n",
                        [(5, "maxpages", "unknown key"), (6, "keep_query", "must be true or false"),
                         (10, "roots", "lacks roots, allow")]),
}


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_site(root, n=2)
    with serve(root) as server:
        yield server.origin


@pytest.mark.parametrize("case", list(CASES))
def test_bad_sources_file_one_line_per_problem_exit_2(tmp_path, origin, case):
    text, expected = CASES[case]
    path = tmp_path / "my-sources.toml"
    path.write_text(text, encoding="utf-8")
    db = tmp_path / "c.sqlite"
    for command in (["sources", "--sources", str(path)],
                    ["crawl", TOOL, "--sources", str(path), "--base-url", f"{TOOL}={origin}", "--db", str(db)]):
        result = cli(*command)
        assert result.exit_code == 2, result.output
        assert "Internal error" not in result.output and "Traceback" not in result.output
        lines = [ln for ln in result.stderr.splitlines() if ln.startswith(f"{path}:")]
        assert len(lines) == len(expected), result.stderr
        for line, (number, key, words) in zip(lines, expected):
            assert line.startswith(f"{path}:{number}: ") and f"'{key}'" in line and words in line, line
    assert not db.exists(), "a crawl with a bad sources file does not even create the store"


def test_bad_base_url_option_is_a_usage_error(tmp_path):
    result = cli("crawl", TOOL, "--base-url", f"{TOOL}=http://[::1", db=tmp_path / "c.sqlite")
    assert result.exit_code == 2 and "must be an origin" in result.stderr, result.output


def test_trap_limits_are_read_from_the_sources_file(tmp_path, origin):
    """The new keys work end to end: a source may keep its query strings."""
    path = tmp_path / "s.toml"
    path.write_text(GOOD + "keep_query = true\nmax_depth = 4\nmax_similar = 3\n", encoding="utf-8")
    result = cli("sources", "--sources", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert re.search(r'"keep_query": true.*"max_depth": 4.*"max_similar": 3', result.stdout, re.S)
    run = crawl(tmp_path / "c.sqlite", origin, sources_file=path)["runs"][0]
    assert run["status"] == "complete"
