-- Crawl history: one run per tool per `collector crawl`, one verdict per URL per run,
-- raw pages stored once per content hash (zlib-compressed), and per-URL validators for
-- conditional requests.
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    tool        TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('running', 'complete', 'partial', 'failed', 'interrupted')),
    started_at  TEXT NOT NULL,           -- ISO 8601 UTC
    finished_at TEXT,
    pid         INTEGER,                 -- of the crawling process, to detect a hard kill
    origin      TEXT,                    -- --base-url override (a mirror), NULL for the real site
    settings    TEXT NOT NULL DEFAULT '{}',  -- JSON: max_pages, sources file, ...
    stats       TEXT NOT NULL DEFAULT '{}',  -- JSON: counts per outcome / change
    message     TEXT
);
CREATE INDEX runs_tool_status ON runs (tool, status, id);

CREATE TABLE blobs (
    sha256 TEXT PRIMARY KEY,             -- of the uncompressed body
    size   INTEGER NOT NULL,
    data   BLOB NOT NULL                 -- zlib.compress(body)
);

-- Latest known state of every URL of a tool: what to send as If-None-Match /
-- If-Modified-Since next time, and the last good content (kept when a fetch fails).
CREATE TABLE pages (
    tool            TEXT NOT NULL,
    url             TEXT NOT NULL,       -- canonical absolute URL (no fragment, no tracking query)
    path            TEXT NOT NULL,       -- path (+ query) only: matches pages across origins
    etag            TEXT,
    last_modified   TEXT,                -- the server's own value, sent back verbatim
    sha256          TEXT REFERENCES blobs (sha256),
    content_type    TEXT,
    final_url       TEXT,                -- where redirects ended, if elsewhere
    first_seen_run  INTEGER,
    last_ok_run     INTEGER,
    last_ok_at      TEXT,
    gone_count      INTEGER NOT NULL DEFAULT 0,   -- consecutive 404/410 answers
    PRIMARY KEY (tool, url)
);
CREATE INDEX pages_tool_path ON pages (tool, path);

-- Exactly one verdict per URL per run (urlwatch style).
CREATE TABLE fetches (
    run_id      INTEGER NOT NULL REFERENCES runs (id),
    url         TEXT NOT NULL,
    path        TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN
                  ('fetched', 'not_modified', 'failed', 'gone', 'blocked', 'out_of_scope', 'skipped')),
    change      TEXT CHECK (change IN ('new', 'changed', 'unchanged')),
    http_status INTEGER,
    sha256      TEXT,                    -- content this run holds for the page; for 'failed'
                                         -- the last good content, carried forward
    fetched_at  TEXT NOT NULL,
    bytes       INTEGER NOT NULL DEFAULT 0,   -- body bytes downloaded by this run
    reason      TEXT,
    final_url   TEXT,
    PRIMARY KEY (run_id, url)
);
CREATE INDEX fetches_sha ON fetches (sha256);
