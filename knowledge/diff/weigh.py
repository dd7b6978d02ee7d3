"""What a changed passage means to a reviewer: prose or reference, capability words in the changed
words, and how much it matters (the digest shows the most important passages of a flag first).

Pure functions on text, headings and paths; the diff engine stores the results on every payload
entry (`reference`, `cues`, `importance`), so the digest, review and --json agree.

Capability words count only where the change is: in the inserted or deleted words of a reworded
passage, or anywhere in a whole new passage (with its own heading). A long page that always said
"experimental" somewhere does not make a one-word edit a capability change.

Reference material is the grammar of an API rather than prose about it: API and CLI reference
pages (python_api/, api-reference/, command-reference/, cli, REST API), option and field tables,
command synopses, signature-dense text, release-note bug-fix lists. It is still evidence, but it
names every option and so changes with every release; it ranks below prose about the criterion
(unless the passage carries a fact gained or lost).
"""
from __future__ import annotations

import re
from typing import Iterable, Sequence

# Words that announce a capability change (matched on normalised text, as whole words).
CUES = ("deprecated", "deprecation", "no longer", "not supported", "unsupported", "experimental",
        "new in", "now supports", "now support", "added support", "beta", "preview", "breaking change",
        "end of life", "discontinued", "removed in", "has been removed", "have been removed", "was removed",
        "will be removed")
_CUE_RE = re.compile(r"\b(" + "|".join(re.escape(c) for c in CUES) + r")\b")
# Deleting one of these is news too: a feature left "experimental" or "beta", or became supported.
# (Deleting "now supports" or "new in" from a what's-new list is not.)
STATUS_CUES = frozenset({"deprecated", "deprecation", "not supported", "unsupported", "no longer", "experimental",
                         "beta", "preview", "end of life", "discontinued"})

_REFERENCE_PATH = re.compile(
    r"/(?:python_api|java_api|r-api|api|api-reference|api_reference|command-reference|cli|rest-api|"
    r"reference|changelog|release-notes|releases)(?:[/.#?]|$)", re.I)
_REFERENCE_HEADING = re.compile(
    r"(?:synopsis|usage|options|arguments|parameters|args|returns|raises|request structure|response structure|"
    r"bug ?fixes|fixes|small bug fixes.*)", re.I)
_REFERENCE_START = re.compile(r"\s*(?:usage:|endpoint\s+http method|field name\s+type\s+description)", re.I)
_CODEISH = re.compile(r"[()=_\[\]{}]|\w\.\w|^--?\w")
_CODE_SHARE = 0.35       # share of code-like tokens above which a passage is signature text
_MIN_TOKENS = 20

# Base weight of an entry by what happened to the passage.
BASE = {"added": 1.0, "removed": 0.9, "changed": 0.8, "possibly_removed": 0.9, "restored": 0.5, "moved": 0.1}
FACT_BONUS = 2.0         # the passage carries a fact gained or lost
CUE_BONUS = 1.0          # the changed words carry a capability word
# Tiers, strictly ordered: a change to prose (or any passage carrying a fact gained or lost), then a
# change to reference material, then passages of pages that answered 404 once (or are back after
# one), then moves. Within a tier the weight above decides. importance = 10 * tier + weight.
TIER_PROSE, TIER_REFERENCE, TIER_MAYBE, TIER_MOVED = 3, 2, 1, 0


def cues(norm: str) -> set[str]:
    """Capability words in a normalised text."""
    return set(_CUE_RE.findall(norm))


def is_reference(path: str, heading_path: Sequence[str], text: str) -> bool:
    """Is this passage API/CLI reference material rather than prose?"""
    if _REFERENCE_PATH.search(path or ""):
        return True
    if heading_path and _REFERENCE_HEADING.fullmatch(str(heading_path[-1]).strip()):
        return True
    if _REFERENCE_START.match(text or ""):
        return True
    tokens = (text or "").split()
    if len(tokens) >= _MIN_TOKENS and sum(1 for t in tokens if _CODEISH.search(t)) > _CODE_SHARE * len(tokens):
        return True
    return False


def importance(kind: str, *, reference: bool = False, score: float = 0.5, changed_words: int = 0,
               cue_words: Iterable[str] = (), facts: bool = False, tagged: str | None = None) -> float:
    """How much one entry of a flag matters, for ordering (higher first): 10 * tier + weight (see
    TIER_*). `score` is the tag score of the passage for the flag's criterion (how much it is about
    the criterion)."""
    base = BASE.get(kind, 0.1)
    if kind == "changed":
        # A rewording that made (or unmade) the passage evidence counts like an addition (removal),
        # unless no word changed beyond noise (the tagger's verdict moved with boilerplate);
        # otherwise the more words changed, the more it matters, up to a whole new passage.
        if tagged:
            base = 0.9 if changed_words else 0.15
        else:
            base = base * min(1.0, 0.25 + changed_words / 40)
    value = base * (0.5 + min(max(score, 0.0), 1.0))
    value += FACT_BONUS * bool(facts) + CUE_BONUS * bool(list(cue_words))
    if kind == "moved":
        tier = TIER_MOVED
    elif kind in ("possibly_removed", "restored"):
        tier = TIER_MAYBE
    else:
        tier = TIER_REFERENCE if reference and not facts else TIER_PROSE
    return round(10 * tier + value, 4)
