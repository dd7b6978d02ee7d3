-- The report's reading of one crawl run: per criterion the evidence summary (passages, pages,
-- facts with a citation each, citations, evidence dates) and the claim verdict, as JSON
-- (knowledge/report/snapshot.py). Derived data, keyed by what derived it: the extraction rules key
-- (knowledge.evidence.rules.rules_key) and the claim check version (baseline, checklist, judge
-- code, snapshot format). Kept when the rules change: `collector report --as-of RUN` shows a crawl
-- as it was read then, and `collector changelog` can tell a rule change from a docs change.
CREATE TABLE report_snapshots (
    run_id          INTEGER NOT NULL,
    rules_version   TEXT NOT NULL,
    claims_version  TEXT NOT NULL,
    created_at      TEXT NOT NULL,       -- ISO 8601 UTC: when this run was first read this way
    data            TEXT NOT NULL,       -- JSON, see knowledge/report/snapshot.py
    PRIMARY KEY (run_id, rules_version, claims_version)
);
CREATE INDEX report_snapshots_run ON report_snapshots (run_id, created_at);

-- A flag as the report (or the changelog) first showed it. `collector diff` updates a flag in place
-- when it finds the same change again (a possible removal confirmed, newer crawl dates), so its
-- kind, summary and passages then are kept here for `report --as-of` and the changelog.
CREATE TABLE report_flags (
    flag_id     TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    summary     TEXT NOT NULL,
    citation    TEXT NOT NULL,         -- URL#section (crawled YYYY-MM-DD), or ''
    run_id      INTEGER,               -- the crawl the flag was raised after
    recorded_at TEXT NOT NULL
);
