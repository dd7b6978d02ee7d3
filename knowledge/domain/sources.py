"""Documentation sources: which site to crawl for which tool, from a TOML file.

The shipped file is `data/sources.toml`; `--sources FILE` replaces it with the user's own.
"""
from __future__ import annotations

import difflib
import re
import tomllib
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

from knowledge.errors import UsageError, unknown_name

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
    keep_query: bool = False       # link traps (crawler.traps): follow links with query strings as such
    max_depth: int = 12            # ... no deeper than this many path segments
    max_similar: int = 50          # ... and at most this many pages that differ only in their numbers
    origin: str | None = None      # set by --base-url: the mirror all URLs were rewritten to
    # set by --base-url: the real site's origins the mirror stands for, and its scope there (a URL
    # of the real site moves onto the mirror only when it is in that scope)
    live_origins: tuple[str, ...] = ()
    live_allow: tuple[str, ...] = ()
    live_deny: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}
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
    try:
        parts = urlsplit(origin if "://" in origin else f"http://{origin}")
        parts.port   # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise UsageError(f"--base-url for {tool} must be an origin like http://127.0.0.1:8001, got '{origin}'.")
    return f"{parts.scheme}://{parts.netloc}"


def is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host.startswith("127.") or host == "::1"


def load_sources(path: Path | str | None = None) -> dict[str, Source]:
    """Parse a sources file into {tool: Source}. Every problem in it is reported at once, one line
    each (file:line, which entry, which key, what is wrong), as a UsageError (exit code 2)."""
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
    problems = _Problems(where, text)
    for key in data:
        if key != "source":
            problems.add(None, key, "unknown top-level key (the file holds [[source]] tables only)")
    entries = data.get("source")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        problems.add(None, "source", "no [[source]] entries" if entries is None or entries == [] else
                     "must be [[source]] tables (one per tool), not a plain value")
        problems.raise_if_any()
    out: dict[str, Source] = {}
    for i, entry in enumerate(entries, 1):
        parsed = _parse_entry(entry, i, problems)
        for source in [parsed, *variant_sources(parsed)] if parsed else []:
            if source.tool in out:
                problems.add(i, "tool", f"tool '{source.tool}' appears twice")
            out[source.tool] = source
    problems.raise_if_any()
    return out


# --------------------------------------------------------------------------- the schema
# One line per key: adding a key to the sources file is one line here (and a Source field).
# Each check returns (value for Source, problem or None).
def _text(v):
    return (v, None) if isinstance(v, str) else (None, "must be a string")


def _name(v):
    if not isinstance(v, str) or not v.strip():
        return None, "must be a non-empty string"
    name = v.strip().lower()
    ok = name.replace("-", "").replace("_", "").isalnum()
    return (name, None) if ok else (None, f"'{v}' must be letters, digits, - or _")


def _strings(v):
    v = [v] if isinstance(v, str) else v
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        return None, "must be a list of strings"
    return tuple(v), None


def _urls(v):
    v, problem = _strings(v)
    if problem:
        return None, problem
    for url in v:
        problem = _url_problem(url)
        if problem:
            return None, problem
    return v, None


def _selectors(v):
    v, problem = _strings(v)
    if problem:
        return None, problem
    from lxml.cssselect import CSSSelector   # what the extractor compiles them with

    for sel in v:
        try:
            CSSSelector(sel)
        except Exception as exc:   # cssselect raises several error types
            return None, f"'{sel}' is not a CSS selector ({exc})"
    return v, None


def _count(v):
    if isinstance(v, bool) or not isinstance(v, int):
        return None, "must be a whole number"
    return (v, None) if v >= 1 else (None, f"must be at least 1, got {v}")


def _flag(v):
    return (v, None) if isinstance(v, bool) else (None, "must be true or false")


def _variants(v):
    if not isinstance(v, dict) or not all(isinstance(k, str) and isinstance(p, str) and p.startswith("/")
                                          for k, p in v.items()):
        return None, 'must be a table of URL path prefixes, e.g. variants = {r = "/v/r/"}'
    return tuple((k.strip().lower(), p) for k, p in v.items()), None


def _variant_mode(v):
    return (v, None) if v in VARIANT_MODES else (None, f"must be one of {', '.join(VARIANT_MODES)}, got '{v}'")


KEYS: dict[str, tuple[Callable, bool]] = {     # key: (check, required)
    "tool": (_name, True),
    "name": (_text, False),
    "roots": (_urls, True),
    "allow": (_urls, True),
    "deny": (_urls, False),
    "sitemaps": (_urls, False),
    "content": (_selectors, False),
    "drop": (_selectors, False),
    "generator": (_text, False),
    "homepage": (_text, False),
    "cited": (_urls, False),
    "max_pages": (_count, False),
    "variants": (_variants, False),
    "variant_mode": (_variant_mode, False),
    "keep_query": (_flag, False),
    "max_depth": (_count, False),
    "max_similar": (_count, False),
}


def _url_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        parts.port   # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        return f"URL '{url}' cannot be read ({exc})"
    if parts.scheme not in ("http", "https"):
        return f"URL '{url}' is not an http(s) URL"
    if not parts.hostname:
        return f"URL '{url}' has no host name"
    return None


def _parse_entry(entry: dict, i: int, problems: "_Problems") -> Source | None:
    values: dict = {}
    missing = [k for k, (_check, required) in KEYS.items() if required and entry.get(k) in (None, "", [])]
    if missing:
        problems.add(i, missing[0], f"lacks {', '.join(missing)} (each [[source]] needs tool, roots and allow)")
    for key, value in entry.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            problems.add(i, key, "unknown key" + (f" (did you mean '{close[0]}'?)" if close else
                                                  f"; known keys: {', '.join(KEYS)}"))
            continue
        if key in missing:
            continue
        checked, problem = KEYS[key][0](value)
        if problem:
            problems.add(i, key, problem)
        else:
            values[key] = checked
    if missing or len(values) < len(entry):
        return None
    values.setdefault("name", values["tool"])
    return Source(**values)


class _Problems:
    """Problems of one sources file, each located as file:line where the key is written."""

    def __init__(self, where: str, text: str):
        self.where = where
        self.lines = text.splitlines()
        self.items: list[str] = []
        headers = [n for n, line in enumerate(self.lines) if re.match(r"\s*\[", line)]
        self.blocks = []   # (first, last) line index of each [[source]] table, in order
        for n in headers:
            if re.match(r"\s*\[\[\s*source\s*\]\]", self.lines[n]):
                self.blocks.append((n, next((h for h in headers if h > n), len(self.lines))))

    def add(self, entry: int | None, key: str, problem: str) -> None:
        first, last = (0, len(self.lines)) if entry is None or entry > len(self.blocks) else self.blocks[entry - 1]
        line = next((n + 1 for n in range(first, last)
                     if re.match(rf"""\s*["']?{re.escape(key)}["']?\s*=""", self.lines[n])), None)
        if line is None and entry is not None and entry <= len(self.blocks):
            line = first + 1
        place = f"{self.where}:{line}" if line else self.where
        which = f"[[source]] #{entry}: " if entry is not None else ""
        self.items.append(f"{place}: {which}'{key}': {problem}")

    def raise_if_any(self) -> None:
        if self.items:
            raise UsageError(f"Sources file {self.where} has {len(self.items)} problem(s):\n" + "\n".join(self.items),
                             "Fix each line above; knowledge/data/sources.toml shows the format.")


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


def check_tool_names(names: list[str], known: list[str]) -> list[str]:
    """Tool names as typed -> normalised and de-duplicated, in order; an unknown one is a
    UsageError that lists the known tools (every command that takes --tool checks them this way)."""
    out = []
    for t in names:
        name = t.strip().lower()
        if name not in known:
            raise unknown_name("tool", t, known)
        out.append(name)
    return list(dict.fromkeys(out))
