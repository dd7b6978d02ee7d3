"""Find a page's main-content element cheaply, with lxml.

Parsing a whole 40 KiB docs page with BeautifulSoup costs ~11 ms; lxml parses it in ~0.4 ms.
So lxml parses the page and cuts out the content element (the source's `content` selectors,
else a generic guess); the passage walk reads that element where it is (extractors.passages).
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Sequence

import lxml.html
from lxml import etree
from lxml.cssselect import CSSSelector

# Generic main-content containers, most specific first; the first that holds most of the page's
# non-chrome text wins. `article` comes first because docs themes put the article inside <main>
# next to prev/next links and edit buttons.
GENERIC_CONTENT = ("article", "[role=main]", "main", "#content", ".content", "#main-content",
                   ".main-content", ".markdown-body", ".document", ".rst-content", ".post-content",
                   ".entry-content", "#main", ".main")
SEMANTIC = ("article", "[role=main]", "main")
# Elements that are site chrome wherever they sit (used to measure the page's real text).
_CHROME = etree.XPath(
    "//nav | //aside | //header | //footer | //*[@role='navigation' or @role='banner' or "
    "@role='contentinfo' or @role='search' or @role='complementary'] | //script | //style | "
    "//noscript | //template")
_BLOCK_TEXT = ("p", "pre", "li", "td", "dd", "blockquote", "h1", "h2", "h3", "h4")
# Flattening (last resort for absurd or self-swallowing markup): keep the tags that matter for
# text and for recognising chrome, without attributes (an unclosed quote in one swallows the
# page); drop every other tag (deep nesting is almost always divs and spans) and comment marks.
_KEEP = ("h1|h2|h3|h4|h5|h6|p|pre|br|ul|ol|li|table|tr|td|th|title|head|body|script|style|noscript|"
         "template|nav|aside|header|footer|main|article|form|button|select|textarea|iframe|svg")
_KEPT_TAG = re.compile(rf"<(/?)({_KEEP})\b[^>]*>", re.I)
_OTHER_TAG = re.compile(rf"</?(?!(?:{_KEEP})\b)([a-zA-Z][\w-]*)[^>]*>", re.I)
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_INLINE_TAGS = frozenset(("a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "data", "del", "dfn", "em",
                          "font", "i", "ins", "kbd", "mark", "q", "s", "samp", "small", "span", "strike",
                          "strong", "sub", "sup", "time", "tt", "u", "var", "wbr"))
_WRAP_TAG = re.compile(r"<(/?)(div|span|section)\b[^>]*>", re.I)
_ANY_TAG = re.compile(r"</?(?!(?:title|script|style)\b)[a-zA-Z][^>]*>")
_OPEN_TITLE = re.compile(r"(<title[^>]*>)([^<]*)", re.I)
# A candidate must hold at least this share of the page's non-chrome, non-link words.
MIN_SHARE = 0.5


@lru_cache(maxsize=256)
def compiled(selector: str) -> CSSSelector | None:
    """A CSS selector compiled once; None for a selector lxml cannot read (bad user config)."""
    try:
        return CSSSelector(selector)
    except Exception:  # cssselect raises several error types for unsupported syntax
        return None


def parse_document(text: str) -> lxml.html.HtmlElement | None:
    """lxml tree of the page; None if there is nothing to parse.

    libxml2 stops building a tree nested deeper than 256 levels (2048 with huge_tree) and loses
    everything after that point. A page that deep is hostile or broken: we retry with the
    larger limit, then with the empty wrappers collapsed (the page's own structure, classes and
    ids intact, so its content selectors and chrome rules still apply), and failing that with the
    nesting markup stripped, keeping the text.
    An unclosed <title> that swallowed the page is closed and the page parsed again.
    """
    if not text.strip():
        return None
    # (markup, huge_tree) to try in turn; the rewrites are built only when needed
    attempts = ((lambda: text, False), (lambda: text, True), (lambda: collapse_wrappers(text), True),
                (lambda: flatten(text), True), (lambda: _ANY_TAG.sub(" ", text), True))
    doc = None
    for markup, huge in attempts:
        parser = lxml.html.HTMLParser(huge_tree=huge)
        try:
            doc = lxml.html.document_fromstring(markup(), parser=parser)
        except (etree.ParserError, ValueError):
            return doc
        last = parser.error_log.last_error     # the depth error stops the parser: it comes last
        if last is None or "depth" not in (last.message or "").lower():
            break
    return _unswallowed(doc, text)


def flatten(text: str) -> str:
    """The page with only text-bearing and chrome tags left, all attributes removed."""
    text = _COMMENT.sub(" ", text).replace("<!--", " ")     # an unclosed comment hides the rest
    # An inline tag vanishes without a trace ("<b>multi</b>processing" stays one word); any other
    # dropped tag separates words.
    dropped = _OTHER_TAG.sub(lambda m: "" if m.group(1).lower() in _INLINE_TAGS else " ", text)
    return _KEPT_TAG.sub(r"<\1\2>", dropped)


def collapse_wrappers(text: str, keep: int = 8) -> str:
    """The page with long chains of empty wrappers cut short: `<div><div>...<article>` nested
    100,000 deep becomes `keep` outer and `keep` inner wrappers around the same article.

    A wrapper is a div/span/section whose only content is one other wrapper (whitespace aside);
    a chain of them carries no text and no structure. Everything else - the article's own
    elements with their classes and ids - stays as it was, so the page reads exactly as without
    the chain. Tags are matched with a stack over the wrapper tags alone (a pure string pass,
    no recursion): this only runs on pages too deep for libxml2.
    """
    toks = [(m.start(), m.end(), m.group(2).lower(), bool(m.group(1))) for m in _WRAP_TAG.finditer(text)]
    match = [-1] * len(toks)
    stack: list[int] = []
    for i, (_s, _e, name, close) in enumerate(toks):
        if not close:
            stack.append(i)
        elif stack and toks[stack[-1]][2] == name:
            match[stack.pop()] = i

    def blank(a: int, b: int) -> bool:
        return not text[a:b].strip()

    def wrapper(i: int) -> bool:   # open tag i holds exactly the wrapper i + 1, nothing else
        j = i + 1
        return (j < len(toks) and not toks[i][3] and not toks[j][3] and match[i] > 0 and match[j] > 0
                and match[i] == match[j] + 1 and blank(toks[i][1], toks[j][0])
                and blank(toks[match[j]][1], toks[match[i]][0]))

    dropped: set[int] = set()
    i = 0
    while i < len(toks):
        if not wrapper(i):
            i += 1
            continue
        start = i
        while wrapper(i):
            i += 1
        chain = range(start + keep, i - keep)      # i is the innermost element: never dropped
        for k in chain:
            dropped.add(k)
            dropped.add(match[k])
    if not dropped:
        return text
    out, last = [], 0
    for k in sorted(dropped):
        out.append(text[last:toks[k][0]])
        last = toks[k][1]
    out.append(text[last:])
    return "".join(out)


def _unswallowed(doc: lxml.html.HtmlElement, text: str) -> lxml.html.HtmlElement:
    """An unclosed <title> swallows the whole page as its text (HTML parsing rules, browsers do
    the same). The page's text is still there, so close the title and parse again."""
    if "<" not in (doc.findtext("head/title") or ""):
        return doc
    body = doc.find("body")
    if body is not None and body.text_content().strip():
        return doc
    try:
        return lxml.html.document_fromstring(_OPEN_TITLE.sub(r"\1\2</title>", text, count=1),
                                             parser=lxml.html.HTMLParser(huge_tree=True))
    except (etree.ParserError, ValueError):
        return doc


def page_title(doc: lxml.html.HtmlElement) -> str:
    """The page's <title> without the site-name suffix ("Tracking — MLflow docs" -> "Tracking")."""
    title = " ".join((doc.findtext("head/title") or "").split())
    for sep in (" | ", " — ", " – ", " · ", " :: "):
        title = title.split(sep)[0]
    return title.strip()


_TEXT = etree.XPath(".//text()", smart_strings=False)
_LINK_TEXT = etree.XPath(".//a//text()", smart_strings=False)


def _text_len(el) -> int:
    return len(" ".join(_TEXT(el)).split())


def _prose_len(el) -> int:
    """Words outside links: what separates an article from a sidebar that lists every page."""
    return _text_len(el) - len(" ".join(_LINK_TEXT(el)).split())


def find_content(doc: lxml.html.HtmlElement, selectors: Sequence[str] = ()) -> tuple[object, bool]:
    """(content element, True if one of `selectors` matched). Never None for a parsed page."""
    for sel in selectors:
        match = compiled(sel)
        found = match(doc) if match is not None else []
        if found:
            return found[0], True
    return generic_content(doc), False


def generic_content(doc: lxml.html.HtmlElement):
    """Best guess at the main content of a page from an unknown generator."""
    body = doc.find("body")
    if body is None:
        body = doc
    chrome = _CHROME(body)
    chrome_set = set(chrome)
    outer = [el for el in chrome if not any(a in chrome_set for a in el.iterancestors())]
    total = _prose_len(body) - sum(_prose_len(el) for el in outer)
    if total <= 0:
        return body
    first = None
    for sel in GENERIC_CONTENT:
        found = [el for el in compiled(sel)(body) if el not in chrome_set]
        if found:
            best = max(found, key=_prose_len)
            if _prose_len(best) >= MIN_SHARE * total:
                return best
            if first is None and sel in SEMANTIC and _text_len(best):
                first = best
    # Short pages: a few words of article next to more words of unmarked chrome still beat
    # a guess, as long as the page marked its article up.
    best = first if first is not None else _densest(body, chrome_set)
    return body if best is None else best


def _densest(body, chrome: set):
    """Readability-style guess: the container whose paragraphs hold the most text.

    Each text block credits its words to its parent (and half to the grandparent); link words
    count against, so link lists (sidebars, footers) lose to prose.
    """
    score: dict = {}
    for block in body.iter(*_BLOCK_TEXT):
        if any(a in chrome for a in block.iterancestors()):
            continue
        prose = _prose_len(block)
        value = prose - 2 * (_text_len(block) - prose)
        parent = block.getparent()
        if parent is None or value <= 0:
            continue
        score[parent] = score.get(parent, 0) + value
        grand = parent.getparent()
        if grand is not None:
            score[grand] = score.get(grand, 0) + value / 2
    return max(score, key=score.get) if score else None
