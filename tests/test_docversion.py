"""The release a docs page states it documents (extractors/docversion.py), on the generators' own labels."""
from __future__ import annotations

from pathlib import Path

import pytest

from extractors.docversion import doc_version
from fixtures.sites import site_root

HTML = Path(__file__).resolve().parents[1] / "fixtures" / "html"


@pytest.mark.parametrize("html, expected", [
    ('<div class="wy-side-nav-search"><a href="/">MLflow</a><div class="version">2.11.4.dev0</div>', "2.11.4.dev0"),
    ("<script>var DOCUMENTATION_OPTIONS = {URL_ROOT: '', VERSION: '2.9.2', LANGUAGE: 'en'};</script>", "2.9.2"),
    ('<meta name="docsearch:version" content="3.1">', "3.1"),
    ('<meta data-rh="true" content="v2.4.0" name="docusaurus_version">', "2.4.0"),
    ('<span class="badge badge--secondary theme-doc-version-badge">Version: <!-- -->1.12.0</span>', "1.12.0"),
    ("<title>Tracking &mdash; MLflow 3.6.0 documentation</title>", "3.6.0"),
    # no release stated: "current", "latest", "next" and prose mentions are not one
    ('<meta name="docusaurus_version" content="current"><meta name="docsearch:version" content="latest">', None),
    ("<p>Requires Python 3.11 and MLflow 2.10.3.</p>", None),
    (b"", None),
])
def test_release_labels(html, expected):
    assert doc_version(html) == expected


def test_live_docusaurus_page_and_fixture_sites():
    assert doc_version((HTML / "docusaurus-live.html").read_bytes()) == "2.11.0"     # navbar versions menu
    assert doc_version((HTML / "release-notes.html").read_bytes()) is None
    page = "docs/latest/tracking.html"
    assert doc_version((site_root("v1", "mlflow") / page).read_bytes()) == "2.10.3"
    assert doc_version((site_root("v2", "mlflow") / page).read_bytes()) == "2.11.0"
    assert doc_version((site_root("v1", "metaflow") / "index.html").read_bytes()) is None
