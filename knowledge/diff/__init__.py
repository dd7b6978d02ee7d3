"""Diff: what evidence changed per tool x criterion between two crawls, saved as flags for review.

Owns: engine.py (run_diff, flags, kinds, identity of passages across pages and weeks),
matching.py (passage matching and noise/boilerplate normalisation, pure), moves.py (site-wide
prefix moves, pure), weigh.py (reference material, capability words, importance, pure),
render.py (the digest, --stat, --full and crawl health as terminal lines; paging), markup.py
(scraped text made inert as Rich markup, changed words marked). May import: knowledge.domain,
knowledge.store, knowledge.evidence, knowledge.claims.
"""
