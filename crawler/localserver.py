"""A small static HTTP server on 127.0.0.1 for tests, the demo and benchmarks.

Behaves like `python -m http.server` (extensionless /x -> 301 /x/ -> x/index.html) plus what a
crawler test needs: ETag / Last-Modified validators with 304 answers, `__ORIGIN__` replaced by the
server's own origin in robots.txt and sitemap.xml, a request log, and injected faults set from
Python or from `_faults.json` in the served root, keyed by path ("/p1"; "/trap/*" matches a prefix):

    {"status": 500}                       answer with this status (404 once: add "times": 1)
    {"delay": 5}                          wait before answering
    {"reset": true}                       TCP reset instead of an answer
    {"truncate": true}                    announce the full length, send half, hang up
    {"redirect": "/elsewhere"}            301 (or "status") to another place
    {"body": "...", "content_type": ...}  serve this body instead of the file (e.g. a new robots.txt)
    {"binary": 200000}                    that many random-looking bytes, labelled text/html
    {"charset": "cp1252", "label": ...}   the file re-encoded, its <meta charset> removed, the charset
                                          only in the Content-Type header (label defaults to charset)
    {"trap": "calendar" | "deeper"}       a generated link trap (see `trap_page`)
    "times": N                            (with any of the above) only the first N requests

    with serve(root) as server:
        server.origin            # http://127.0.0.1:PORT
        server.faults["/x"] = {"status": 500}
        server.log               # [{"method", "path", "if_none_match", "if_modified_since", "status"}]
"""
from __future__ import annotations

import email.utils
import json
import mimetypes
import re
import socket
import struct
import threading
import time
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator
from urllib.parse import unquote, urlsplit

REWRITTEN = ("robots.txt", "sitemap.xml")


class _Handler(BaseHTTPRequestHandler):
    server: "LocalServer"
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle on, the client's delayed ACK stalls
    # every keep-alive response by ~40 ms.
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # the in-memory log replaces stderr noise
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path) or "/"
        entry = {"method": self.command, "path": path,
                 "if_none_match": self.headers.get("If-None-Match"),
                 "if_modified_since": self.headers.get("If-Modified-Since"),
                 "user_agent": self.headers.get("User-Agent"), "status": None, "time": time.monotonic()}
        with self.server.lock:
            self.server.log.append(entry)
        fault = self.server.fault_for(path)
        if fault.get("trap"):
            if fault["trap"] == "deeper" and not path.endswith("/"):   # as a static server would
                return self._redirect(entry, path + "/", 301)
            return self._send(entry, 200, trap_page(fault["trap"], path), "text/html; charset=utf-8", head=head)
        if fault.get("binary"):
            return self._send(entry, 200, _noise(path, int(fault["binary"])), "text/html; charset=utf-8", head=head)
        if "body" in fault:
            body = fault["body"].encode("utf-8") if isinstance(fault["body"], str) else fault["body"]
            body = body.replace(b"__ORIGIN__", self.server.origin.encode())
            return self._send(entry, 200, body, fault.get("content_type", "text/html; charset=utf-8"), head=head)
        if fault.get("delay"):
            time.sleep(float(fault["delay"]))
        if fault.get("reset"):
            entry["status"] = "reset"
            # SO_LINGER 0 makes close() send a TCP RST instead of a clean FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if fault.get("redirect"):
            return self._redirect(entry, fault["redirect"], int(fault.get("status", 301)))
        if fault.get("status"):
            return self._send(entry, int(fault["status"]), b"injected fault\n", "text/plain", head=head)
        file = self.server.resolve(path)
        if file is None:
            return self._send(entry, 404, b"not found\n", "text/plain", head=head)
        if file.is_dir():
            if not path.endswith("/"):
                return self._redirect(entry, path + "/", 301)
            file = file / "index.html"
            if not file.is_file():
                return self._send(entry, 404, b"not found\n", "text/plain", head=head)
        stat = file.stat()
        body = None
        size = stat.st_size
        if file.name in REWRITTEN:
            body = file.read_bytes().replace(b"__ORIGIN__", self.server.origin.encode())
            for old, new in self.server.replace.items():
                body = body.replace(old.encode(), new.encode())
            size = len(body)
        etag = f'"{stat.st_mtime_ns:x}-{size:x}"'
        last_modified = email.utils.formatdate(stat.st_mtime, usegmt=True)
        validators = {"ETag": etag, "Last-Modified": last_modified}
        if not (fault.get("truncate") or fault.get("charset")) and self._not_modified(etag, stat.st_mtime):
            return self._send(entry, 304, b"", None, head=True, extra=validators)
        if body is None:  # read only when it is sent: a 304 costs a stat()
            body = file.read_bytes()
        ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        if fault.get("charset"):
            body, ctype = recode(body, fault["charset"]), f"{ctype}; charset={fault.get('label', fault['charset'])}"
            validators = {}    # another representation of the same file: no validators to reuse
        elif ctype.startswith("text/") or ctype.endswith("xml"):
            ctype += "; charset=utf-8"
        if fault.get("truncate"):
            # Announce the full length, send half, hang up: the client sees a data loss.
            entry["status"] = "truncated"
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        self._send(entry, 200, body, ctype, head=head, extra=validators)

    def _not_modified(self, etag: str, mtime: float) -> bool:
        inm = self.headers.get("If-None-Match")
        if inm is not None:  # If-None-Match wins over If-Modified-Since (RFC 9110)
            return etag in [t.strip() for t in inm.split(",")] or inm.strip() == "*"
        ims = self.headers.get("If-Modified-Since")
        if ims:
            try:
                since = email.utils.parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
            return int(mtime) <= since
        return False

    def _redirect(self, entry: dict, location: str, status: int) -> None:
        self._send(entry, status, b"", None, head=True, extra={"Location": location})

    def _send(self, entry: dict, status: int, body: bytes, ctype: str | None, *, head: bool,
              extra: dict | None = None) -> None:
        entry["status"] = status
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        if status != 304:  # a 304 has no body by definition
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head and status != 304:
            self.wfile.write(body)


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops SYNs when a crawler opens connections in a burst
    # (Scrapy does not reuse a connection after a bodiless 301/304), and each drop costs the client
    # a 1 s, 2 s, 4 s ... SYN retry: the benchmark would measure TCP backoff, not the crawler.
    request_queue_size = 128

    def __init__(self, root: Path | str, port: int = 0, faults: dict | None = None,
                 replace: dict[str, str] | None = None):
        self.root = Path(root).resolve()
        self.log: list[dict] = []
        self.lock = threading.Lock()
        self.faults: dict[str, dict] = dict(faults or {})
        self.replace: dict[str, str] = dict(replace or {})
        super().__init__(("127.0.0.1", port), _Handler)
        self.origin = f"http://127.0.0.1:{self.server_address[1]}"
        self._thread: threading.Thread | None = None

    def handle_error(self, request, client_address) -> None:
        """A client hanging up (size cap, timeout, kill) is normal here: no traceback on stderr."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return
        super().handle_error(request, client_address)

    def fault_for(self, path: str) -> dict:
        """The fault for a path (with or without its trailing slash; "/x/*" matches below /x/):
        Python-set first, then _faults.json. A fault with "times" applies to that many requests."""
        faults = self.faults
        fault = _match(faults, path)
        if fault is None:
            file_faults = self.root / "_faults.json"
            if not file_faults.is_file():
                return {}
            try:
                faults = json.loads(file_faults.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return {}
            fault = _match(faults, path)
            if not isinstance(fault, dict):
                return {}
        if "times" in fault:
            with self.lock:
                used = fault.get("_used", 0)
                if used >= int(fault["times"]):
                    return {}
                fault["_used"] = used + 1
        return fault

    def resolve(self, path: str) -> Path | None:
        """The file or folder for a URL path, never outside the root."""
        target = (self.root / path.lstrip("/")).resolve()
        if target != self.root and self.root not in target.parents:
            return None
        if target.name == "_faults.json" or not target.exists():
            return None
        return target

    def requests(self, path: str | None = None) -> list[dict]:
        with self.lock:
            return [e for e in self.log if path is None or e["path"] == path]

    def start(self) -> "LocalServer":
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"localserver:{self.origin}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
        if self._thread:
            self._thread.join(timeout=5)


def _match(faults: dict, path: str) -> dict | None:
    for key in (path, path.rstrip("/") or "/"):
        if key in faults:
            return faults[key]
    for key, fault in faults.items():
        if key.endswith("*") and path.startswith(key[:-1]):
            return fault
    return None


def _noise(path: str, size: int) -> bytes:
    """Deterministic bytes that are not text (the same for a path on every request)."""
    import hashlib

    out, block = bytearray(), hashlib.sha256(path.encode()).digest()
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


_META_CHARSET = re.compile(rb"<meta[^>]*charset[^>]*>", re.I)


def recode(body: bytes, charset: str) -> bytes:
    """A UTF-8 page re-encoded in `charset`, its <meta charset> removed: only the header says it."""
    text = _META_CHARSET.sub(b"", body).decode("utf-8")
    return text.encode(charset, errors="xmlcharrefreplace")


def trap_page(kind: str, path: str) -> bytes:
    """A generated link trap, near-identical pages without end.

    calendar: /x/N links to /x/N+1 and to ?d= dates of the same page (a calendar widget);
    deeper:   every page links to more/ below itself (a relative link that keeps nesting).
    """
    last = path.rstrip("/").rsplit("/", 1)[-1]
    n = int(last) if last.isdigit() else 0
    base = path.rstrip("/").rsplit("/", 1)[0] if last.isdigit() else path.rstrip("/")
    if kind == "deeper":
        links = '<a href="more/">more</a>'
        title = "Archive"
    else:
        links = (f'<a href="{base}/{n + 1}">next day</a> '
                 + " ".join(f'<a href="{base}/{n}?d=2024-01-{d:02d}">{d}</a>' for d in range(1, 8)))
        title = f"Calendar day {n}"
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title></head><body><main>"
            f"<h1 id='day'>{title}</h1><h2 id='events'>Scheduled pipeline runs</h2>"
            f"<p>Pipeline runs {n} scheduled on Kubernetes with experiment tracking of metrics and "
            f"artifacts stored in Amazon S3.</p><nav>{links}</nav></main></body></html>").encode()


@contextmanager
def serve(root: Path | str, port: int = 0, faults: dict | None = None,
          replace: dict[str, str] | None = None) -> Iterator[LocalServer]:
    server = LocalServer(root, port, faults, replace).start()
    try:
        yield server
    finally:
        server.stop()


if __name__ == "__main__":  # python -m crawler.localserver ROOT [PORT]
    import sys

    with serve(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 0) as srv:
        print(f"serving {sys.argv[1]} at {srv.origin} (Ctrl-C to stop)", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
