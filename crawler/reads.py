"""What the crawler reads from a page's body, kept by content so a 304 costs no parsing.

For every page it saves, the crawler reads three things from the body: the links to follow, the
near-duplicate fingerprint (crawler.traps) and the release the page states (extractors.docversion).
They depend only on the bytes, so they are stored by the body's sha256 (table page_reads) and a
page answered 304 Not Modified takes them from there instead of decompressing and parsing its
stored copy: an unchanged week then costs little more than its requests.

A page with a `<base href>` resolves its links against that base, not its URL: its links are not
kept (None), and a 304 reads its stored copy as before.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from scrapy.http import HtmlResponse
from scrapy.utils.response import get_base_url

from crawler.traps import fingerprint
from extractors.docversion import doc_version

NOT_LINKS = ("mailto:", "javascript:", "tel:", "data:")


def _reader_version() -> str:
    """A hash of the code that reads a page (this module, the trap fingerprint, doc_version): any
    edit to it makes older rows of page_reads be ignored and read again - safer than a version
    number someone must remember to bump. (knowledge.ops.prune drops the rows of dropped bodies.)"""
    h = hashlib.sha256()
    for module in (__name__, "crawler.traps", "extractors.docversion"):
        origin = importlib.util.find_spec(module).origin
        h.update(Path(origin).read_bytes() if origin else module.encode())
    return h.hexdigest()[:12]


@dataclass(frozen=True)
class PageReads:
    fingerprint: str
    doc_version: str | None
    links: tuple[str, ...] | None     # hrefs as written, deduplicated, without fragments


def page_links(response: HtmlResponse) -> tuple[str, ...]:
    """The page's hrefs as written (stripped, fragment dropped, once each, in page order)."""
    # lxml directly: a docs sidebar repeats hundreds of links on every page, so this is hot.
    hrefs = response.selector.root.xpath("//a/@href | //area/@href", smart_strings=False)
    return tuple(h for h in dict.fromkeys(h.strip().split("#", 1)[0] for h in hrefs)
                 if h and not h.startswith(NOT_LINKS))


def read_page(response: HtmlResponse, body: bytes) -> PageReads:
    """Pure: what the crawler needs from a page it saves (`body`: the bytes stored for it)."""
    if not isinstance(response, HtmlResponse) or response.body is not body:
        response = HtmlResponse(url=response.url, body=body, encoding="utf-8")   # read as a 304 will
    own_base = get_base_url(response) != response.url
    return PageReads(fingerprint(body), doc_version(body), None if own_base else page_links(response))


READER = _reader_version()


def load_reads(store, sha: str) -> PageReads | None:
    row = store.conn.execute("SELECT fingerprint, doc_version, links FROM page_reads WHERE sha256 = ? AND reader = ?",
                             (sha, READER)).fetchone()
    if row is None:
        return None
    links = tuple(json.loads(zlib.decompress(row[2]))) if row[2] is not None else None
    return PageReads(row[0], row[1], links)


def save_reads(store, sha: str, reads: PageReads) -> None:
    """Inside the caller's transaction. The first reading of a body stays (it is the same body)."""
    links = zlib.compress(json.dumps(list(reads.links)).encode(), 6) if reads.links is not None else None
    store.conn.execute("INSERT OR IGNORE INTO page_reads (sha256, reader, fingerprint, doc_version, links) "
                       "VALUES (?, ?, ?, ?, ?)", (sha, READER, reads.fingerprint, reads.doc_version, links))
