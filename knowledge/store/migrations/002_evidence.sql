-- Evidence is derived data: cached per (page content hash, rules version) and rebuilt
-- from stored pages whenever the rules change, never by re-crawling.
CREATE TABLE extractions (
    page_sha256   TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    extracted_at  TEXT NOT NULL,
    n_passages    INTEGER NOT NULL,
    error         TEXT,                  -- set when the page could not be parsed
    PRIMARY KEY (page_sha256, rules_version)
);

CREATE TABLE passages (
    id            INTEGER PRIMARY KEY,
    page_sha256   TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    position      INTEGER NOT NULL,
    anchor        TEXT NOT NULL,
    heading_path  TEXT NOT NULL,         -- JSON list
    text          TEXT NOT NULL,
    text_hash     TEXT NOT NULL,         -- of the normalised text, for matching across crawls
    has_code      INTEGER NOT NULL DEFAULT 0,
    has_table     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX passages_page ON passages (page_sha256, rules_version, position);

CREATE TABLE tags (
    passage_id INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    criterion  TEXT NOT NULL,
    score      REAL NOT NULL,
    terms      TEXT NOT NULL,            -- JSON list of matched terms
    PRIMARY KEY (passage_id, criterion)
);
CREATE INDEX tags_criterion ON tags (criterion);

CREATE TABLE facts (
    passage_id INTEGER NOT NULL REFERENCES passages (id) ON DELETE CASCADE,
    category   TEXT NOT NULL,            -- storage_backend, compute_backend, environment, ...
    value      TEXT NOT NULL,            -- normalised id, e.g. azure-blob
    criterion  TEXT NOT NULL,
    term       TEXT NOT NULL
);
CREATE INDEX facts_passage ON facts (passage_id);
CREATE INDEX facts_category ON facts (category, value);
