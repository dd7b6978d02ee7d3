-- Review decisions, append-only: changing a decision adds a row, never rewrites one
-- (triggers refuse UPDATE and DELETE). The flag's current status is its latest non-note decision;
-- flags.status and reviewed_state (003_flags.sql) are updated in the same transaction.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    flag_id     TEXT NOT NULL,
    tool        TEXT NOT NULL,
    criterion   TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('accepted', 'dismissed', 'uncertain', 'note')),
    note        TEXT,                    -- the reviewer's reason; required for a 'note'
    reviewer    TEXT NOT NULL CHECK (reviewer != ''),
    decided_at  TEXT NOT NULL,           -- ISO 8601 UTC
    to_run      INTEGER,                 -- the evidence state the decision applied to
    to_state    TEXT,
    CHECK (decision != 'note' OR (note IS NOT NULL AND note != ''))
);
CREATE INDEX decisions_flag ON decisions (flag_id, id);
CREATE INDEX decisions_cell ON decisions (tool, criterion, id);
CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
