"""Site chrome inside the content element: what is removed before any text is read.

Three layers: elements that are never content (scripts, navs, sidebars, buttons...), the
source's own `drop` selectors, and - only when no content selector matched, i.e. on a site we
know nothing about - class/id words that docs themes use for chrome (pagination, edit links,
breadcrumbs, cookie banners...). The last layer is a guess, so it is kept off known sites.

Widgets whose labels are chrome but whose content is not: every panel of a tab group is content
(the AWS Batch variant of a command matters as much as the Kubernetes one shown by default), so
hidden panels are shown and each is labelled with its tab's name before the tab bar is removed;
an admonition's generic title ("info", "tip", "Note") and "[source]" links are dropped.

This runs on the lxml tree: soupsieve matching ~30 selectors against
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

# Admonition title elements: Sphinx/docutils, Docusaurus 2 ("admonition-heading") and Docusaurus 3
# (CSS-module classes such as "admonitionHeading_tbUL"). Only a generic kind word is chrome; a
# custom title ("Breaking change in 2.0") is content and stays.
ADMONITION_TITLE_CLASSES = frozenset(("admonition-title", "admonition-heading"))
ADMONITION_TITLE_PREFIXES = ("admonitionHeading_", "admonitionHeading-")
ADMONITION_KINDS = frozenset((
    "note", "tip", "info", "caution", "warning", "danger", "important", "hint", "attention", "error",
    "see also", "seealso", "todo", "success", "example", "abstract", "question", "bug", "failure",
    "deprecated", "experimental", "notes", "tips",
))
# Link texts that point at source code or API pages next to a signature: never prose.
SOURCE_LINKS = frozenset(("[source]", "[docs]", "[view source]", "[code]"))
_TAB_LABEL_CLASS = "collector-tab-label"


def strip_chrome(root, drop: Sequence[str] = (), *, guess: bool = False) -> None:
    """Remove chrome below the lxml element `root` in place (tails, i.e. following text, stay)."""
    unfold_tabs(root)
    doomed = [el for el in root.iter() if el is not root and (always_chrome(el) or widget_chrome(el))]
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


def widget_chrome(el) -> bool:
    """An admonition's generic title, or a "[source]" link next to an API signature."""
    tag = el.tag
    if tag == "a":
        return _text(el).lower() in SOURCE_LINKS
    classes = (el.get("class") or "").split()
    if classes and (not ADMONITION_TITLE_CLASSES.isdisjoint(classes)
                    or any(c.startswith(ADMONITION_TITLE_PREFIXES) for c in classes)):
        return _text(el).lower().rstrip(":") in ADMONITION_KINDS
    return False


def _text(el) -> str:
    return " ".join(el.text_content().split())


# ------------------------------------------------------------------------------ tab groups
_TABLISTS = etree.XPath(".//*[@role='tablist']")
_PANELS = etree.XPath(".//*[@role='tabpanel']")


def unfold_tabs(root) -> None:
    """Show every panel of each tab group, labelled "Tab: NAME", and remove the tab bar.

    Docusaurus (and sphinx-tabs, Bootstrap...) render every panel, all but one `hidden`. A tab is
    paired with its panel by `aria-controls` / `aria-labelledby` when the page says, else by order
    among the panels of its group (the panels below the tab bar's container that are not nested
    in another panel of that container).
    """
    for tablist in _TABLISTS(root):
        if tablist.getparent() is None:     # inside a tab bar already removed
            continue
        tabs = [t for t in tablist.iter() if t is not tablist and t.get("role") == "tab"]
        for tab, panel in zip(tabs, _panels_of(root, tablist, tabs)):
            if panel is None:
                continue
            label = _text(tab)
            for attr in ("hidden", "aria-hidden"):
                panel.attrib.pop(attr, None)
            if label:
                p = etree.Element("p")
                p.set("class", _TAB_LABEL_CLASS)
                p.text = f"Tab: {label}"
                p.tail, panel.text = panel.text, None
                panel.insert(0, p)
        tablist.drop_tree()


def _panels_of(root, tablist, tabs) -> list:
    by_id = {p.get("id"): p for p in _PANELS(root) if p.get("id")}
    controlled = [by_id.get(t.get("aria-controls")) for t in tabs]
    if tabs and all(p is not None for p in controlled):
        return controlled
    labelled = {p.get("aria-labelledby"): p for p in _PANELS(root) if p.get("aria-labelledby")}
    if tabs and all(t.get("id") in labelled for t in tabs):
        return [labelled[t.get("id")] for t in tabs]
    container = tablist.getparent()
    for _ in range(3):      # the group's container: the nearest ancestor that holds panels
        panels = _top_panels(container)
        if panels or container is root or container.getparent() is None:
            return panels
        container = container.getparent()
    return _top_panels(container)


def _top_panels(container) -> list:
    out = []
    for panel in _PANELS(container):
        parent = panel.getparent()
        while parent is not None and parent is not container and parent.get("role") != "tabpanel":
            parent = parent.getparent()
        if parent is container:
            out.append(panel)
    return out


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
