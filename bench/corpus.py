"""Serving the reference corpus snapshots for benchmarks: one local server per tool.

The snapshots' robots.txt and sitemap.xml name the placeholder bases http://127.0.0.1:8001 (metaflow),
:8002 (dvc) and :8003 (mlflow); each server rewrites them to its own origin, so any free port works.
Snapshots are read in place from /tmp/corpus/<name> when unpacked there, else unpacked (mtimes kept,
so Last-Modified stays true) into the caller's temporary folder.
"""
from __future__ import annotations

import sys
import tarfile
from contextlib import ExitStack
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from crawler.localserver import LocalServer  # noqa: E402

SHARED = Path("/work/shared")
CORPUS = SHARED / "corpus"
UNPACKED = Path("/tmp/corpus")
PLACEHOLDER_PORTS = {"metaflow": 8001, "dvc": 8002, "mlflow": 8003}


def snapshot_dir(name: str, tmp: Path) -> Path:
    if (UNPACKED / name / "metaflow").is_dir():
        return UNPACKED / name
    with tarfile.open(CORPUS / f"{name}.tar.gz") as tar:
        tar.extractall(tmp, filter="data")
    return tmp / name


def serve_snapshot(root: Path, stack: ExitStack, ports: dict[str, int] | None = None,
                   server_class: type[LocalServer] = LocalServer) -> dict[str, LocalServer]:
    """Start one server per tool folder of a snapshot (port 0 = any free port); stopped with `stack`."""
    servers = {}
    for tool, placeholder in PLACEHOLDER_PORTS.items():
        if not (root / tool).is_dir():
            continue
        server = server_class(root / tool, port=(ports or {}).get(tool, 0))
        server.replace = {f"http://127.0.0.1:{placeholder}": server.origin}
        servers[tool] = server.start()
        stack.callback(server.stop)
    return servers


def base_urls(servers: dict[str, LocalServer]) -> list[str]:
    return [f"{tool}={s.origin}" for tool, s in servers.items()]
