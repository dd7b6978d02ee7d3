-- The claim check's verdicts for one crawl run (knowledge/claims/cache.py): every cell of the run's
-- tool judged against the evidence as of that run. Derived data, keyed by what derived it (the
-- run's rules key, the baseline and assertions, the judge's version), so a diff, the report and
-- `collector claims` read last week's verdicts instead of judging them again. `data` is
-- zlib-compressed JSON: a list of CellVerdict.to_dict().
CREATE TABLE claim_verdicts (
    run_id      INTEGER NOT NULL,
    key         TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    data        BLOB NOT NULL,
    PRIMARY KEY (run_id, key)
);
