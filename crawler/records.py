"""Record items: what the spider learns about a site besides page verdicts.

A record item is a dict with a "record" key instead of an "outcome"; the storage pipeline passes
it here. Kinds: "cited" (one per study citation per crawl -> cited_checks) and "alias" (another
URL of a page -> page_aliases). See knowledge/store/migrations/005_site_records.sql.
"""
from __future__ import annotations

from typing import Any

from knowledge.store import Store, utcnow

KINDS = ("cited", "alias")


def record(kind: str, /, **fields: Any) -> dict:
    assert kind in KINDS
    return {"record": kind, **fields}


def write_record(store: Store, run_id: int, tool: str, item: dict) -> None:
    """Write one record item inside the caller's transaction."""
    kind = item["record"]
    if kind == "cited":
        store.conn.execute(
            "INSERT OR REPLACE INTO cited_checks (run_id, url, checked_url, status, http_status, final_url, "
            "anchor_found, reason, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, item["url"], item["checked_url"], item["status"], item.get("http_status"),
             item.get("final_url"), item.get("anchor_found"), item.get("reason"), utcnow()))
    elif kind == "alias":
        store.conn.execute(
            "INSERT INTO page_aliases (tool, alias, url, kind, first_run, last_run) VALUES (?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (tool, alias) DO UPDATE SET url = excluded.url, kind = excluded.kind, "
            "last_run = excluded.last_run",
            (tool, item["alias"], item["url"], item["kind"], run_id, run_id))
