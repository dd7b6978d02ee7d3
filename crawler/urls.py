"""URL identity and scope: pure functions, no Scrapy.

A page's identity is its normalised absolute URL: no fragment, no tracking query, lower-case
scheme and host, no default port, no trailing slash except for the root "/" (static servers
answer /x with a redirect to /x/, so both spellings are the same page), no trailing index page
(/x/index.html is /x), and w3lib's canonical form for the rest (percent-encoding, query order).
The URL actually requested keeps the index page as linked (`normalise(url, keep_index=True)`):
some static hosts only answer the explicit file.

A mirror (`--base-url`) serves the same paths as the real site, whose pages, sitemaps and
redirects still name the real host: `to_mirror` moves such URLs onto the mirror.
"""
from __future__ import annotations

import posixpath
from functools import lru_cache
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

TRACKING_PARAMS = {"gclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "ref_src", "yclid"}
DEFAULT_PORTS = {"http": 80, "https": 443}

INDEX_PAGES = ("index.html", "index.htm")
# Never worth a request on a documentation crawl: media, archives, assets, binaries.
SKIP_EXTENSIONS = frozenset("""
png jpg jpeg gif svg webp ico bmp tif tiff avif
css js mjs map json xml txt csv tsv yaml yml toml ipynb py sh
woff woff2 ttf otf eot
pdf zip gz tgz bz2 xz tar whl egg jar rar 7z dmg exe msi deb rpm
mp3 mp4 m4a wav ogg webm mov avi mkv
""".split())


@lru_cache(maxsize=1 << 16)   # pure, and a crawl asks about the same sidebar URLs on every page
def normalise(url: str, base: str | None = None, *, keep_index: bool = False) -> str | None:
    """The canonical form of `url` (resolved against `base`), or None if it is not a web page URL.

    `keep_index=True` keeps a trailing index.html: the URL to request rather than the identity."""
    url = (url or "").strip()
    if base is not None:
        url = urljoin(base, url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # malformed netloc or port
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    path = _clean_path(parts.path)
    if not keep_index and path.rsplit("/", 1)[-1].lower() in INDEX_PAGES:
        path = _clean_path(path.rsplit("/", 1)[0])
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)])
    return canonicalize_url(urlunsplit((scheme, netloc, path, query, "")))


def is_alias(raw: str, identity: str) -> bool:
    """Does a link spelled `raw` name its page in a non-trivial other way (an index page)?"""
    last = urlsplit(raw).path.rstrip("/").rsplit("/", 1)[-1].lower()
    return last in INDEX_PAGES and raw != identity


def _clean_path(path: str) -> str:
    if not path:
        return "/"
    # Resolve "." and ".." segments the way a browser does, keeping a meaningful trailing slash out.
    clean = posixpath.normpath(path)
    if clean.startswith("//"):
        clean = "/" + clean.lstrip("/")
    return "/" if clean in (".", "/") else clean.rstrip("/") or "/"


def _tracking(key: str) -> bool:
    k = key.lower()
    return k.startswith("utm_") or k in TRACKING_PARAMS


def path_of(url: str) -> str:
    """Path (+ query) of a URL: what matches a page across origins (the real site and a mirror)."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def under(url: str, prefix: str) -> bool:
    """Is `url` at or below `prefix`, on a path-segment boundary? Both are normalised first."""
    u, p = normalise(url), normalise(prefix)
    if u is None or p is None:
        return False
    if u == p or p.endswith("/"):  # p ends with "/" only for an origin root
        return u.startswith(p) or u == p
    return u.startswith(p + "/") or u.startswith(p + "?")


def in_scope(url: str, allow: tuple[str, ...] | list[str], deny: tuple[str, ...] | list[str] = ()) -> bool:
    return any(under(url, a) for a in allow) and not any(under(url, d) for d in deny)


def skipped_extension(url: str) -> str | None:
    """The file extension if the URL names a non-HTML file by its extension, else None."""
    last = urlsplit(url).path.rsplit("/", 1)[-1]
    if "." not in last:
        return None
    ext = last.rsplit(".", 1)[-1].lower()
    return ext if ext in SKIP_EXTENSIONS else None


# ------------------------------------------------------------------------------ mirrors
def _bare_host(host: str) -> str:
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def to_mirror(url: str, live: tuple[str, ...] | list[str], mirror: str | None) -> str:
    """`url` on the mirror when it is under one of the real site's origins (www. or not, http or
    https), else unchanged. Scheme and host of the mirror, path, query and fragment of the URL."""
    if not mirror or not live:
        return url
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return url
    if not host or parts.scheme.lower() not in DEFAULT_PORTS:
        return url
    for origin in live:
        o = urlsplit(origin)
        if _bare_host(o.hostname or "") == _bare_host(host) and (o.port or None) == (port or None):
            m = urlsplit(mirror)
            return urlunsplit((m.scheme, m.netloc, parts.path or "/", parts.query, parts.fragment))
    return url
