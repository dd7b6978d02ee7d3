"""The knowledge store: one SQLite file with every crawl, page, passage, tag, flag and decision.

Owns: db.py (opening, locking, integrity, runs, blobs, plain words for write failures) and
migrations/ (ordered, named SQL files).
May import: knowledge.errors. Knows nothing of evidence, diffs or reviews beyond their tables.
"""
from knowledge.store.db import (ENV_VAR, RUN_STATUSES, TRAP_REASON, Store, default_db_path, explain, migrations,
                                pack_blob, sha256_bytes, utcnow, write_failure)

__all__ = ["ENV_VAR", "RUN_STATUSES", "TRAP_REASON", "Store", "default_db_path", "explain", "migrations", "pack_blob",
           "sha256_bytes", "utcnow", "write_failure"]
