"""The study's baseline: what it says per tool x criterion, with its citations and normalised facts.

Loaded from `data/baseline.toml` (or a file given by the caller). The diff compares the facts found in
today's docs with a cell's `facts`; the review and the report show `claim`, `status` and `citations`.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from extractors.facts import FACT_VOCABULARY  # noqa: F401  (the vocabulary, as callers of the baseline read it)
from knowledge.domain.assertions import Assertion, parse_assertions, parse_facts
from knowledge.errors import UsageError

STATUSES = ("stated", "to_be_tested", "work_in_progress", "not_found")

# Fact categories and value ids are shared with the tagger (extractors/facts.py).
_CLAIM_KEYS = {"tool", "criterion", "claim", "citations", "status", "facts", "assertion"}
_TOOL_KEYS = {"definition", "conclusions", "verdict", "citations"}


@dataclass(frozen=True)
class BaselineClaim:
    tool: str
    criterion: str
    claim: str
    citations: tuple[str, ...]
    status: str                                # one of STATUSES
    facts: dict[str, tuple[str, ...]]          # {category: value ids}, categories the claim speaks about
    assertions: tuple[Assertion, ...] = ()     # the claim as checkable statements (domain/assertions.py)

    @property
    def has_finding(self) -> bool:
        """False for "to be tested" / "work in progress": the study gave no finding to check."""
        return self.status in ("stated", "not_found")


@dataclass(frozen=True)
class ToolSummary:
    tool: str
    definition: str
    conclusions: tuple[str, ...]
    verdict: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class Baseline:
    claims: dict[tuple[str, str], BaselineClaim]
    tools: dict[str, ToolSummary]


def load_baseline(path: Path | str | None = None) -> dict[tuple[str, str], BaselineClaim]:
    """{(tool, criterion): claim}; the built-in file when `path` is None. Bad entries raise UsageError."""
    return (_builtin() if path is None else _load(str(path))).claims


def baseline_for(tool: str, criterion: str) -> BaselineClaim | None:
    """The built-in study claim for one cell, or None when the study has no entry for it."""
    return _builtin().claims.get((tool, criterion))


def tool_summary(tool: str) -> ToolSummary | None:
    """The study's definition, conclusions and verdict for a tool (built-in file)."""
    return _builtin().tools.get(tool)


@lru_cache(maxsize=1)
def _builtin() -> Baseline:
    return _load(None)


def _load(path: str | None) -> Baseline:
    text, where = _read(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"Baseline file {where} is not valid TOML: {exc}.",
                         "Fix that line; see knowledge/data/baseline.toml for the format.") from None
    from knowledge.domain.checklist import criterion_ids
    from knowledge.domain.sources import load_sources

    tools, criteria = sorted(load_sources()), criterion_ids()
    entries = data.get("claim")
    if not isinstance(entries, list) or not entries:
        raise UsageError(f"Baseline file {where} has no [[claim]] entries.",
                         "Add one [[claim]] table per tool and criterion; see knowledge/data/baseline.toml.")
    claims: dict[tuple[str, str], BaselineClaim] = {}
    for i, entry in enumerate(entries, 1):
        claim = _parse_claim(entry, f"Baseline file {where}, claim {i}", tools, criteria)
        key = (claim.tool, claim.criterion)
        if key in claims:
            raise UsageError(f"Baseline file {where}, claim {i}: {claim.tool} x {claim.criterion} appears twice.")
        claims[key] = claim
    summaries = {}
    for tool, entry in (data.get("tool") or {}).items():
        summaries[tool] = _parse_tool(tool, entry, f"Baseline file {where}, [tool.{tool}]", tools)
    return Baseline(claims, summaries)


def _read(path: str | None) -> tuple[str, str]:
    if path is None:
        return (resources.files("knowledge") / "data" / "baseline.toml").read_text(encoding="utf-8"), "built-in baseline"
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8"), str(p)
    except FileNotFoundError:
        raise UsageError(f"Baseline file {p} does not exist.", "Check the path.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"Cannot read baseline file {p}: {exc}.") from None


def _parse_claim(entry: dict, where: str, tools: list[str], criteria: list[str]) -> BaselineClaim:
    if not isinstance(entry, dict):
        raise UsageError(f"{where} must be a table.")
    unknown = sorted(set(entry) - _CLAIM_KEYS)
    if unknown:
        raise UsageError(f"{where} has unknown field(s) {', '.join(unknown)}.",
                         f"Allowed fields: {', '.join(sorted(_CLAIM_KEYS))}.")
    missing = [k for k in ("tool", "criterion", "claim", "status") if not isinstance(entry.get(k), str) or not entry[k].strip()]
    if missing:
        raise UsageError(f"{where} lacks {', '.join(missing)}.", "Each [[claim]] needs tool, criterion, claim and status.")
    tool, criterion, status = entry["tool"], entry["criterion"], entry["status"]
    if tool not in tools:
        raise UsageError(f"{where}: unknown tool '{tool}'.", f"Valid tools: {', '.join(tools)}.")
    if criterion not in criteria:
        raise UsageError(f"{where} ({tool}): unknown criterion '{criterion}'.", f"Valid criteria: {', '.join(criteria)}.")
    if status not in STATUSES:
        raise UsageError(f"{where} ({tool} x {criterion}): unknown status '{status}'.",
                         f"Valid statuses: {', '.join(STATUSES)}.")
    label = f"{where} ({tool} x {criterion})"
    return BaselineClaim(tool=tool, criterion=criterion, claim=entry["claim"].strip(),
                         citations=_urls(entry.get("citations", []), label),
                         status=status, facts=parse_facts(entry.get("facts", {}), label),
                         assertions=parse_assertions(entry.get("assertion"), label, tool, criterion))


def _urls(value, where: str) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise UsageError(f"{where}: citations must be a list of URLs.")
    for url in value:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"{where}: citation {url!r} is not an http(s) URL.")
    return tuple(value)


def _parse_tool(tool: str, entry, where: str, tools: list[str]) -> ToolSummary:
    if tool not in tools:
        raise UsageError(f"{where}: unknown tool '{tool}'.", f"Valid tools: {', '.join(tools)}.")
    if not isinstance(entry, dict) or set(entry) - _TOOL_KEYS:
        raise UsageError(f"{where}: allowed fields are {', '.join(sorted(_TOOL_KEYS))}.")
    conclusions = entry.get("conclusions", [])
    if not isinstance(conclusions, list) or not all(isinstance(c, str) for c in conclusions):
        raise UsageError(f"{where}: conclusions must be a list of strings.")
    return ToolSummary(tool=tool, definition=str(entry.get("definition", "")), conclusions=tuple(conclusions),
                       verdict=str(entry.get("verdict", "")), citations=_urls(entry.get("citations", []), where))
