"""The rules key: which extractor rules and content selectors a run's evidence is read with.

Evidence is cached per (page content hash, rules key), so any two crawls read with the same key
are comparable, and changing a rule or a selector rebuilds evidence from stored pages.
"""
from __future__ import annotations

import hashlib
import json

from extractors.version import rules_version
from knowledge.errors import UsageError
from knowledge.store import Store


def run_source(store: Store, run_id: int) -> tuple[str, dict]:
    """(tool, source dict) a run was crawled with: its selectors are part of the rules key."""
    run = store.get_run(run_id)
    if run is None:
        raise UsageError(f"There is no crawl run {run_id} in {store.path}.", "See `collector runs` for run ids.")
    settings = json.loads(run["settings"] or "{}")
    source = settings.get("source") or {}
    if not source:
        from knowledge.domain.sources import load_sources

        builtin = load_sources()
        if run["tool"] in builtin:
            source = builtin[run["tool"]].to_dict()
    return run["tool"], source


def rules_key(source: dict) -> str:
    """Extractor rules version + the content selectors used for this tool."""
    sel = json.dumps([source.get("content", []), source.get("drop", [])], sort_keys=True)
    return f"{rules_version()}-{hashlib.sha1(sel.encode()).hexdigest()[:6]}"
