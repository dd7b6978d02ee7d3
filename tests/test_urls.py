from crawler.urls import in_scope, is_alias, normalise, path_of, skipped_extension, to_mirror, under


def test_normalise_drops_fragment_tracking_default_port_and_trailing_slash():
    assert normalise("HTTPS://Docs.Example.org:443/a/b/?utm_source=x&q=1#frag") == "https://docs.example.org/a/b?q=1"
    assert normalise("http://example.org:80/") == "http://example.org/"
    assert normalise("http://example.org") == "http://example.org/"
    assert normalise("http://example.org:8001/x/") == "http://example.org:8001/x"
    assert normalise("http://example.org/x?gclid=1&fbclid=2") == "http://example.org/x"


def test_root_keeps_its_slash_and_dot_segments_resolve():
    assert normalise("https://example.org/") == "https://example.org/"
    assert normalise("../c", base="https://example.org/a/b/") == "https://example.org/a/c"
    assert normalise("install", base="https://example.org/guide/") == "https://example.org/guide/install"
    assert normalise("install", base="https://example.org/guide") == "https://example.org/install"
    assert normalise("https://example.org//a//b") == "https://example.org/a/b"


def test_normalise_rejects_non_web_urls():
    for url in ("mailto:a@b.c", "javascript:void(0)", "ftp://example.org/x", "", "http://", "http://x:notaport/"):
        assert normalise(url) is None


def test_scope_uses_path_segment_boundaries_and_deny():
    allow, deny = ("https://dvc.org/doc",), ("https://dvc.org/doc/static/",)
    assert in_scope("https://dvc.org/doc", allow, deny)
    assert in_scope("https://dvc.org/doc/start/", allow, deny)
    assert not in_scope("https://dvc.org/docs-old/x", allow, deny)
    assert not in_scope("https://dvc.org/doc/static/app.js", allow, deny)
    assert not in_scope("https://other.org/doc", allow, deny)
    assert under("https://mlflow.org/docs/latest", "https://mlflow.org/docs/latest/")
    assert under("https://mlflow.org/docs/latest/index.html", "https://mlflow.org/docs/latest/")
    assert not under("https://mlflow.org/docs/latest2/x", "https://mlflow.org/docs/latest/")
    assert in_scope("http://127.0.0.1:8001/anything", ("http://127.0.0.1:8001/",))
    assert not in_scope("http://127.0.0.1:8002/anything", ("http://127.0.0.1:8001/",))


def test_skipped_extensions_and_path():
    assert skipped_extension("https://x.org/img/logo.PNG") == "png"
    assert skipped_extension("https://x.org/docs/latest/models.html") is None
    assert skipped_extension("https://x.org/v1.2/guide") is None
    assert path_of("https://x.org/a/b?x=1") == "/a/b?x=1"
    assert path_of("https://x.org") == "/"


def test_index_pages_and_encodings_are_one_page():
    """/x, /x/, /x/index.html and percent-encoding or query-order variants are the same page."""
    same = ["https://d.org/docs/x", "https://d.org/docs/x/", "https://d.org/docs/x/index.html",
            "https://d.org/docs/x/INDEX.HTM", "https://D.org:443/docs/x/./index.html#top"]
    assert {normalise(u) for u in same} == {"https://d.org/docs/x"}
    assert normalise("https://d.org/index.html") == "https://d.org/"
    assert normalise("https://d.org/a%7eb?b=2&a=1") == normalise("https://d.org/a~b?a=1&b=2") == "https://d.org/a~b?a=1&b=2"
    # the URL to request keeps the file a static host may need
    assert normalise("https://d.org/docs/x/index.html?utm_source=z", keep_index=True) == "https://d.org/docs/x/index.html"
    assert is_alias("https://d.org/docs/x/index.html", "https://d.org/docs/x")
    assert not is_alias("https://d.org/docs/x/", "https://d.org/docs/x")
    assert not is_alias("https://d.org/docs/models.html", "https://d.org/docs/models.html")


def test_urls_of_the_real_site_move_onto_the_mirror():
    live, mirror = ("https://docs.metaflow.org", "https://mlflow.org"), "http://127.0.0.1:8001"
    assert to_mirror("https://docs.metaflow.org/api/s3?x=1#frag", live, mirror) == "http://127.0.0.1:8001/api/s3?x=1#frag"
    assert to_mirror("http://docs.metaflow.org/", live, mirror) == "http://127.0.0.1:8001/"       # scheme too
    assert to_mirror("https://www.mlflow.org/docs/latest/x.html", live, mirror).startswith(mirror)   # www. too
    for other in ("https://github.com/Netflix/metaflow", "https://docs.metaflow.org:8443/x", "mailto:a@b.c"):
        assert to_mirror(other, live, mirror) == other
    assert to_mirror("https://docs.metaflow.org/x", live, None) == "https://docs.metaflow.org/x"   # no mirror
