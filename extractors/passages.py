"""HTML page -> section-aware passages of its main content, each citable as URL#anchor.

Pipeline (pure, no Scrapy): decode bytes -> lxml parses the page, cuts out the content element
(source `content` selectors, else a generic guess) and strips chrome from it (always-chrome
elements, the source's `drop` selectors, class-name guesses on unknown sites) -> BeautifulSoup
parses only that cleaned fragment -> one iterative walk splits its text at h1-h4 headings.

A passage is the text under one heading up to the next heading of any level (the gold set's
unit); it carries the heading path (h1 > h2 > h3) and an anchor: the heading's id, else the id
of the <section> it opens (Sphinx), else the id/name of an <a> inside it, else a slug of its text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import lxml.html
from bs4 import BeautifulSoup, NavigableString, Tag

from extractors.chrome import strip_chrome
from extractors.html_decode import to_text
from extractors.html_locate import find_content, flatten, page_title, parse_document
from extractors.model import Passage

# Sections longer than this are split (on block boundaries) into passages sharing the anchor,
# so one long page section does not dilute tagging or flood a reviewer. None: never split.
MAX_WORDS: int | None = 400
HEADING_LEVEL = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
# Tags that flow inside a line; every other tag (incl. custom ones like DVC's <admon>) is a block.
INLINE = frozenset((
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em",
    "font", "i", "img", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "sup", "time", "tt", "u", "var", "wbr", "math",
))
CELLS = frozenset(("td", "th"))
_WS = re.compile(r"\s+")
_HEADING_JUNK = re.compile(r"[\u00b6\u200b\u200c\u200d\ufeff]")
_SLUG_DROP = re.compile(r"[^\w\- ]+")


@dataclass
class _Section:
    path: tuple[str, ...]
    anchor: str
    blocks: list[tuple[str, str]] = field(default_factory=list)   # (text, "text" | "code" | "table")


def extract_passages(html: bytes | str, url: str, *, content: Sequence[str] = (),
                     drop: Sequence[str] = ()) -> list[Passage]:
    """Passages of the page's main content, in page order; [] when nothing is recoverable.

    `content`: CSS selectors of the content element, tried in order (first match wins; a generic
    fallback is used if none matches). `drop`: CSS selectors of chrome inside the content.
    """
    page = to_text(html)
    sections = _sections(page, content, drop)
    if not sections and "<" in page:
        # Markup that swallows its own text (an unclosed quote, comment or title): read the
        # text-bearing tags alone before giving up.
        sections = _sections(flatten(page), content, drop)
    out: list[Passage] = []
    for section in sections:
        for chunk in split_blocks(section.blocks, MAX_WORDS):
            out.append(Passage(
                url=url, anchor=section.anchor, heading_path=section.path,
                text="\n".join(text for text, _ in chunk), position=len(out),
                has_code=any(kind == "code" for _, kind in chunk),
                has_table=any(kind == "table" for _, kind in chunk)))
    return out


def _sections(text: str, content: Sequence[str], drop: Sequence[str]) -> list[_Section]:
    root, title = content_fragment(text, content, drop)
    return walk_sections(root, title) if root is not None else []


def content_fragment(text: str, content: Sequence[str] = (),
                     drop: Sequence[str] = ()) -> tuple[Tag | None, str]:
    """(BeautifulSoup tree of the content element with chrome removed, page title)."""
    doc = parse_document(text)
    if doc is None:
        return None, ""
    element, matched = find_content(doc, content)
    strip_chrome(element, drop, guess=not matched)
    fragment = lxml.html.tostring(element, encoding="unicode", with_tail=False)
    soup = BeautifulSoup(fragment, "lxml")
    return soup.body or soup, page_title(doc)


def walk_sections(root: Tag, title: str = "") -> list[_Section]:
    """Split the fragment's text at h1-h4 headings; empty sections are left out.

    Iterative (an explicit stack) so that deeply nested markup cannot hit the recursion limit.
    """
    sections = [_Section(path=(title,) if title else (), anchor="")]
    levels: list[tuple[int, str]] = []
    used: dict[str, int] = {}
    line: list[str] = []
    line_has_text = False
    tables = cells = 0
    outer_cells: list[int] = []

    def end_line() -> None:
        nonlocal line_has_text
        text = _WS.sub(" ", "".join(line)).strip()
        line.clear()
        line_has_text = False
        if text:
            sections[-1].blocks.append((text, "table" if tables else "text"))

    stack: list[tuple[object, str]] = [(iter(root.contents), "")]
    while stack:
        children, name = stack[-1]
        node = next(children, None)
        if node is None:
            stack.pop()
            if name == "table":
                end_line()
                tables -= 1
                cells = outer_cells.pop()
            elif name in CELLS:
                cells -= 1
            elif name and name not in INLINE:
                line.append(" ") if cells else end_line()
            continue
        if not isinstance(node, Tag):
            if type(node) is NavigableString:    # not comments, doctypes, CDATA, script text
                line.append(node)
                line_has_text = line_has_text or not node.isspace()
            continue
        tag = node.name
        level = HEADING_LEVEL.get(tag)
        if level:
            text = heading_text(node)
            if text:
                end_line()
                while levels and levels[-1][0] >= level:
                    levels.pop()
                levels.append((level, text))
                sections.append(_Section(tuple(t for _, t in levels), anchor_for(node, text, used)))
                continue
        if tag == "pre":
            end_line()
            code = "\n".join(filter(None, (_WS.sub(" ", ln).strip() for ln in node.get_text().splitlines())))
            if code:
                sections[-1].blocks.append((code, "code"))
            continue
        if tag == "br":
            line.append(" ") if cells else end_line()
            continue
        if tag == "table":
            end_line()
            tables += 1
            outer_cells.append(cells)
            cells = 0       # a table nested in a cell starts its own rows
        elif tag in CELLS:
            if line_has_text:
                line.append(" | ")
            cells += 1
        elif tag not in INLINE:
            # Paragraphs inside a table cell stay on the row's line.
            line.append(" ") if cells else end_line()
        stack.append((iter(node.contents), tag))
    end_line()
    return [s for s in sections if s.blocks]


def heading_text(h: Tag) -> str:
    return _WS.sub(" ", _HEADING_JUNK.sub("", h.get_text())).strip()


def anchor_for(h: Tag, text: str, used: dict[str, int]) -> str:
    """Heading id, else the id of the section it opens, else an <a> id/name in it, else a slug.

    Sphinx headings with a "toc-backref" link still cite their section's id (where the page's
    own permalink points), not the table-of-contents entry the backref leads to.
    `used` counts anchors so far, so that repeated slugs get -1, -2... (as GitHub does).
    """
    anchor = (h.get("id") or "").strip() or _section_id(h) or _link_id(h)
    if not anchor:
        base = slugify(text) or "section"
        anchor, n = base, used.get(base, 0)
        while anchor in used:
            n += 1
            anchor = f"{base}-{n}"
        used[base] = n
    used.setdefault(anchor, 0)
    return anchor


def _section_id(h: Tag) -> str:
    """Id of the <section> (or Sphinx's older div.section) that this heading opens."""
    for parent in h.parents:
        if parent.name == "section" or "section" in (parent.get("class") or ()):
            if parent.get("id") and parent.find(tuple(HEADING_LEVEL)) is h:
                return parent["id"].strip()
            return ""
    return ""


def _link_id(h: Tag) -> str:
    for a in h.find_all("a"):
        ident = (a.get("id") or a.get("name") or "").strip()
        if ident:
            return ident
    return ""


def slugify(text: str) -> str:
    """GitHub-style slug: what most docs generators would use as the heading id."""
    return "-".join(_SLUG_DROP.sub("", text.lower()).split())


def split_blocks(blocks: list[tuple[str, str]], max_words: int | None) -> list[list[tuple[str, str]]]:
    """Greedy split on block boundaries at ~max_words; a short tail joins the previous chunk."""
    if not max_words:
        return [blocks]
    chunks: list[list[tuple[str, str]]] = [[]]
    words = 0
    for block in blocks:
        n = len(block[0].split())
        if chunks[-1] and words + n > max_words:
            chunks.append([])
            words = 0
        chunks[-1].append(block)
        words += n
    if len(chunks) > 1 and words < max_words // 4:
        chunks[-2].extend(chunks.pop())
    return chunks
