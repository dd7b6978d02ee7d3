"""Site chrome inside the content element: what is removed before any text is read.

Three layers: elements that are never content (scripts, navs, sidebars, buttons...), the
source's own `drop` selectors, and - only when no content selector matched, i.e. on a site we
know nothing about - class/id words that docs themes use for chrome (pagination, edit links,
breadcrumbs, cookie banners...). The last layer is a guess, so it is kept off known sites.

This runs on the lxml tree, before BeautifulSoup: soupsieve matching ~30 selectors against
every tag cost ~30 ms a page; a plain loop over lxml elements costs ~0.1 ms.
"""
from __future__ import annotations

import re
from typing import Sequence

from lxml import etree

from extractors.html_locate import compiled

# Never content, wherever they sit inside the article.
DROP_TAGS = frozenset(("head", "script", "style", "noscript", "template", "nav", "footer", "form",
                       "button", "input", "select", "textarea", "iframe", "svg"))
DROP_CLASSES = frozenset(("headerlink", "hash-link", "header-anchor", "anchor-link", "sidebar", "toc",
                          "breadcrumbs", "breadcrumb", "skip-link", "sr-only", "visually-hidden",
                          "pagination-nav", "theme-edit-this-page"))
DROP_ROLES = frozenset(("navigation", "search", "contentinfo"))
# A <header> holding a heading is content (Docusaurus puts the page's h1 in one); others are chrome.
_BARE_HEADER = etree.XPath(".//header[not(.//h1 or .//h2 or .//h3 or .//h4)]")
# Inside an article <aside> is often content (docutils renders notes and warnings as
# <aside class="admonition note">); it is chrome when it is mostly links or named like chrome.
_ASIDES = etree.XPath(".//aside")
_VISIBLE_CHARS = etree.XPath("string-length(normalize-space(string(.)))")
_WITH_NAMES = etree.XPath(".//*[@class or @id]")
# Words (parts of a class or id split at - and _) that name chrome in docs themes.
CHROME_WORDS = frozenset((
    "nav", "navbar", "navigation", "sidebar", "toc", "breadcrumb", "breadcrumbs", "footer",
    "pagination", "pager", "cookie", "cookies", "consent", "banner", "announcement", "headerlink",
    "feedback", "searchbox", "search", "skip", "copyright", "sharing",
))
# Whole class/id tokens that are chrome but whose parts are too common to use alone.
CHROME_TOKENS = frozenset((
    "prev", "next", "previous", "prev-link", "next-link", "github-link", "edit-on-github",
    "edit-this-page", "edit-page", "edit-link", "page-navigation", "build-info", "version-warning",
    "version-banner", "table-of-contents", "related", "rst-footer-buttons", "social", "share",
))
# Multi-word chrome names found anywhere inside a class token ("td-page-meta__lastmod").
CHROME_PHRASES = ("last-updated", "last-modified", "lastmod", "edit-this-page", "edit-on-github",
                  "page-meta", "git-revision")
_PARTS = re.compile(r"[-_]+")
_HEADINGS = frozenset(("h1", "h2", "h3", "h4"))


def strip_chrome(root, drop: Sequence[str] = (), *, guess: bool = False) -> None:
    """Remove chrome below the lxml element `root` in place (tails, i.e. following text, stay)."""
    doomed = [el for el in root.iter() if el is not root and always_chrome(el)]
    for sel in drop:
        match = compiled(sel)
        if match is not None:
            doomed.extend(match(root))
    doomed.extend(_BARE_HEADER(root))
    doomed.extend(el for el in _ASIDES(root) if looks_like_chrome(el) or link_share(el) >= 0.5)
    if guess:
        doomed.extend(el for el in _WITH_NAMES(root) if looks_like_chrome(el) and not _in_heading(el))
    for el in doomed:
        if el is not root and el.getparent() is not None:
            el.drop_tree()


def always_chrome(el) -> bool:
    """Tag, class or attribute that is never content (a plain loop: 7x faster than XPath here)."""
    tag = el.tag
    if tag in DROP_TAGS:
        return True
    if not isinstance(tag, str):     # comments, processing instructions
        return False
    classes = (el.get("class") or "").split()
    if classes and not DROP_CLASSES.isdisjoint(classes):
        return True
    if tag == "a" and "anchor" in classes:   # heading permalinks; "anchor" on headings is content
        return True
    return el.get("hidden") is not None or el.get("aria-hidden") == "true" or el.get("role") in DROP_ROLES


def link_share(el) -> float:
    """Share of an element's visible characters that sit inside links."""
    total = _VISIBLE_CHARS(el)
    return sum(_VISIBLE_CHARS(a) for a in el.iter("a")) / total if total else 1.0


def _in_heading(el) -> bool:
    """Links inside headings (Sphinx's "toc-backref") carry the heading's text: never chrome."""
    return any(a.tag in _HEADINGS for a in el.iterancestors())


def looks_like_chrome(el) -> bool:
    if el.tag in _HEADINGS:
        return False
    # An id is often made from heading text ("search-runs"), so only a whole chrome id counts.
    ident = (el.get("id") or "").lower()
    if ident in CHROME_TOKENS or ident in CHROME_WORDS:
        return True
    for token in (el.get("class") or "").lower().split():
        if token in CHROME_TOKENS or any(p in CHROME_WORDS for p in _PARTS.split(token)) \
                or any(p in token for p in CHROME_PHRASES):
            return True
    return False
