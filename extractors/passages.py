"""HTML page -> section-aware passages of its main content, each citable as URL#anchor.

Pipeline (pure, no Scrapy): decode bytes -> lxml parses the page, cuts out the content element
(source `content` selectors, else a generic guess) and strips chrome from it (always-chrome
elements, the source's `drop` selectors, class-name guesses on unknown sites) -> one iterative
walk over that cleaned element splits its text at h1-h4 headings. The walk reads lxml's tree
directly: re-parsing the fragment with BeautifulSoup cost about a quarter of extract + tag time.

A passage is the text under one heading up to the next heading of any level (the gold set's
unit); it carries the heading path (h1 > h2 > h3) and an anchor that exists on the page: the
heading's id, else the id of the <section> it opens (Sphinx), else the id/name of an <a> inside
it, else the anchor of the enclosing heading, else none (the citation is then the page URL).
An invented anchor (a slug of the heading text) would cite a place the page does not have:
Docusaurus gives the page's h1 no id at all.

On release-notes pages ("Release notes", "Changelog", "What's new"...) every release heading
starts a passage, also when the release is an h5/h6 or a paragraph of its own ("**2.11.0**
(2024-02-29)"), so that each release cites its own anchor instead of one giant passage.

Code blocks keep their lines: real Docusaurus renders one <span class="token-line"> per line,
ending in <br>, with no newline characters at all.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator, Sequence

from lxml import etree

from extractors.chrome import strip_chrome
from extractors.html_decode import to_text
from extractors.html_locate import find_content, flatten, page_title, parse_document
from extractors.model import Passage

# Sections longer than this are split (on block boundaries) into passages sharing the anchor,
# so one long page section does not dilute tagging or flood a reviewer. None: never split.
MAX_WORDS: int | None = 400
HEADING_LEVEL = {"h1": 1, "h2": 2, "h3": 3, "h4": 4}
# On release-notes pages only: these also open a section when their text names a release.
RELEASE_LEVEL = {"h5": 5, "h6": 5, "p": 5, "dt": 5}
RELEASE_PAGE = re.compile(r"\b(release[ -]?notes|releases|changelog|change ?log|what'?s new|news|history)\b", re.I)
# "2.11.0", "v2.11.0 (2024-02-29)", "MLflow 2.11.0 - Feb 29, 2024", "Version 1.2", "Release 3.0.0rc1"
RELEASE_HEADING = re.compile(r"^\W*(?:[A-Za-z][\w.-]*\s+){0,2}v?\d+\.\d+(?:\.\d+)*[\w.+-]*(?:\W.{0,60})?$")
# Inside <pre>: these start a new code line (Docusaurus token lines, table-based highlighters).
CODE_LINE_BLOCKS = frozenset(("div", "p", "li", "tr", "table", "dd", "dt"))
# Tags that flow inside a line; every other tag (incl. custom ones like DVC's <admon>) is a block.
INLINE = frozenset((
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em",
    "font", "i", "img", "ins", "kbd", "label", "mark", "q", "s", "samp", "small", "span", "strike",
    "strong", "sub", "sup", "time", "tt", "u", "var", "wbr", "math",
))
CELLS = frozenset(("td", "th"))
# Their text is not page text (BeautifulSoup kept it apart too); chrome removal drops most anyway.
RAW_TEXT = frozenset(("script", "style", "template"))
_WS = re.compile(r"\s+")
_HEADING_JUNK = re.compile(r"[\u00b6\u200b\u200c\u200d\ufeff]")


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
                     drop: Sequence[str] = ()) -> tuple[etree._Element | None, str]:
    """(the content element with chrome removed, page title)."""
    doc = parse_document(text)
    if doc is None:
        return None, ""
    element, matched = find_content(doc, content)
    strip_chrome(element, drop, guess=not matched)
    return element, page_title(doc)


def _contents(el) -> Iterator:
    """An element's children in document order, text included: its text, then each child element
    (comments too) followed by that child's tail - lxml keeps text in .text and .tail."""
    if el.text and el.tag not in RAW_TEXT:
        yield el.text
    for child in el:
        yield child
        if child.tail:
            yield child.tail


def _strings(el) -> Iterator[str]:
    """The text inside `el` (not its tail), in document order; no comments, scripts or styles."""
    stack = [_contents(el)]
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif isinstance(node, str):
            yield node
        elif isinstance(node.tag, str):
            stack.append(_contents(node))


def text_of(el) -> str:
    return "".join(_strings(el))


def _classes(el) -> list[str]:
    return (el.get("class") or "").split()


def walk_sections(root, title: str = "") -> list[_Section]:
    """Split the element's text at h1-h4 headings; empty sections are left out.

    Iterative (an explicit stack) so that deeply nested markup cannot hit the recursion limit.
    """
    sections = [_Section(path=(title,) if title else (), anchor="")]
    levels: list[tuple[int, str, str]] = []     # (level, heading text, anchor) of open headings
    first_h1 = next(root.iter("h1"), None)
    releases = bool(RELEASE_PAGE.search(title) or (first_h1 is not None and RELEASE_PAGE.search(text_of(first_h1))))
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

    stack: list[tuple[Iterator, str]] = [(iter((root,)), "")]
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
        if isinstance(node, str):
            line.append(node)
            line_has_text = line_has_text or not node.isspace()
            continue
        tag = node.tag
        if not isinstance(tag, str):     # a comment or processing instruction
            continue
        level = HEADING_LEVEL.get(tag)
        if not level and releases and tag in RELEASE_LEVEL and not tables:
            level = RELEASE_LEVEL[tag] if _release_heading(node) else None
        if level:
            text = heading_text(node)
            if text:
                end_line()
                while levels and levels[-1][0] >= level:
                    levels.pop()
                # no id of its own: cite the enclosing section's anchor (else the page itself)
                anchor = own_anchor(node, root) or next((a for _, _, a in reversed(levels) if a), "")
                levels.append((level, text, anchor))
                sections.append(_Section(tuple(t for _, t, _ in levels), anchor))
                continue
        if tag == "pre":
            end_line()
            code = code_text(node)
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
        stack.append((_contents(node), tag))
    end_line()
    return [s for s in sections if s.blocks]


def heading_text(h) -> str:
    return _WS.sub(" ", _HEADING_JUNK.sub("", text_of(h))).strip()


def code_text(pre) -> str:
    """The lines of a code block: <br> and line elements (token lines, divs) end a line, as
    newline characters do. Spaces inside a line are normalised; empty lines are left out."""
    parts: list[str] = []
    stack = [_contents(pre)]      # a flat walk: no recursion however deep the markup
    while stack:
        node = next(stack[-1], None)
        if node is None:
            stack.pop()
        elif isinstance(node, str):
            parts.append(node)
        elif isinstance(node.tag, str):
            if node.tag == "br" or node.tag in CODE_LINE_BLOCKS or "token-line" in _classes(node):
                parts.append("\n")
            stack.append(_contents(node))
    return "\n".join(filter(None, (_WS.sub(" ", ln).strip() for ln in "".join(parts).splitlines())))


def _release_heading(node) -> bool:
    """An h5/h6, paragraph or <dt> on a release-notes page whose whole text names a release."""
    text = _WS.sub(" ", text_of(node)).strip()
    if not text or len(text) > 80 or not RELEASE_HEADING.match(text):
        return False
    if node.tag in ("h5", "h6"):
        return True
    # a paragraph is a heading only when it is all emphasis or code ("**2.11.0** (Feb 2024)")
    strong = next(node.iter("strong", "b", "code"), None)
    return strong is not None and RELEASE_HEADING.match(_WS.sub(" ", text_of(strong)).strip() or "-") is not None


def own_anchor(h, root=None) -> str:
    """Where the page itself lets a link land on this heading: its id, else the id of the section
    it opens, else the id/name of an <a> inside it; "" when the page has none.

    Sphinx headings with a "toc-backref" link still cite their section's id (where the page's
    own permalink points), not the table-of-contents entry the backref leads to.
    """
    return (h.get("id") or "").strip() or _section_id(h, root) or _link_id(h)


def _section_id(h, root=None) -> str:
    """Id of the <section> (or Sphinx's older div.section) that this heading opens. Only
    sections inside the content element `root` count (a page-wide wrapper opens no heading)."""
    for parent in h.iterancestors():
        if parent.tag == "section" or "section" in _classes(parent):
            if parent.get("id") and next(parent.iter(*HEADING_LEVEL), None) is h:
                return parent.get("id").strip()
            return ""
        if parent is root:
            break
    return ""


def _link_id(h) -> str:
    for a in h.iter("a"):
        ident = (a.get("id") or a.get("name") or "").strip()
        if ident:
            return ident
    return ""


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
