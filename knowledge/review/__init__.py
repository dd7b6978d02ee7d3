"""Review: a person's decisions on diff flags (append-only), and the interactive session.

Owns: decisions.py (queue, decide, history), session.py (the terminal session and flag
rendering), highlight.py (word highlights as Rich markup over escaped text). May import:
knowledge.domain, knowledge.store, knowledge.evidence, knowledge.claims, knowledge.diff.
"""
