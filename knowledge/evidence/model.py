"""What one piece of evidence is: a (passage, criterion) pair with its citation and provenance."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

_WS = re.compile(r"\s+")


def normalise_text(text: str) -> str:
    return _WS.sub(" ", text).strip()


def text_hash(text: str) -> str:
    return hashlib.sha1(normalise_text(text).lower().encode()).hexdigest()[:16]


@dataclass
class Evidence:
    """One (passage, criterion) pair, with its citation and provenance."""

    tool: str
    criterion: str
    url: str            # absolute page URL, no fragment
    path: str           # page path, stable across mirrors
    anchor: str
    heading_path: list[str]
    text: str
    text_hash: str
    score: float
    terms: list[str]
    run_id: int
    fetched_at: str
    position: int
    passage_id: int
    facts: list[dict] = field(default_factory=list)
    carried: str | None = None   # this run's verdict when the content is an earlier run's (failed, gone once, ...)

    @property
    def citation(self) -> str:
        return f"{self.url}#{self.anchor}" if self.anchor else self.url

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["url"] = self.citation
        d["page_url"] = self.url
        d["run"] = d.pop("run_id")
        d["run_id"] = d["run"]
        return d
