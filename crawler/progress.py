"""Progress events of the crawl subprocess: one JSON object per line on a dedicated stream.

The parent (knowledge/ops/crawl.py) reads them from the child's stdout. `crawler.run` points the
stream at the original stdout and sends everything else written to stdout to stderr, so a stray
print() can never corrupt the protocol.
"""
from __future__ import annotations

import json
import os
import sys
from typing import IO

_stream: IO[str] | None = None


def set_stream(stream: IO[str] | None) -> None:
    global _stream
    _stream = stream


def emit(event: dict) -> None:
    """Send one event; a parent that has gone away must not stop the crawl from saving its run."""
    global _stream
    stream = _stream or sys.stdout
    try:
        stream.write(json.dumps(event, default=str) + "\n")
        stream.flush()
    except (BrokenPipeError, ValueError, OSError):
        _stream = open(os.devnull, "w")  # nobody listens any more; keep crawling and recording


def note(spider, message: str) -> None:
    """Something the user should know about a crawl that did not fail it (e.g. a capped Crawl-delay):
    a "note" event now, and in the run's stats ("notes") when it ends."""
    notes = spider.__dict__.setdefault("notes", [])
    if message not in notes:
        notes.append(message)
        emit({"event": "note", "tool": spider.source["tool"], "run": getattr(spider, "run_id", None),
              "message": message})
