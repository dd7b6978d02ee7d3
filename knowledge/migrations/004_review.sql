-- Review decisions, append-only: changing a decision adds a row, never rewrites one.
CREATE TABLE decisions (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    flag_id     TEXT NOT NULL,
    tool        TEXT NOT NULL,
    criterion   TEXT NOT NULL,
    decision    TEXT NOT NULL CHECK (decision IN ('accepted', 'dismissed', 'uncertain', 'note')),
    note        TEXT,
    reviewer    TEXT NOT NULL,
    decided_at  TEXT NOT NULL,
    to_run      INTEGER,                 -- the evidence state the decision applied to
    to_state    TEXT
);
CREATE INDEX decisions_flag ON decisions (flag_id, id);
CREATE INDEX decisions_cell ON decisions (tool, criterion, id);
CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
