-- What the crawler read from a stored page, by content: its links, its near-duplicate fingerprint
-- (link traps) and the release it states. A page answered 304 Not Modified has the same content,
-- so the crawler takes these instead of decompressing and parsing its stored copy again: an
-- unchanged week then costs little more than the requests. Derived data, keyed by a hash of the
-- reading code (crawler.reads.READER): any row may be dropped and is read again when needed.
CREATE TABLE page_reads (
    sha256       TEXT NOT NULL,
    reader       TEXT NOT NULL,
    fingerprint  TEXT NOT NULL,
    doc_version  TEXT,
    links        BLOB,          -- zlib of the JSON list of hrefs as written; NULL: read the page (a <base> tag)
    PRIMARY KEY (sha256, reader)
) WITHOUT ROWID;
