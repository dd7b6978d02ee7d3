"""Scraped text is data: textsafe.safe() leaves nothing a terminal would act on, and keeps the text."""
import re

import pytest

from knowledge.textsafe import safe, safe_obj
from test_review_support import fake_extractor  # noqa: F401 (fixture)

# Anything a terminal interprets: C0 controls except tab/newline, DEL, C1 controls (incl. 8-bit CSI).
ACTIVE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.parametrize("raw, expected", [
    ("\x1b[31mred\x1b[0m text", "red text"),                       # CSI colour
    ("\x1b[2J\x1b[H\x1b[1A\x1b[2Kcleared", "cleared"),            # clear screen, cursor moves, erase line
    ("\x1b[?1049hswitched", "switched"),                          # private-mode CSI (alternate screen)
    ("\x1b]0;pwned title\x07after", "after"),                      # OSC retitle ended by BEL
    ("\x1b]8;;http://evil.example\x1b\\link\x1b]8;;\x1b\\", "link"),  # OSC 8 hyperlink ended by ST
    ("\x1b]52;c;ZXZpbA==\x07x", "x"),                              # OSC 52 clipboard write
    ("bell\x07", "bell"),
    ("back\x08\x08\x08\x08XXXX", "backXXXX"),                      # backspace overwrite trick
    ("shown\rhidden", "shownhidden"),                              # carriage return overwrite trick
    ("a\x00b\x0bc\x0cd\x1ae\x7ff", "abcdef"),                      # NUL, VT, FF, SUB, DEL
    ("\x9b31mC1 csi\x9b0m", "31mC1 csi0m"),                        # 8-bit CSI: the introducer is gone
    ("\x85next\x90dcs\x9d", "nextdcs"),                            # other C1 controls
    ("lone escape\x1b", "lone escape"),
    ("\x1bcreset", "reset"),                     # RIS (terminal reset): the whole escape is removed
    ("left\u202eright\u2066x\u2069", "leftrightx"),   # bidi overrides cannot reorder what is shown
])
def test_escape_sequences_and_controls_are_removed(raw, expected):
    assert safe(raw) == expected
    assert not ACTIVE.search(safe(raw))


def test_normal_text_is_kept():
    text = "Ünïcödé — 日本語, emoji 😀, math ≤ ≥, tabs\tand\nnewlines, [brackets] and <tags> & \"quotes\""
    assert safe(text) == text
    assert safe("line one\nline two", keep_newlines=False) == "line one line two"
    assert safe(None) == "" and safe(42) == "42"


def test_safe_obj_cleans_every_string_in_nested_data():
    data = {"a": ["ok\x1b[31m", {"b": ("\x9bx", 3, None)}], "n": 1.5, "t": True}
    assert safe_obj(data) == {"a": ["ok", {"b": ["x", 3, None]}], "n": 1.5, "t": True}


def test_safe_is_idempotent_on_hostile_input():
    hostile = "\x1b\x1b[[31m\x9b\x9b2J\x1b]0;\x1b]0;t\x07\x07x"
    once = safe(hostile)
    assert safe(once) == once
    assert not ACTIVE.search(once)


def test_collector_evidence_shows_an_injected_passage_inert(tmp_path, fake_extractor):
    from typer.testing import CliRunner

    from cli import app
    from knowledge.store import Store
    from test_review_support import EVIL, add_run, assert_inert

    fake_extractor["/doc/evil"] = [("evil\x1b[2J", "Evil\x1b]0;t\x07", EVIL, {"storage": 0.9}, [])]
    db = tmp_path / "k.sqlite"
    with Store.open(db) as s:
        add_run(s, "dvc", ["/doc/evil"])
    for args in (["evidence", "dvc", "storage"], ["evidence", "dvc", "storage", "--json"]):
        result = CliRunner().invoke(app, [*args, "--db", str(db)])
        assert result.exit_code == 0, result.output
        assert "Store in S3" in result.stdout
        assert_inert(result.stdout)
        assert "\\u001b" not in result.stdout and "\\u009b" not in result.stdout
