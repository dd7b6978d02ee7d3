"""crawler.localserver: the behaviour the crawl tests and the benchmark rely on."""
from __future__ import annotations

import http.client
import json
import time

import pytest

from conftest import html, write_site
from crawler.localserver import serve


@pytest.fixture
def root(tmp_path):
    return write_site(tmp_path / "site", {
        "/": html("Home"), "/guide": html("Guide"), "/api.html": html("API"),
        "/robots.txt": "Sitemap: __ORIGIN__/sitemap.xml\nSitemap: http://127.0.0.1:8001/old.xml\n",
        "/_faults.json": json.dumps({"/broken": {"status": 503}}),
    })


def get(server, path, headers=None, method="GET"):
    conn = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_directories_redirect_to_the_slash_form_and_files_are_served(root):
    with serve(root) as server:
        status, headers, _ = get(server, "/guide")
        assert status == 301 and headers["Location"] == "/guide/"
        status, headers, body = get(server, "/guide/")
        assert status == 200 and b"Guide" in body and headers["Content-Type"].startswith("text/html")
        assert get(server, "/api.html")[0] == 200
        assert get(server, "/nope")[0] == 404
        assert get(server, "/../../etc/passwd")[0] == 404
        assert get(server, "/_faults.json")[0] == 404        # configuration is not content


def test_validators_and_conditional_requests(root):
    with serve(root) as server:
        _, headers, _ = get(server, "/guide/")
        etag, modified = headers["ETag"], headers["Last-Modified"]
        assert get(server, "/guide/", {"If-None-Match": etag})[0] == 304
        assert get(server, "/guide/", {"If-Modified-Since": modified})[0] == 304
        assert get(server, "/guide/", {"If-None-Match": '"other"', "If-Modified-Since": modified})[0] == 200
        (root / "guide/index.html").write_text(html("Guide v2"))
        assert get(server, "/guide/", {"If-None-Match": etag})[0] == 200
        entry = server.requests("/guide/")[1]
        assert entry["if_none_match"] == etag and entry["status"] == 304 and entry["method"] == "GET"


def test_origin_placeholder_and_replacements(root):
    with serve(root, replace={"http://127.0.0.1:8001": "http://mirror.test"}) as server:
        body = get(server, "/robots.txt")[2].decode()
        assert f"Sitemap: {server.origin}/sitemap.xml" in body and "http://mirror.test/old.xml" in body


def test_injected_faults(root):
    with serve(root, faults={"/guide": {"status": 500}, "/slow": {"delay": 0.3}, "/moved": {"redirect": "/api.html"},
                             "/reset": {"reset": True}, "/api.html": {"truncate": True}}) as server:
        assert get(server, "/guide/")[0] == 500                       # with or without the slash
        assert get(server, "/broken")[0] == 503                       # from _faults.json
        start = time.monotonic()
        get(server, "/slow")
        assert time.monotonic() - start >= 0.3
        status, headers, _ = get(server, "/moved")
        assert status == 301 and headers["Location"] == "/api.html"
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            get(server, "/reset")
        with pytest.raises(http.client.IncompleteRead):
            get(server, "/api.html")
        assert [e["status"] for e in server.requests("/reset")] == ["reset"]
