"""The study's claims as checkable assertions: the data model and its validation.

Each `[[claim]]` of `data/baseline.toml` carries a few `[[claim.assertion]]` tables, written by
reading the study (never by reading today's docs: an assertion names what the study says and how
documentation would support or contradict it, not where today's docs say it). Kinds:

  exists  the study names a thing (command, decorator, component, backend, UI) as documented.
          Supported by a mention of one of `terms` (optionally within a sentence that has a word
          starting with one of `context`) or one of `facts`; contradicted when the docs call it deprecated, removed or
          renamed, or no longer mention it at all.
  absent  the study says something is missing or limited ("no UI for trainings", "tightly
          coupled to AWS", "no enterprise plan"). `terms` / `facts` describe what would show the
          opposite; finding them contradicts the assertion. `except_context` drops sentences that
          speak of something the study already allowed for (e.g. a paid managed service it named).
  limit   the study states a number (a price or size limit). `pattern` is a regular expression
          whose first group is the number, `value` the study's number; a sentence needs one of
          `context`. Another number stated in the docs contradicts it.
  list    the study enumerates values: fact values (`facts`) and/or named items (`items`, read
          from "Name: description" lines of passages whose heading or text matches
          `items_context`). With `exhaustive = true` the study's list was the whole picture, so a
          value the docs add contradicts it ("the list has grown"); otherwise added values are
          notable new evidence.

Common fields: `id` (unique within the claim), `says` (the study's statement, one sentence),
`weight` ("core", or "minor" for an aside whose contradiction alone does not make a claim stale),
`scope` ("cell": passages tagged with the claim's criterion; "tool": every passage of the tool),
`cited` (the study's URLs for this statement), `note` (why the assertion reads the study this way).
Terms are case-insensitive phrases matched on word boundaries, or regular expressions written
"re:...".
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from extractors.facts import FACT_VOCABULARY
from knowledge.errors import UsageError

KINDS = ("exists", "absent", "limit", "list")
WEIGHTS = ("core", "minor")
SCOPES = ("cell", "tool")
DEFAULT_SCOPE = {"exists": "tool", "absent": "tool", "limit": "tool", "list": "cell"}
_KEYS = {"id", "says", "kind", "terms", "context", "except_context", "facts", "items", "items_context",
         "exhaustive", "pattern", "value", "weight", "scope", "cited", "note", "heading_only"}
_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Assertion:
    tool: str
    criterion: str
    id: str
    says: str
    kind: str
    terms: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    except_context: tuple[str, ...] = ()
    facts: dict[str, tuple[str, ...]] | None = None
    items: tuple[str, ...] = ()
    items_context: str = ""
    exhaustive: bool = False
    pattern: str = ""
    value: str = ""
    weight: str = "core"
    scope: str = "tool"
    cited: tuple[str, ...] = ()
    heading_only: bool = False
    note: str = ""

    @property
    def key(self) -> str:
        """Globally unique id: tool.criterion.id."""
        return f"{self.tool}.{self.criterion}.{self.id}"

    def fact_pairs(self) -> set[tuple[str, str]]:
        return {(c, v) for c, vs in (self.facts or {}).items() for v in vs}

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if v not in ((), "", None, False) or k == "exhaustive"}
        d["facts"] = {c: list(v) for c, v in (self.facts or {}).items()}
        d["key"] = self.key
        return d


def parse_assertions(entries, where: str, tool: str, criterion: str) -> tuple[Assertion, ...]:
    """Validate the [[claim.assertion]] tables of one claim; any problem is a one-line UsageError."""
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise UsageError(f"{where}: 'assertion' must be a list of [[claim.assertion]] tables.")
    out: list[Assertion] = []
    for i, entry in enumerate(entries, 1):
        out.append(_parse_one(entry, f"{where}, assertion {i}", tool, criterion))
    ids = [a.id for a in out]
    dup = sorted({x for x in ids if ids.count(x) > 1})
    if dup:
        raise UsageError(f"{where}: assertion id(s) {', '.join(dup)} appear twice.")
    return tuple(out)


def _parse_one(entry, where: str, tool: str, criterion: str) -> Assertion:
    if not isinstance(entry, dict):
        raise UsageError(f"{where} must be a table.")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise UsageError(f"{where} has unknown field(s) {', '.join(unknown)}.",
                         f"Allowed fields: {', '.join(sorted(_KEYS))}.")
    ident, says, kind = entry.get("id"), entry.get("says"), entry.get("kind")
    if not isinstance(ident, str) or not _ID.match(ident):
        raise UsageError(f"{where}: id must be lower-case letters, digits and '-' (got {ident!r}).")
    where = f"{where} ({ident})"
    if not isinstance(says, str) or not says.strip():
        raise UsageError(f"{where} lacks 'says' (the study's statement).")
    if kind not in KINDS:
        raise UsageError(f"{where}: unknown kind {kind!r}.", f"Valid kinds: {', '.join(KINDS)}.")
    weight = entry.get("weight", "core")
    if weight not in WEIGHTS:
        raise UsageError(f"{where}: unknown weight {weight!r}.", f"Valid weights: {', '.join(WEIGHTS)}.")
    scope = entry.get("scope", DEFAULT_SCOPE[kind])
    if scope not in SCOPES:
        raise UsageError(f"{where}: unknown scope {scope!r}.", f"Valid scopes: {', '.join(SCOPES)}.")
    terms = _strings(entry, "terms", where)
    for t in terms + _strings(entry, "context", where) + _strings(entry, "except_context", where):
        _check_term(t, where)
    facts = parse_facts(entry.get("facts", {}), where)
    items = _strings(entry, "items", where)
    items_context = entry.get("items_context", "")
    pattern, value = entry.get("pattern", ""), entry.get("value", "")
    if kind in ("exists", "absent") and not terms and not facts:
        raise UsageError(f"{where}: an '{kind}' assertion needs terms or facts to look for.")
    if kind == "limit":
        if not isinstance(pattern, str) or not pattern or not isinstance(value, (str, int)) or value == "":
            raise UsageError(f"{where}: a 'limit' assertion needs pattern (one group: the number) and value.")
        _check_term("re:" + pattern, where)
        if re.compile(pattern).groups < 1:
            raise UsageError(f"{where}: pattern needs a group that captures the number.")
    if kind == "list":
        if not facts and not items:
            raise UsageError(f"{where}: a 'list' assertion needs facts or items.")
        if items and not items_context:
            raise UsageError(f"{where}: items need items_context (where the docs enumerate them).")
        if items_context:
            _check_term("re:" + items_context, where)
    cited = _strings(entry, "cited", where)
    for url in cited:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"{where}: cited {url!r} is not an http(s) URL.")
    exhaustive = entry.get("exhaustive", False)
    if not isinstance(exhaustive, bool):
        raise UsageError(f"{where}: exhaustive must be true or false.")
    return Assertion(tool=tool, criterion=criterion, id=ident, says=" ".join(says.split()), kind=kind,
                     terms=terms, context=_strings(entry, "context", where),
                     except_context=_strings(entry, "except_context", where), facts=facts or None,
                     items=items, items_context=str(items_context), exhaustive=exhaustive,
                     pattern=str(pattern), value=str(value), weight=weight, scope=scope, cited=cited,
                     heading_only=bool(entry.get("heading_only", False)), note=str(entry.get("note", "")))


def _strings(entry: dict, key: str, where: str) -> tuple[str, ...]:
    value = entry.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise UsageError(f"{where}: {key} must be a list of non-empty strings.")
    return tuple(value)


def _check_term(term: str, where: str) -> None:
    if term.startswith("re:"):
        try:
            re.compile(term[3:])
        except re.error as exc:
            raise UsageError(f"{where}: bad regular expression {term!r}: {exc}.") from None


def parse_facts(value, where: str) -> dict[str, tuple[str, ...]]:
    """{category = [value ids]} checked against the shared fact vocabulary (claims and assertions)."""
    if not isinstance(value, dict):
        raise UsageError(f"{where}: facts must be a table of category = [value ids].")
    out: dict[str, tuple[str, ...]] = {}
    for category, values in value.items():
        if category not in FACT_VOCABULARY:
            raise UsageError(f"{where}: unknown fact category '{category}'.",
                             f"Valid categories: {', '.join(FACT_VOCABULARY)}.")
        values = [values] if isinstance(values, str) else values
        if not isinstance(values, list):
            raise UsageError(f"{where}: facts.{category} must be a list of value ids.")
        bad = [v for v in values if v not in FACT_VOCABULARY[category]]
        if bad:
            raise UsageError(f"{where}: unknown {category} value(s) {', '.join(map(repr, bad))}.",
                             f"Valid {category} values: {', '.join(FACT_VOCABULARY[category])}.")
        out[category] = tuple(dict.fromkeys(values))
    return out
