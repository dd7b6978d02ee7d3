"""Documentation sources: which site to crawl for which tool, from a TOML file.

The shipped file is `data/sources.toml`; `--sources FILE` replaces it with the user's own.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from knowledge.errors import UsageError, unknown_name

REQUIRED = ("tool", "roots", "allow")
# What a source does with its doc variants (`variants = {r = "/v/r/"}`): leave them out (the
# default: the tool's evidence is its main docs), or crawl each as a tool of its own, "TOOL-NAME".
VARIANT_MODES = ("exclude", "separate")


@dataclass(frozen=True)
class Source:
    tool: str
    name: str
    roots: tuple[str, ...]
    allow: tuple[str, ...]
    deny: tuple[str, ...] = ()
    sitemaps: tuple[str, ...] = ()
    content: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    generator: str = ""
    homepage: str = ""
    cited: tuple[str, ...] = ()
    max_pages: int = 2000
    variants: tuple[tuple[str, str], ...] = ()   # (name, URL path prefix) of doc variants
    variant_mode: str = "exclude"                # see VARIANT_MODES
    variant_of: str = ""           # on a source made for a variant shown separately: the main tool
    origin: str | None = None      # set by --base-url: the mirror all URLs were rewritten to
    # set by --base-url: the real site's origins the mirror stands for, and its scope there (a URL
    # of the real site moves onto the mirror only when it is in that scope)
    live_origins: tuple[str, ...] = ()
    live_allow: tuple[str, ...] = ()
    live_deny: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if k != "extra"}
        out["variants"] = dict(self.variants)
        return out

    def variant_prefixes(self) -> tuple[str, ...]:
        """URL prefixes of this source's doc variants on each of its origins (left out of its crawl)."""
        origins = dict.fromkeys(_origin(a) for a in self.allow)
        return tuple(o + prefix for o in origins for _name, prefix in self.variants)

    def with_origin(self, origin: str) -> "Source":
        """Replace scheme and host of every URL with `origin` (a mirror serving the same paths)."""
        origin = _check_origin(origin, self.tool)
        move = lambda urls: tuple(rebase(u, origin) for u in urls)  # noqa: E731
        site = self.roots + self.allow + self.deny + self.sitemaps
        live = _unique(tuple(_origin(u).lower() for u in site))
        return replace(self, roots=_unique(move(self.roots)), allow=_unique(move(self.allow)),
                       deny=_unique(move(self.deny)), sitemaps=_unique(move(self.sitemaps)), origin=origin,
                       live_origins=live, live_allow=self.live_allow or self.allow,
                       live_deny=self.live_deny or self.deny)


def rebase(url: str, origin: str) -> str:
    parts, base = urlsplit(url), urlsplit(origin)
    return urlunsplit((base.scheme, base.netloc, parts.path or "/", parts.query, parts.fragment))


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def variant_sources(source: Source) -> list[Source]:
    """The sources of a tool's doc variants shown separately: tool "metaflow-r" crawls /v/r/ only."""
    if source.variant_mode != "separate":
        return []
    out = []
    for name, prefix in source.variants:
        urls = _unique(tuple(_origin(a) + prefix for a in source.allow))
        out.append(replace(source, tool=f"{source.tool}-{name}", name=f"{source.name} ({name})", roots=urls,
                           allow=urls, cited=(), variants=(), variant_mode="exclude", variant_of=source.tool))
    return out


def _check_origin(origin: str, tool: str) -> str:
    parts = urlsplit(origin if "://" in origin else f"http://{origin}")
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--base-url for {tool} must be an origin like http://127.0.0.1:8001, got '{origin}'.")
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def load_sources(path: Path | str | None = None) -> dict[str, Source]:
    """Parse a sources file into {tool: Source}; any problem is a one-line UsageError."""
    if path is None:
        text, where = (resources.files("knowledge") / "data" / "sources.toml").read_text(encoding="utf-8"), "built-in sources"
    else:
        p = Path(path)
        try:
            text, where = p.read_text(encoding="utf-8"), str(p)
        except FileNotFoundError:
            raise UsageError(f"Sources file {p} does not exist.", "Check the --sources path.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"Cannot read sources file {p}: {exc}.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Sources file {where} is not valid TOML: {exc}.",
                         "Fix that line; see knowledge/data/sources.toml for the format.") from None
    entries = data.get("source")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"Sources file {where} has no [[source]] entries.",
                         "Add one [[source]] table per tool; see knowledge/data/sources.toml.")
    out: dict[str, Source] = {}
    for i, entry in enumerate(entries, 1):
        out_source = _parse_entry(entry, i, where)
        for source in [out_source, *variant_sources(out_source)]:
            if source.tool in out:
                raise UsageError(f"Sources file {where}: tool '{source.tool}' appears twice.")
            out[source.tool] = source
    return out


def _parse_entry(entry: dict, i: int, where: str) -> Source:
    missing = [k for k in REQUIRED if not entry.get(k)]
    if missing:
        raise UsageError(f"Sources file {where}: entry {i} lacks {', '.join(missing)}.",
                         "Each [[source]] needs tool, roots and allow.")

    def urls(key: str) -> tuple[str, ...]:
        value = entry.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(u, str) for u in value):
            raise UsageError(f"Sources file {where}: '{key}' of {entry['tool']} must be a list of strings.")
        return tuple(value)

    for key in ("roots", "allow", "sitemaps"):
        for u in urls(key):
            if urlsplit(u).scheme not in ("http", "https"):
                raise UsageError(f"Sources file {where}: {key} URL '{u}' of {entry['tool']} is not an http(s) URL.")
    tool = str(entry["tool"]).strip().lower()
    if not tool.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"Sources file {where}: tool name '{entry['tool']}' must be letters, digits, - or _.")
    try:
        max_pages = int(entry.get("max_pages", 2000))
    except (TypeError, ValueError):
        raise UsageError(f"Sources file {where}: max_pages of {tool} must be a whole number.") from None
    variants = entry.get("variants", {})
    if not isinstance(variants, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and v.startswith("/") for k, v in variants.items()):
        raise UsageError(f"Sources file {where}: 'variants' of {tool} must be a table of URL path prefixes, "
                         "e.g. variants = {r = \"/v/r/\"}.")
    mode = entry.get("variant_mode", "exclude")
    if mode not in VARIANT_MODES:
        raise UsageError(f"Sources file {where}: variant_mode of {tool} must be one of {', '.join(VARIANT_MODES)}, "
                         f"got '{mode}'.")
    known = {"tool", "name", "roots", "allow", "deny", "sitemaps", "content", "drop", "generator",
             "homepage", "cited", "max_pages", "variants", "variant_mode"}
    return Source(tool=tool, name=str(entry.get("name", tool)), roots=urls("roots"), allow=urls("allow"),
                  deny=urls("deny"), sitemaps=urls("sitemaps"), content=urls("content"), drop=urls("drop"),
                  generator=str(entry.get("generator", "")), homepage=str(entry.get("homepage", "")),
                  cited=urls("cited"), max_pages=max_pages,
                  variants=tuple((str(k).strip().lower(), v) for k, v in variants.items()), variant_mode=mode,
                  extra={k: v for k, v in entry.items() if k not in known})


def select_sources(sources: dict[str, Source], tools: list[str] | None,
                   base_urls: list[str] | None = None) -> list[Source]:
    """The sources named (all when none), with --base-url TOOL=ORIGIN overrides applied."""
    names = [t.strip().lower() for t in tools] if tools else list(sources)
    for n in names:
        if n not in sources:
            raise unknown_name("tool", n, list(sources))
    overrides: dict[str, str] = {}
    for item in base_urls or []:
        tool, sep, origin = item.partition("=")
        tool = tool.strip().lower()
        if not sep or not origin:
            raise UsageError(f"--base-url expects TOOL=ORIGIN (e.g. dvc=http://127.0.0.1:8002), got '{item}'.")
        if tool not in sources:
            raise unknown_name("tool", tool, list(sources))
        overrides[tool] = origin.strip()
    for n in names:   # a variant shown separately is served by its main tool's mirror
        if n not in overrides and sources[n].variant_of in overrides:
            overrides[n] = overrides[sources[n].variant_of]
    return [sources[n].with_origin(overrides[n]) if n in overrides else sources[n] for n in names]
