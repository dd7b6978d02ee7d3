"""Site-wide moves: many pages whose addresses changed by one prefix (/doc/x -> /x).

Pure functions, no store access. A documentation site that moves (dvc.org/doc/* to doc.dvc.org/*,
a docs root renamed) answers 404 at every old address while the same pages appear at new ones.
Page by page that looks like hundreds of removals and additions; as one rule it is a single fact
for crawl health ("198 pages moved from /doc/* to /*"), and the diff matches each passage at its
mapped address, so the passages themselves are unchanged.

A move is recognised from addresses alone: an old address that vanished and a present address
share their tail (/doc/start/x and /start/x share start/x), and the prefix pair that explains the
most vanished pages wins. It counts as a site move only when it explains at least MIN_PAGES pages
and at least half of the vanished pages under its old prefix; two renamed pages are page moves
(the passage matcher reports those one by one).
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable

MIN_PAGES = 5


@dataclass(frozen=True)
class SiteMove:
    old_prefix: str                       # "/doc/" (always ends with "/"; "/" is the site root)
    new_prefix: str                       # "/"
    pages: tuple[tuple[str, str], ...]    # (old path, new path), sorted

    @property
    def label(self) -> str:
        return f"{self.old_prefix}* to {self.new_prefix}*"

    def to_dict(self) -> dict:
        return {"from": self.old_prefix, "to": self.new_prefix, "pages": len(self.pages),
                "paths": [list(p) for p in self.pages]}


def _segments(path: str) -> tuple[str, ...]:
    return tuple(s for s in path.split("?", 1)[0].split("/") if s)


def _prefix(segs: tuple[str, ...]) -> str:
    return "/" + "".join(s + "/" for s in segs)


def find_site_moves(vanished: Iterable[str], present: Iterable[str], min_pages: int = MIN_PAGES) -> list[SiteMove]:
    """Prefix moves that explain vanished paths by present ones, most pages first."""
    present_by_key: dict[tuple[str, ...], str] = {}
    for p in sorted(present):
        if "?" not in p:                  # query pages are not moved by a prefix rule
            present_by_key.setdefault(_segments(p), p)
    gone = sorted({v for v in vanished if "?" not in v and _segments(v) not in present_by_key})
    if len(gone) < min_pages or not present_by_key:
        return []
    by_suffix: dict[tuple[str, ...], set[tuple[str, ...]]] = defaultdict(set)
    for segs in present_by_key:
        for j in range(len(segs)):
            by_suffix[segs[j:]].add(segs[:j])
    votes: Counter = Counter()
    for v in gone:
        segs = _segments(v)
        for k in range(len(segs)):        # the longest shared tail decides
            prefixes = by_suffix.get(segs[k:])
            if prefixes:
                for new in prefixes:
                    votes[(segs[:k], new)] += 1
                break
    moves, taken = [], set()
    for (old, new), n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
        if n < min_pages:
            break
        under = [v for v in gone if v not in taken and _segments(v)[:len(old)] == old]
        pages = []
        for v in under:
            target = present_by_key.get(new + _segments(v)[len(old):])
            if target is not None:
                pages.append((v, target))
        if len(pages) >= min_pages and 2 * len(pages) >= len(under):
            taken.update(v for v, _ in pages)
            moves.append(SiteMove(_prefix(old), _prefix(new), tuple(sorted(pages))))
    return moves


def path_map(moves: Iterable[SiteMove]) -> dict[str, str]:
    """{old path: new path} for every page the moves explain."""
    return {old: new for m in moves for old, new in m.pages}
