"""Progress events of the crawl subprocess: one JSON object per line on a dedicated stream.

The parent (knowledge/crawl.py) reads them from the child's stdout. `crawler.run` points the
stream at the original stdout and sends everything else written to stdout to stderr, so a stray
print() can never corrupt the protocol.
"""
from __future__ import annotations

import json
import sys
from typing import IO

_stream: IO[str] | None = None


def set_stream(stream: IO[str] | None) -> None:
    global _stream
    _stream = stream


def emit(event: dict) -> None:
    stream = _stream or sys.stdout
    stream.write(json.dumps(event, default=str) + "\n")
    stream.flush()
