-- Flags: one per changed tool x criterion cell, from `collector diff` (knowledge/diff/engine.py; the
-- payload and every field are documented in docs/diff-json.md). The id is "F" + a hash of the
-- cell and the two evidence states compared, so re-running diff is idempotent. A newer flag of a
-- cell supersedes its pending ones ('open'/'uncertain' -> 'superseded'); review sets the status.
CREATE TABLE flags (
    id            TEXT PRIMARY KEY,
    tool          TEXT NOT NULL,
    criterion     TEXT NOT NULL,
    kind          TEXT NOT NULL,         -- capability | contradiction | evidence | wording
    rank          INTEGER NOT NULL,      -- 1..4 in that order: lower = more important
    summary       TEXT NOT NULL,
    from_run      INTEGER,               -- NULL: nothing reviewed and no earlier crawl
    to_run        INTEGER NOT NULL,
    from_state    TEXT,                  -- hash of the cell's normalised evidence on each side
    to_state      TEXT NOT NULL,
    rules_version TEXT NOT NULL,
    payload       TEXT NOT NULL,         -- JSON: added / removed / changed / moved passages, facts
    status        TEXT NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'accepted', 'dismissed', 'uncertain', 'superseded')),
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX flags_cell ON flags (tool, criterion, status);

-- The reviewed state of each cell: the crawl whose evidence a person last accepted.
-- The next diff compares the latest crawl against this run (with the current rules).
CREATE TABLE reviewed_state (
    tool        TEXT NOT NULL,
    criterion   TEXT NOT NULL,
    run_id      INTEGER NOT NULL,
    state       TEXT NOT NULL,
    flag_id     TEXT,
    reviewed_at TEXT NOT NULL,
    PRIMARY KEY (tool, criterion)
);
