"""collector's library: everything between a crawled page and what a reviewer reads.

Packages by stage. Imports flow one way, from the top of this list to the bottom, never back:

    errors, textsafe   base helpers: domain errors (exit codes), making scraped text inert
    domain/            the study's model: checklist, documentation sources, baseline claims
    store/             the SQLite knowledge store: schema migrations, runs, pages, blobs, locks
    evidence/          stored pages -> passages, tags, facts; "the evidence as of run N"
    claims/            the study's claims as assertions, judged against current evidence
    diff/              evidence change per tool x criterion between crawls; flags
    review/            a person's decisions on flags (append-only), the interactive session
    report/            the comparison matrix and its renderings
    ops/               jobs that drive the rest: crawl, demo, schedule, prune

A package may import from the ones above it only. `cli.py` sits on top of all of them, and the
crawler (crawler/) only uses domain and store.
"""
