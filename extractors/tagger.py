"""Passages -> checklist criterion tags and normalised facts, with spaCy rules kept as data.

Pipeline: `spacy.blank("en")` + `sentencizer` + two `span_ruler`s, one per pattern file in
`extractors/patterns/`:

* `criteria.jsonl` -> spans in `doc.spans["criteria"]`, label = criterion id. Each line may carry a
  `weight` (default 1.0; negative weights mark phrases that argue *against* a criterion, e.g.
  "hello world" for real_world). Overlapping spans are allowed, so one passage serves several
  criteria.
* Lines with `"regex"` instead of `"pattern"` are matched on the raw text (case-insensitive) and
  added to the same span groups: URL schemes ("s3://") and decorators ("@kubernetes(cpu=4)") are
  tokenised irregularly, and regexes inside spaCy's Matcher run on every token (slow).
* `facts.jsonl` -> spans in `doc.spans["facts"]`, label = "category:value", with the criterion the
  fact informs and optional sentence-context words that disambiguate it ("R" only near
  "language", "local" only near "storage", "docker" as environment vs serving target...).

The heading path and the text are tagged as one document: "<headings>\n\n<text>". Matches inside
the heading part are weighted up (a section titled "Remote storage" is about storage even if its
body only says "add a remote"). Scoring, per criterion (parameters in `config.json`):

    body  = sum over distinct matched patterns p in the text of  w_p * (1 + repeat_bonus * min(n_p - 1, 2))
    body /= max(1, n_tokens / length_norm) ** length_alpha          # long sections need more evidence
    head  = sum over distinct patterns p matched in the headings of  w_p * heading_weight(level)
    score = 1 - exp(-(body + head) / saturation)                     # in [0, 1), monotone

A criterion is returned when score >= its threshold in `config.json` ("thresholds"). Facts are
returned only when their criterion is returned for the same passage: a fact is evidence for a
tagged criterion, and a lone "docker" in a passing mention is not a fact worth comparing.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Sequence

from extractors.model import Fact, Tag

CRITERIA_KEY = "criteria"
FACTS_KEY = "facts"
_SEP = "\n\n"


@dataclass(frozen=True)
class FactRule:
    category: str
    value: str
    criterion: str
    context: tuple[str, ...]      # the sentence must contain a token starting with one of these
    not_context: tuple[str, ...]  # ... and none starting with one of these


def _read_jsonl(name: str) -> list[dict]:
    text = (resources.files("extractors") / "patterns" / name).read_text(encoding="utf-8")
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("//"):
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as exc:  # a broken rule file is a programming error: say where
            raise ValueError(f"extractors/patterns/{name} line {n}: {exc}") from None
    return rows


def _read_json(name: str) -> dict:
    return json.loads((resources.files("extractors") / "patterns" / name).read_text(encoding="utf-8"))


class Tagger:
    """Build once (see `get_tagger`), then call `tag` / `tag_many`; pure and deterministic."""

    def __init__(self) -> None:
        import spacy

        cfg = _read_json("config.json")
        self.thresholds: dict[str, float] = cfg["thresholds"]
        self.saturation: dict[str, float] = cfg.get("saturation", {})
        self.default_saturation: float = cfg["default_saturation"]
        self.repeat_bonus: float = cfg["repeat_bonus"]
        self.length_norm: float = cfg["length_norm"]
        self.length_alpha: float = cfg["length_alpha"]
        self.heading_weights: list[float] = cfg["heading_weights"]   # last heading first, then parents
        self.max_chars: int = cfg["max_chars"]

        self.weights: dict[str, float] = {}
        self.regexes: list[tuple[str, str, str, re.Pattern]] = []   # (spans key, label, id, regex)
        criteria_patterns = []
        for n, row in enumerate(_read_jsonl("criteria.jsonl")):
            pid = f"c{n}"
            self.weights[pid] = float(row.get("weight", 1.0))
            if "regex" in row:
                self.regexes.append((CRITERIA_KEY, row["label"], pid, re.compile(row["regex"], re.I)))
            else:
                criteria_patterns.append({"label": row["label"], "pattern": row["pattern"], "id": pid})

        self.fact_rules: dict[str, FactRule] = {}
        fact_patterns = []
        for n, row in enumerate(_read_jsonl("facts.jsonl")):
            pid = f"f{n}"
            category, value = row["label"].split(":", 1)
            self.fact_rules[pid] = FactRule(category, value, row["criterion"],
                                            tuple(row.get("context", ())), tuple(row.get("not_context", ())))
            if "regex" in row:
                self.regexes.append((FACTS_KEY, row["label"], pid, re.compile(row["regex"], re.I)))
            else:
                fact_patterns.append({"label": row["label"], "pattern": row["pattern"], "id": pid})

        nlp = spacy.blank("en")
        nlp.add_pipe("sentencizer")
        ruler = nlp.add_pipe("span_ruler", name="criteria_ruler",
                             config={"spans_key": CRITERIA_KEY, "phrase_matcher_attr": "LOWER"})
        ruler.add_patterns(criteria_patterns)
        fruler = nlp.add_pipe("span_ruler", name="facts_ruler",
                              config={"spans_key": FACTS_KEY, "phrase_matcher_attr": "LOWER"})
        fruler.add_patterns(fact_patterns)
        self.nlp = nlp

    # ------------------------------------------------------------------ public API
    def tag(self, text: str, heading_path: Sequence[str] = ()) -> tuple[list[Tag], list[Fact]]:
        return self.tag_many([(text, heading_path)])[0]

    def tag_many(self, items: Iterable[tuple[str, Sequence[str]]]) -> list[tuple[list[Tag], list[Fact]]]:
        items = list(items)
        prepared = [self._prepare(text, heading_path) for text, heading_path in items]
        docs = self.nlp.pipe((p[0] for p in prepared), batch_size=64)
        return [self._score(self._add_regex_spans(doc), bounds) for doc, (_, bounds) in zip(docs, prepared)]

    # ------------------------------------------------------------------ internals
    def _prepare(self, text: str, heading_path: Sequence[str]) -> tuple[str, list[int]]:
        """One string per passage: headings (deepest first) then the text; return the char ends
        of each heading so matches can be attributed to a heading level."""
        parts, bounds, pos = [], [], 0
        for h in reversed([h for h in heading_path if h and h.strip()]):
            h = " ".join(h.split())
            parts.append(h)
            pos += len(h)
            bounds.append(pos)
            pos += len(_SEP)
        body = (text or "")[: self.max_chars]
        return _SEP.join(parts + [body]), bounds

    def _add_regex_spans(self, doc):
        text = doc.text
        for key, label, pid, rx in self.regexes:
            for m in rx.finditer(text):
                span = doc.char_span(m.start(), m.end(), label=label, span_id=pid, alignment_mode="expand")
                if span is not None:
                    doc.spans[key].append(span)
        return doc

    def _heading_level(self, start_char: int, bounds: list[int]) -> int | None:
        for level, end in enumerate(bounds):
            if start_char < end:
                return level
        return None

    def _score(self, doc, bounds: list[int]) -> tuple[list[Tag], list[Fact]]:
        body_start = bounds[-1] + len(_SEP) if bounds else 0
        n_tokens = sum(1 for t in doc if t.idx >= body_start and not t.is_space and not t.is_punct)
        body_hits: dict[str, dict[str, int]] = {}     # criterion -> pattern id -> count
        head_hits: dict[str, dict[str, float]] = {}   # criterion -> pattern id -> heading factor
        terms: dict[str, dict[str, float]] = {}       # criterion -> term -> weight (for ordering)
        for span in doc.spans[CRITERIA_KEY]:
            crit, pid = span.label_, span.id_
            w = self.weights[pid]
            level = self._heading_level(span.start_char, bounds)
            if level is None:
                body_hits.setdefault(crit, {}).setdefault(pid, 0)
                body_hits[crit][pid] += 1
            else:
                factor = self.heading_weights[min(level, len(self.heading_weights) - 1)]
                prev = head_hits.setdefault(crit, {}).get(pid, 0.0)
                head_hits[crit][pid] = max(prev, factor)
            if w > 0:
                term = span.text.lower()
                terms.setdefault(crit, {})[term] = max(terms.get(crit, {}).get(term, 0.0), w)

        length_div = max(1.0, n_tokens / self.length_norm) ** self.length_alpha
        tags: list[Tag] = []
        for crit, threshold in self.thresholds.items():
            body = sum(self.weights[p] * (1 + self.repeat_bonus * min(n - 1, 2))
                       for p, n in body_hits.get(crit, {}).items())
            head = sum(self.weights[p] * f for p, f in head_hits.get(crit, {}).items())
            raw = body / length_div + head
            if raw <= 0:
                continue
            score = 1.0 - math.exp(-raw / self.saturation.get(crit, self.default_saturation))
            if score >= threshold:
                ordered = sorted(terms.get(crit, {}).items(), key=lambda kv: (-kv[1], kv[0]))
                tags.append(Tag(crit, round(score, 6), tuple(t for t, _ in ordered[:8])))
        tagged = {t.criterion for t in tags}
        return tags, self._facts(doc, tagged)

    def _facts(self, doc, tagged: set[str]) -> list[Fact]:
        facts: dict[tuple[str, str, str], Fact] = {}
        for span in doc.spans[FACTS_KEY]:
            rule = self.fact_rules[span.id_]
            if rule.criterion not in tagged:
                continue
            key = (rule.category, rule.value, rule.criterion)
            if key in facts:
                continue
            if rule.context or rule.not_context:
                words = [t.lower_ for t in span.sent]
                if rule.context and not any(w.startswith(c) for w in words for c in rule.context):
                    continue
                if rule.not_context and any(w.startswith(c) for w in words for c in rule.not_context):
                    continue
            facts[key] = Fact(rule.category, rule.value, rule.criterion, span.text)
        return sorted(facts.values(), key=lambda f: (f.criterion, f.category, f.value))


@lru_cache(maxsize=1)
def get_tagger() -> Tagger:
    """The shared tagger (building spaCy and the pattern matchers takes a moment, so do it once)."""
    return Tagger()
