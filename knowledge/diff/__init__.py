"""Diff: what evidence changed per tool x criterion between two crawls, saved as flags for review.

Owns: engine.py (run_diff, flags), matching.py (passage matching and noise normalisation, pure),
render.py (text lines for the terminal). May import: knowledge.domain, knowledge.store,
knowledge.evidence, knowledge.claims.
"""
