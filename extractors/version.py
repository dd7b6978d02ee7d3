"""The rules version: changes whenever the extraction code version or any pattern file changes.

Evidence is cached per (page content hash, rules version), so improving a rule automatically
causes a rebuild from stored pages, and both sides of a diff use the same rules.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

# Bump when passage splitting or tagging *code* changes behaviour (pattern files are hashed).
CODE_VERSION = "4"


@lru_cache(maxsize=1)
def rules_version() -> str:
    h = hashlib.sha256(CODE_VERSION.encode())
    folder = resources.files("extractors") / "patterns"
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith((".jsonl", ".json")):
            h.update(item.name.encode())
            h.update(item.read_bytes())
    return h.hexdigest()[:12]
