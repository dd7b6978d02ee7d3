"""The rules version: changes whenever the extraction code version, a pattern file or the trained
model changes.

Evidence is cached per (page content hash, rules version), so improving a rule or retraining the
model automatically causes a rebuild from stored pages, and both sides of a diff use the same rules.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

# Bump when passage splitting or tagging *code* changes behaviour (pattern and model files are hashed).
CODE_VERSION = "5"   # 4: extractor fixes (issue 10); 5: the trained tagger (issue 13)

# The files whose content decides the rule scores the trained model reads (facts.jsonl does not).
RULE_FILES = ("config.json", "criteria.jsonl")


def pattern_digest() -> str:
    """Hash of the rule files the trained model was fitted on top of (recorded in the model file)."""
    h = hashlib.sha256()
    folder = resources.files("extractors") / "patterns"
    for name in RULE_FILES:
        h.update(name.encode())
        h.update((folder / name).read_bytes())
    return h.hexdigest()[:12]


@lru_cache(maxsize=1)
def rules_version() -> str:
    h = hashlib.sha256(CODE_VERSION.encode())
    for sub in ("patterns", "trained"):
        folder = resources.files("extractors") / sub
        for item in sorted(folder.iterdir(), key=lambda p: p.name):
            if item.name.endswith((".jsonl", ".json")):
                h.update(f"{sub}/{item.name}".encode())
                h.update(item.read_bytes())
    return h.hexdigest()[:12]
