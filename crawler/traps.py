"""Link traps: URL spaces without end (calendars, ?d= and ?page= links, relative links that nest
forever), which would otherwise fill a crawl, the page limit and the evidence with junk.

Three limits per source, all in the sources file (knowledge.domain.sources):
  keep_query = false   query strings are dropped from links (/cal?d=2024-01-01 is /cal), unless
                       the source says its pages differ by query
  max_depth  = 12      links deeper than this many path segments are not followed
  max_similar = 10     at most this many pages whose bytes differ only in their digits: a larger
                       group is generated, not written (page 1, 2, 3, ... of nothing)

A page caught by a limit gets the verdict 'skipped' with a reason starting "link trap": crawl
health that `collector diff` lists, never evidence (knowledge.evidence.read.run_pages). Pages of
a near-duplicate group that were saved before the group grew too large are reclassified when the
crawl ends (crawler.pipelines).
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import urlsplit, urlunsplit

from knowledge.store import TRAP_REASON

MAX_DEPTH = 12
MAX_SIMILAR = 10
_DIGITS = re.compile(rb"[0-9]+")


def drop_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")) if parts.query else url


def path_depth(url: str) -> int:
    return len([seg for seg in urlsplit(url).path.split("/") if seg])


def fingerprint(body: bytes) -> str:
    """Same for pages whose bytes differ only in their numbers (day 5 / day 6, page 2 / page 3)."""
    return hashlib.sha1(_DIGITS.sub(b"0", body)).hexdigest()


class TrapGuard:
    """The limits for one source during one crawl."""

    def __init__(self, source: dict):
        self.keep_query = bool(source.get("keep_query", False))
        self.max_depth = int(source.get("max_depth") or MAX_DEPTH)
        self.max_similar = int(source.get("max_similar") or MAX_SIMILAR)
        self.groups: dict[str, list[str]] = {}
        self.traps: set[str] = set()          # fingerprints of groups found to be traps
        self.saved_then_trapped: dict[str, str] = {}   # page -> reason, for pages saved before

    def link(self, url: str) -> str:
        """The URL to follow for a link (its query dropped unless the source keeps queries)."""
        return url if self.keep_query else drop_query(url)

    def too_deep(self, url: str) -> str | None:
        depth = path_depth(url)
        if depth <= self.max_depth:
            return None
        return f"{TRAP_REASON}: {depth} path segments, more than max_depth = {self.max_depth}; not followed"

    def similar(self, url: str, body: bytes) -> str | None:
        """None for a normal page; the reason when it belongs to a group of too many near-identical
        pages (pages of that group saved earlier in the crawl are remembered for reclassification)."""
        fp = fingerprint(body)
        group = self.groups.setdefault(fp, [])
        if url not in group:
            group.append(url)
        if len(group) <= self.max_similar:
            return None
        reason = (f"{TRAP_REASON}: more than max_similar = {self.max_similar} pages differing only in their "
                  f"numbers, like {group[0]}; not evidence")
        if fp not in self.traps:
            self.traps.add(fp)
            for earlier in group[:-1]:
                self.saved_then_trapped[earlier] = reason
        return reason
