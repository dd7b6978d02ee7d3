"""Bytes from the crawl -> the text a browser would show, and clean str that lxml always accepts.

Pages arrive with missing, wrong or lying charsets, binary garbage and control characters; none
of that may raise. The encoding is found as browsers do (WHATWG): a byte-order mark, else the
HTTP Content-Type charset, else a <meta> (or XML) declaration, else detection. w3lib.encoding
(Scrapy's own decoder) reads the BOM, the header and the declarations; on top of it come the
HTML standard's corrections it lacks (the label "utf-16" means UTF-16LE; a <meta> claiming
UTF-16/32 means UTF-8) and a detection step (strict UTF-8, UTF-16 without a BOM, mostly-UTF-8,
else windows-1252, a browser's default for Western pages).

The store keeps the page bytes as received whenever they read the same without the HTTP header
(almost always: the page is UTF-8 or declares its charset itself). A page whose charset only the
header names is stored as UTF-8 with a BOM (`for_storage`), so evidence rebuilt from the store
later reads exactly what the browser read. A body that is not text at all (`looks_binary`) is
not a page: the crawler records a failed fetch and keeps the page's last good content.
"""
from __future__ import annotations

import codecs
import re

from w3lib.encoding import html_body_declared_encoding, http_content_type_encoding, read_bom, to_unicode

# C0 controls except tab/newline/CR, DEL, C1 controls, lone surrogates: libxml2 rejects or mangles them.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# lxml refuses str input that still carries an XML encoding declaration.
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
# Binary giveaways in decoded text: C0 controls that text never carries (not whitespace, not ESC,
# which hostile-but-textual pages do carry), and replacement characters from undecodable bytes.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1a\x1c-\x1f]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
BINARY_SAMPLE = 65536        # characters looked at
BINARY_CONTROLS = 0.05       # random bytes: ~10 %; text pages, even hostile ones: well under 5 %
BINARY_REPLACED = 0.25       # random bytes read as UTF-8: ~50 %; a mislabelled Latin-1 page: ~1 %


def page_encoding(data: bytes, content_type: str | None = None) -> str:
    """The encoding a browser uses for these bytes, given the HTTP Content-Type header (if any)."""
    bom, _ = read_bom(data)
    if bom:
        return bom
    header = http_content_type_encoding(content_type) if content_type else None
    if header:
        return "utf-16-le" if header == "utf-16" else header     # WHATWG: the label utf-16 is LE
    declared = html_body_declared_encoding(data[:4096])
    if declared:
        # HTML standard: a <meta> claim of UTF-16/32 cannot be true of bytes it was read from as ASCII.
        return "utf-8" if declared.startswith(("utf-16", "utf-32")) else declared
    return detect(data)


def detect(data: bytes) -> str:
    """Encoding of undeclared bytes: UTF-8 if valid, UTF-16 by its zero bytes, mostly-valid UTF-8
    (a stray bad byte among real UTF-8 characters), else windows-1252."""
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    sample = data[:4096]
    if len(sample) >= 64:
        even, odd = sample[0::2].count(0), sample[1::2].count(0)
        if odd > len(sample) * 0.3 and even < len(sample) * 0.05:
            return "utf-16-le"             # ASCII markup as UTF-16LE: every second byte is zero
        if even > len(sample) * 0.3 and odd < len(sample) * 0.05:
            return "utf-16-be"
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = len(_NON_ASCII.findall(text)) - bad     # characters that did decode as UTF-8
    return "utf-8" if bad <= max(1, len(text) // 1000) and good >= bad else "cp1252"


def decode(data: bytes, content_type: str | None = None) -> str:
    """The page's text as a browser decodes it (BOM removed, undecodable bytes as U+FFFD); never raises."""
    return _decode_as(data, page_encoding(data, content_type))


def _decode_as(data: bytes, encoding: str) -> str:
    bom, mark = read_bom(data)
    if bom and bom == encoding:
        data = data[len(mark):]
    try:
        return to_unicode(data, encoding)
    except LookupError:
        return data.decode("utf-8", "replace")


def looks_binary(text: str) -> bool:
    """Is decoded 'text' really binary data (an image, an archive, random bytes served as HTML)?"""
    sample = text[:BINARY_SAMPLE]
    if not sample:
        return False
    controls = len(_CONTROL.findall(sample))
    replaced = sample.count("\ufffd")
    return controls > len(sample) * BINARY_CONTROLS or replaced > len(sample) * BINARY_REPLACED


def for_storage(body: bytes, content_type: str | None = None) -> bytes | None:
    """The bytes to store for a fetched page, or None when the body is not text.

    The body as received when it reads the same without the HTTP header; else the decoded text as
    UTF-8 with a BOM (the BOM outranks any <meta> declaration left in the page)."""
    encoding = page_encoding(body, content_type)
    text = _decode_as(body, encoding)
    if looks_binary(text):
        return None
    if not content_type:
        return body
    alone = page_encoding(body)          # what the stored bytes alone will say
    if alone == encoding or _decode_as(body, alone) == text:
        return body
    return codecs.BOM_UTF8 + text.encode("utf-8", "replace")


def to_text(html: bytes | str | None) -> str:
    """Decoded, control-character-free text of a stored page; never raises."""
    if html is None:
        return ""
    if isinstance(html, (bytes, bytearray, memoryview)):
        text = decode(bytes(html))
    else:
        text = str(html)
    if text.startswith("\ufeff"):
        text = text[1:]
    return _XML_DECL.sub("", _BAD_CHARS.sub("", text), count=1)
