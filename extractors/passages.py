"""STUB (to be replaced by the passages engineer): HTML -> section-aware passages."""
from __future__ import annotations

from typing import Sequence

from bs4 import BeautifulSoup

from extractors.model import Passage


def extract_passages(html: bytes | str, url: str, *, content: Sequence[str] = (),
                     drop: Sequence[str] = ()) -> list[Passage]:
    soup = BeautifulSoup(html, "lxml")
    root = None
    for sel in content:
        root = soup.select_one(sel)
        if root:
            break
    root = root or soup.body or soup
    out, path, anchor, buf = [], [], "", []

    def flush():
        if buf:
            out.append(Passage(url, anchor, tuple(path), " ".join(buf), len(out)))
            buf.clear()

    for el in root.find_all(["h1", "h2", "h3", "h4", "p", "li", "pre"]):
        if el.name.startswith("h"):
            flush()
            level = int(el.name[1])
            path = path[: level - 1] + [el.get_text(" ", strip=True)]
            anchor = el.get("id") or (el.parent.get("id") if el.parent else "") or ""
        else:
            buf.append(el.get_text(" ", strip=True))
    flush()
    return out
