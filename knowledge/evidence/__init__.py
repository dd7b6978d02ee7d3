"""Evidence: passages, criterion tags and facts derived from stored pages, and the one definition
of "the evidence as of run N" that every view reads.

Owns: model.py (Evidence), rules.py (the rules key), build.py (extraction into the cache),
read.py (run_pages / run_evidence and the user-facing queries), site.py (what crawls learned
about a site besides its pages: the study's cited pages, URL aliases, doc versions). May import: knowledge.domain,
knowledge.store, extractors. Evidence is derived data: cached per (page content, rules key) and
rebuilt from stored pages whenever the rules change, never by re-crawling.
"""
