"""The diff on top of the project's own extractor (whatever rules it has): clear texts, clear outcomes."""
from __future__ import annotations

import sys

import pytest

from knowledge.diff.engine import run_diff
from test_diff_kit import Crawls

STORAGE = ("<h2 id='remote-storage'>Remote storage</h2><p>Configure an Amazon S3 bucket as remote storage, "
           "then push and pull your data files to that remote with version {v}.</p>")
AZURE = ("<h2 id='azure'>Azure Blob Storage remotes</h2><p>You can also use Azure Blob Storage as remote storage "
         "for your data files: push and pull work the same way.</p>")


def docs(main: str, nav: str = "Home Docs Blog", stamp: str = "Built 3f2a9c1 on 2024-03-01") -> str:
    return (f"<html><head><title>Remotes</title></head><body><nav class='navbar'>{nav}</nav>"
            f"<aside class='sidebar'><ul><li>{nav}</li></ul></aside><main><div class='markdown-body' id='markdown-root'>"
            f"<h1 id='remotes'>Remotes</h1>{main}</div></main><footer>{stamp}</footer></body></html>")


@pytest.fixture
def crawls(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "knowledge.domain.baseline", None)
    return Crawls(tmp_path)


def test_new_storage_backend_is_flagged_under_storage(crawls):
    crawls.run("dvc", {"/doc/remotes": docs(STORAGE.format(v="3.1.0"))})
    crawls.run("dvc", {"/doc/remotes": docs(STORAGE.format(v="3.1.0") + AZURE)})
    flags = run_diff(crawls.store).flags
    storage = [f for f in flags if f.criterion == "storage"]
    assert storage, [(f.criterion, f.summary) for f in flags]
    texts = [p["text"] for p in storage[0].added] + [c["text"] for c in storage[0].changed]
    assert any("Azure Blob Storage" in t for t in texts)


def test_chrome_stamp_and_version_bump_are_not_flagged(crawls):
    crawls.run("dvc", {"/doc/remotes": docs(STORAGE.format(v="3.1.0"))})
    crawls.run("dvc", {"/doc/remotes": docs(STORAGE.format(v="3.2.1"), nav="Home Docs Blog Changelog",
                                            stamp="Built 9e8d7c6 on 2024-04-01")})
    assert run_diff(crawls.store).flags == []
