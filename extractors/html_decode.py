"""Bytes or str from the crawl -> clean str that lxml will always accept.

Pages arrive with missing, wrong or lying charsets, binary garbage and control characters;
none of that may raise. The charset comes from a BOM, else a <meta> declaration in the first
bytes, else UTF-8; a declaration that does not decode cleanly falls back to UTF-8 with
replacement characters, so whatever text is recoverable survives.
"""
from __future__ import annotations

import codecs
import re

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)
# C0 controls except tab/newline/CR, DEL, C1 controls, lone surrogates: libxml2 rejects or mangles them.
_BAD_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# lxml refuses str input that still carries an XML encoding declaration.
_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def declared_charset(data: bytes) -> str | None:
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    m = _META.search(data[:4096])
    if not m:
        return None
    try:
        name = codecs.lookup(m.group(1).decode("ascii", "ignore")).name
    except LookupError:
        return None
    # As browsers do (HTML standard): a <meta> claim of UTF-16/32 without a BOM means UTF-8,
    # and Latin-1/ASCII mean windows-1252 (pages labelled so often use its curly quotes).
    if name.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return "cp1252" if name in ("latin-1", "iso8859-1", "ascii") else name


def to_text(html: bytes | str | None) -> str:
    """Decoded, control-character-free text of a page; never raises."""
    if html is None:
        return ""
    if isinstance(html, (bytes, bytearray, memoryview)):
        data = bytes(html)
        charset = declared_charset(data) or "utf-8"
        try:
            text = data.decode(charset)
        except (UnicodeDecodeError, LookupError):
            text = data.decode("utf-8", "replace")
        if text.startswith("\ufeff"):
            text = text[1:]
    else:
        text = str(html)
    return _XML_DECL.sub("", _BAD_CHARS.sub("", text), count=1)
