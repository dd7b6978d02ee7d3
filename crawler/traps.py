"""Link traps: URL spaces without end (calendars, ?d= and ?page= links, relative links that nest
forever), which would otherwise fill a crawl, the page limit and the evidence with junk.

Three limits per source, all in the sources file (knowledge.domain.sources):
  keep_query = false   query strings are dropped from links (/cal?d=2024-01-01 is /cal), unless
                       the source says its pages differ by query
  max_depth  = 12      links deeper than this many path segments are not followed (and the pages
                       leading down to one are a trap when they are the same page nesting itself)
  max_similar = 50     at most this many pages whose bytes differ only in their digits: a larger
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

MAX_DEPTH = 12        # real docs: 7 at most in the reference corpus
# Real docs have a few near-identical pages (3 at most in the corpus; test sites have more); a trap
# costs at most this many requests and leaves no evidence either way, so the cap errs on the high side.
MAX_SIMILAR = 50
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
        self.groups: dict[str, list[str]] = {}         # fingerprint -> pages read this crawl
        self.fingerprints: dict[str, str] = {}         # page -> fingerprint
        self.traps: dict[str, str] = {}                # fingerprint of a trap group -> reason
        self.saved_then_trapped: dict[str, str] = {}   # page -> reason, for pages saved before

    def link(self, url: str) -> str:
        """The URL to follow for a link (its query dropped unless the source keeps queries)."""
        return url if self.keep_query else drop_query(url)

    def too_deep(self, url: str) -> str | None:
        """None for a link within max_depth; else the reason. When the pages leading down to it are
        near-identical (the same page nesting itself: /a/more/more/...), they are a trap too."""
        depth = path_depth(url)
        if depth <= self.max_depth:
            return None
        reason = f"{TRAP_REASON}: {depth} path segments, more than max_depth = {self.max_depth}; not followed"
        ancestors = [u for u in self.fingerprints if url.startswith(u + "/")]
        if ancestors:
            fp = self.fingerprints[max(ancestors, key=len)]
            nested = [u for u in self.groups[fp] if url.startswith(u + "/")]
            if len(nested) >= 2:
                self._trap(fp, reason)
        return reason

    def similar(self, url: str, fp: str) -> str | None:
        """None for a normal page; the reason when it belongs to a group of too many near-identical
        pages (pages of that group saved earlier in the crawl are remembered for reclassification).
        `fp`: the page body's `fingerprint` (read once per body, crawler.reads)."""
        self.fingerprints[url] = fp
        group = self.groups.setdefault(fp, [])
        if url not in group:
            group.append(url)
        if fp in self.traps:
            return self.traps[fp]
        if len(group) <= self.max_similar:
            return None
        return self._trap(fp, f"{TRAP_REASON}: more than max_similar = {self.max_similar} pages differing only "
                              f"in their numbers, like {group[0]}; not evidence")

    def _trap(self, fp: str, reason: str) -> str:
        """The group `fp` is a trap: its pages saved so far are to be reclassified."""
        if fp not in self.traps:
            self.traps[fp] = reason
            for page in self.groups[fp]:
                self.saved_then_trapped.setdefault(page, reason)
        return self.traps[fp]
