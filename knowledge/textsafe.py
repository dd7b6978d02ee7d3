"""Scraped text is data, not terminal commands.

Everything printed from a crawled page goes through `safe()` first: ANSI escape sequences
(CSI, OSC, ...), C0/C1 control characters and bidi controls are removed, so a hostile page cannot
move the cursor, retitle the terminal, or hide text from the reviewer. `safe()` does not make text
inert for Rich: print scraped text as `rich.text.Text` (or with markup=False), never inside a
markup string, or "[link=...]" in a heading becomes a terminal hyperlink.
"""
from __future__ import annotations

import re

# ESC-based sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST), other 2-byte escapes.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])")
# C0 controls except tab/newline, DEL, C1 controls (incl. the 8-bit CSI \x9b).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Unicode bidi overrides/isolates and marks (LRM, RLM, ALM) can visually reorder text in a
# terminal (Trojan Source).
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def safe(text: object, *, keep_newlines: bool = True) -> str:
    s = _BIDI.sub("", _CONTROL.sub("", _ANSI.sub("", str(text if text is not None else ""))))
    return s if keep_newlines else s.replace("\n", " ")


def safe_obj(value):
    """`safe()` applied to every string inside a JSON-like structure."""
    if isinstance(value, str):
        return safe(value)
    if isinstance(value, dict):
        return {safe(k) if isinstance(k, str) else k: safe_obj(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [safe_obj(v) for v in value]
    return value
