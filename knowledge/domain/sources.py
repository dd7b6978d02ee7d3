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
    origin: str | None = None      # set by --base-url: the mirror all URLs were rewritten to
    extra: dict = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items() if k != "extra"}

    def with_origin(self, origin: str) -> "Source":
        """Replace scheme and host of every URL with `origin` (a mirror serving the same paths)."""
        origin = _check_origin(origin, self.tool)
        move = lambda urls: tuple(rebase(u, origin) for u in urls)  # noqa: E731
        return replace(self, roots=_unique(move(self.roots)), allow=_unique(move(self.allow)),
                       deny=_unique(move(self.deny)), sitemaps=_unique(move(self.sitemaps)), origin=origin)


def rebase(url: str, origin: str) -> str:
    parts, base = urlsplit(url), urlsplit(origin)
    return urlunsplit((base.scheme, base.netloc, parts.path or "/", parts.query, parts.fragment))


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


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
        if out_source.tool in out:
            raise UsageError(f"Sources file {where}: tool '{out_source.tool}' appears twice.")
        out[out_source.tool] = out_source
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
    known = {"tool", "name", "roots", "allow", "deny", "sitemaps", "content", "drop", "generator",
             "homepage", "cited", "max_pages"}
    return Source(tool=tool, name=str(entry.get("name", tool)), roots=urls("roots"), allow=urls("allow"),
                  deny=urls("deny"), sitemaps=urls("sitemaps"), content=urls("content"), drop=urls("drop"),
                  generator=str(entry.get("generator", "")), homepage=str(entry.get("homepage", "")),
                  cited=urls("cited"), max_pages=max_pages,
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
    return [sources[n].with_origin(overrides[n]) if n in overrides else sources[n] for n in names]
