"""Nothing scraped is ever terminal markup (issue 9, item 10).

A page whose heading id and text are Rich markup (`[link=...]` would print a clickable terminal
hyperlink) and carry bidi marks (RLM/ALM/LRM reorder what a reviewer reads): every command shows
the text literally, the marks removed.
"""
from __future__ import annotations

import pytest

from crawler.localserver import serve
from knowledge.textsafe import safe
from test_resilience_kit import TOOL, cli, crawl, make_site, page_html

EVIL_ID = "[link=https://evil.example]x[/link]"
EVIL_TEXT = "[bold red]Amazon S3[/bold red] and [link=https://evil.example]Azure Blob Storage[/link]"
MARKS = "\u200f\u061c\u200e"


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    root = tmp_path_factory.mktemp("site")
    make_site(root)
    path = tmp_path_factory.mktemp("db") / "c.sqlite"
    with serve(root) as server:
        assert crawl(path, server.origin)["runs"][0]["status"] == "complete"
        (root / "p0" / "index.html").write_text(
            page_html("Data versioning", f"Version datasets stored in Amazon S3 or Google Cloud Storage{MARKS}. "
                                         f"Also {EVIL_TEXT}.", anchor=EVIL_ID))
        assert crawl(path, server.origin)["runs"][0]["status"] == "complete"
    assert cli("diff", db=path).exit_code == 0
    return path


def _shown(*args: str, db) -> str:
    result = cli(*args, db=db)
    assert result.exit_code == 0, result.output
    return result.output


def test_bidi_marks_are_removed():
    assert safe(f"a{MARKS}b") == "ab"


@pytest.mark.parametrize("command", [["facts"], ["evidence", TOOL, "storage"], ["review", "list"]],
                         ids=lambda c: " ".join(c))
def test_scraped_markup_is_printed_literally(db, command):
    shown = _shown(*command, db=db)
    flat = "".join(shown.split())
    needle = EVIL_ID if command[0] != "review" else None
    if needle:
        assert "".join(needle.split()) in flat, shown
    assert "\x1b]8;" not in shown, "a terminal hyperlink escape"
    assert not any(m in shown for m in MARKS)


def test_review_show_prints_scraped_markup_literally(db):
    import json

    ids = [f["id"] for f in json.loads(cli("review", "list", "--json", db=db).stdout)]
    assert ids, "the hostile page changed the evidence: a flag waits"
    shown = "".join("".join(_shown("review", "show", i, db=db).split()) for i in ids)
    assert "".join(EVIL_TEXT.split()) in shown or "".join(EVIL_ID.split()) in shown
    assert not any(m in shown for m in MARKS)
