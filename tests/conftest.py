"""Shared test fixtures: a local static HTTP server and tiny documentation sites.

`serve_site(root, **kw)` starts crawler.localserver on 127.0.0.1 (free port) and stops it after
the test. `write_site(root, files)` writes a site from {url path: text}: "/x" becomes
x/index.html (served at /x/ after a 301, like python -m http.server), anything with a dot in
its last segment is written as is. `tiny_site(root)` is the standard small site used by the
crawl tests; `tiny_sources(path)` writes a sources file for it (tool "tiny").
"""
from __future__ import annotations

from pathlib import Path

import pytest

from crawler.localserver import LocalServer

TINY_ORIGIN = "https://tiny.invalid"   # the "live" origin in the sources file; tests crawl a mirror


def html(title: str, *links: str, extra: str = "") -> str:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{title}</title></head>"
            f"<body><main><h1 id='top'>{title}</h1><p>{title} text.</p>{extra}<ul>{anchors}</ul></main></body></html>")


def write_site(root: Path, files: dict[str, str]) -> Path:
    for url_path, text in files.items():
        rel = url_path.strip("/")
        last = rel.rsplit("/", 1)[-1]
        target = root / rel if "." in last else root / rel / "index.html"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return root


def tiny_files() -> dict[str, str]:
    return {
        "/robots.txt": "User-agent: *\nDisallow: /private\n\nSitemap: __ORIGIN__/sitemap.xml\n",
        "/sitemap.xml": (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            "<url><loc>__ORIGIN__/</loc></url><url><loc>__ORIGIN__/guide/install</loc></url>"
            "<url><loc>http://elsewhere.invalid/page</loc></url></urlset>\n"),
        "/": html("Home", "/guide", "/guide/install?utm_source=news#setup", "/private/secret",
                  "https://external.invalid/", "/img/logo.png", "/old-page", "/feed.atom", "/assets/app",
                  "/missing", "/moved", "mailto:docs@tiny.invalid"),
        "/guide": html("Guide", "install", "../", "tracking#runs"),
        "/guide/install": html("Install", "/guide", "/"),
        "/guide/tracking": html("Tracking", "/guide"),
        # A Docusaurus-style client redirect stub: followed, never a page itself.
        "/old-page": ('<!DOCTYPE html><html><head><meta http-equiv="refresh" content="0; url=/guide/tracking">'
                      '</head><body><a href="/guide/tracking">moved</a></body></html>'),
        "/private/secret": html("Secret"),
        "/assets/app": html("Asset page (denied)"),
        "/feed.atom": '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"></feed>',
    }


def tiny_site(root: Path) -> Path:
    return write_site(root, tiny_files())


def tiny_sources(path: Path, *, max_pages: int = 100, tool: str = "tiny") -> Path:
    path.write_text(
        f'[[source]]\ntool = "{tool}"\nname = "Tiny"\nroots = ["{TINY_ORIGIN}/"]\n'
        f'allow = ["{TINY_ORIGIN}/"]\ndeny = ["{TINY_ORIGIN}/assets/"]\n'
        f'content = ["main"]\nmax_pages = {max_pages}\n', encoding="utf-8")
    return path


@pytest.fixture
def serve_site():
    """Start a local server for a folder: serve_site(root, faults=..., replace=...) -> LocalServer."""
    servers: list[LocalServer] = []

    def start(root: Path, **kwargs) -> LocalServer:
        server = LocalServer(root, **kwargs).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
