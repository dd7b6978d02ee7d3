from crawler.urls import in_scope, normalise, path_of, skipped_extension, under


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
