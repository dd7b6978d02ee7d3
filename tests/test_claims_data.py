"""The study's claims as assertions (knowledge/data/baseline.toml): complete, valid, and written from
the study only -- an assertion may cite the study's own pages, never a page of today's docs."""
from __future__ import annotations

import re

import pytest

from knowledge.domain.assertions import parse_assertions
from knowledge.domain.baseline import load_baseline
from knowledge.domain.sources import load_sources
from knowledge.errors import UsageError


def test_every_finding_of_the_study_has_assertions_and_no_finding_has_none():
    claims = load_baseline()
    assert len(claims) == 45
    for (tool, criterion), claim in claims.items():
        if claim.has_finding:
            assert claim.assertions, f"{tool} x {criterion}: a stated claim needs assertions to be checked"
            assert any(a.weight == "core" for a in claim.assertions), f"{tool} x {criterion}: no core assertion"
        else:
            assert not claim.assertions, f"{tool} x {criterion}: the study gave no finding to assert"


def test_assertions_cite_only_the_study_s_pages():
    sources = load_sources()
    for (tool, criterion), claim in load_baseline().items():
        study = set(claim.citations) | set(sources[tool].cited)
        for a in claim.assertions:
            for url in a.cited:
                assert url in study, f"{a.key} cites {url}, which the study does not cite"


def test_every_term_and_pattern_compiles():
    for claim in load_baseline().values():
        for a in claim.assertions:
            for t in a.terms + a.context + a.except_context:
                if t.startswith("re:"):
                    re.compile(t[3:])
            if a.kind == "limit":
                assert re.compile(a.pattern).groups >= 1


@pytest.mark.parametrize("entry, message", [
    ({"id": "x", "says": "s", "kind": "maybe", "terms": ["a"]}, "unknown kind"),
    ({"id": "x", "says": "s", "kind": "exists"}, "needs terms or facts"),
    ({"id": "x", "says": "s", "kind": "exists", "terms": ["re:("]}, "bad regular expression"),
    ({"id": "x", "says": "s", "kind": "limit", "pattern": "\\d+", "value": "5"}, "group"),
    ({"id": "x", "says": "s", "kind": "list", "items": ["A"]}, "items_context"),
    ({"id": "x", "says": "s", "kind": "exists", "terms": ["a"], "facts": {"storage_backend": ["floppy"]}},
     "unknown storage_backend value"),
    ({"id": "X Y", "says": "s", "kind": "exists", "terms": ["a"]}, "id must be"),
    ({"id": "x", "says": "s", "kind": "exists", "terms": ["a"], "maybe": 1}, "unknown field"),
    ({"id": "x", "says": "s", "kind": "exists", "terms": ["a"], "cited": ["docs/page"]}, "not an http"),
])
def test_bad_assertions_say_where_and_what(entry, message):
    with pytest.raises(UsageError) as err:
        parse_assertions([entry], "Baseline file f.toml, claim 3", "dvc", "storage")
    assert message in str(err.value) and "claim 3" in str(err.value)


def test_duplicate_assertion_ids_are_refused():
    entry = {"id": "x", "says": "s", "kind": "exists", "terms": ["a"]}
    with pytest.raises(UsageError, match="appear twice"):
        parse_assertions([entry, entry], "claim 1", "dvc", "storage")
