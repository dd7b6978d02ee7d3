-- What a crawl learns about a site besides its pages (crawler/records.py writes these).

-- The study's cited pages (`cited` in the sources file), checked once per crawl: does the URL
-- still answer, where do its redirects end, is the cited #section still an id on that page.
CREATE TABLE cited_checks (
    run_id       INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    url          TEXT NOT NULL,          -- as cited (live URL, with its #fragment)
    checked_url  TEXT NOT NULL,          -- what was requested (on the mirror with --base-url)
    status       TEXT NOT NULL CHECK (status IN ('fetched', 'redirected', 'gone', 'failed', 'blocked')),
    http_status  INTEGER,
    final_url    TEXT,                   -- where redirects ended (NULL when the URL answered itself)
    anchor_found INTEGER,                -- 1/0: the cited #fragment is an id on the final page; NULL: no fragment
    reason       TEXT,
    checked_at   TEXT NOT NULL,
    PRIMARY KEY (run_id, url)
);

-- Other URLs of a page: /x/index.html, a rel=canonical target, a redirect. The page is stored
-- under its canonical URL only; each alias is remembered with the crawls that saw it.
CREATE TABLE page_aliases (
    tool       TEXT NOT NULL,
    alias      TEXT NOT NULL,            -- the other URL
    url        TEXT NOT NULL,            -- the page's canonical URL
    kind       TEXT NOT NULL CHECK (kind IN ('index', 'canonical', 'redirect')),
    first_run  INTEGER NOT NULL,
    last_run   INTEGER NOT NULL,
    PRIMARY KEY (tool, alias)
);
CREATE INDEX page_aliases_url ON page_aliases (tool, url);

-- The release of the software a page states it documents ("2.11.0"; extractors/docversion.py).
ALTER TABLE fetches ADD COLUMN doc_version TEXT;
