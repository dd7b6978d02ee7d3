"""Claims: the study's findings as checkable assertions, judged against the current evidence.

May import: knowledge.domain, knowledge.store, knowledge.evidence.
"""
