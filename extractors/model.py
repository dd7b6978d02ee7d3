"""Plain data types shared by the extractors, the store and the diff.

Kept free of Scrapy, spaCy and lxml so every layer can import them cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Passage:
    """One section-aware piece of a page's main content.

    `url` is the page URL without fragment; `anchor` is the id of the nearest heading
    (or enclosing section) so that `url#anchor` cites it. `heading_path` is h1 > h2 > h3.
    """

    url: str
    anchor: str
    heading_path: tuple[str, ...]
    text: str
    position: int = 0          # order of the passage within its page
    has_code: bool = False     # contains a code block (commands, decorators, options)
    has_table: bool = False

    @property
    def citation(self) -> str:
        return f"{self.url}#{self.anchor}" if self.anchor else self.url


@dataclass(frozen=True)
class Tag:
    """A passage's match against one checklist criterion, with the terms that explain it."""

    criterion: str
    score: float
    terms: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Fact:
    """A normalised, queryable fact found in a passage, e.g. ("storage_backend", "azure-blob").

    `criterion` is the checklist criterion the fact informs; `term` is the text that matched.
    """

    category: str
    value: str
    criterion: str
    term: str
