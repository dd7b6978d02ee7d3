"""The study's domain model, read from the data files in knowledge/data/: the checklist of 15
criteria, the documentation sources (which site is which tool), and the study's baseline claims.

Owns: checklist.py, sources.py, baseline.py. May import: knowledge.errors, extractors (the fact
vocabulary). Pure data and validation; no store access.
"""
