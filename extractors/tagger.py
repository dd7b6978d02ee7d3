"""STUB (to be replaced by the tagging engineer): passages -> criterion tags and facts."""
from __future__ import annotations

from extractors.model import Fact, Tag

KEYWORDS = {"storage": ["s3", "storage", "remote"], "tracking": ["metric", "param", "experiment"],
            "scaling": ["kubernetes", "batch", "cluster"], "serving": ["serve", "deploy"]}


class Tagger:
    def tag(self, text: str, heading_path: tuple[str, ...] = ()) -> tuple[list[Tag], list[Fact]]:
        low = (" ".join(heading_path) + " " + text).lower()
        tags = [Tag(c, 1.0, tuple(w for w in ws if w in low)) for c, ws in KEYWORDS.items()
                if any(w in low for w in ws)]
        facts = [Fact("storage_backend", "s3", "storage", "S3")] if "s3" in low else []
        return tags, facts

    def tag_many(self, items):
        return [self.tag(t, h) for t, h in items]


_TAGGER: Tagger | None = None


def get_tagger() -> Tagger:
    global _TAGGER
    if _TAGGER is None:
        _TAGGER = Tagger()
    return _TAGGER
