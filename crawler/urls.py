"""URL identity and scope: pure functions, no Scrapy.

A page's identity is its normalised absolute URL: no fragment, no tracking query, lower-case
scheme and host, no default port, and no trailing slash except for the root "/" (static servers
answer /x with a redirect to /x/, so both spellings are the same page).
"""
from __future__ import annotations

import posixpath
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PARAMS = {"gclid", "fbclid", "msclkid", "mc_cid", "mc_eid", "_ga", "_gl", "ref_src", "yclid"}
DEFAULT_PORTS = {"http": 80, "https": 443}

# Never worth a request on a documentation crawl: media, archives, assets, binaries.
SKIP_EXTENSIONS = frozenset("""
png jpg jpeg gif svg webp ico bmp tif tiff avif
css js mjs map json xml txt csv tsv yaml yml toml ipynb py sh
woff woff2 ttf otf eot
pdf zip gz tgz bz2 xz tar whl egg jar rar 7z dmg exe msi deb rpm
mp3 mp4 m4a wav ogg webm mov avi mkv
""".split())


def normalise(url: str, base: str | None = None) -> str | None:
    """The canonical form of `url` (resolved against `base`), or None if it is not a web page URL."""
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
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _tracking(k)])
    return urlunsplit((scheme, netloc, path, query, ""))


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
