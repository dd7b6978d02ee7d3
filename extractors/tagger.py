"""Passages -> checklist criterion tags and normalised facts: spaCy rules kept as data, then a small
trained linear model over the rule scores and words.

Pipeline: `spacy.blank("en")` + `sentencizer` + two `span_ruler`s, one per pattern file in
`extractors/patterns/`:

* `criteria.jsonl` -> spans in `doc.spans["criteria"]`, label = criterion id. Each line may carry a
  `weight` (default 1.0; negative weights mark phrases that argue *against* a criterion, e.g.
  "hello world" for real_world). Overlapping spans are allowed, so one passage serves several
  criteria.
* Lines with `"regex"` instead of `"pattern"` are matched on the raw text (case-insensitive; use
  `(?-i:...)` for case-sensitive parts) and scored like span matches: URL schemes ("s3://") and
  decorators ("@kubernetes(cpu=4)") are tokenised irregularly, and token patterns with predicates
  make spaCy's Matcher build a Token object per token (5x slower). An optional `"requires"` list
  of literal substrings (case-sensitive) skips the regex when none occurs in the text.
* `facts.jsonl` -> spans in `doc.spans["facts"]`, label = "category:value", with the criterion the
  fact informs and optional sentence-context words that disambiguate it ("R" only near
  "language", "local" only near "storage", "docker" as environment vs serving target...).

The heading path and the text are tagged as one document: "<h_n>\n\n<h_n-1>...\n\n<text>" (deepest
heading first). Matches inside the headings count with `heading_weights[level]` (level 0 = the
section's own heading, 1 = its parent, 2+ = above) instead of the density rule: a section titled
"Remote storage" is about storage even if its body only says "add a remote". Dotted API names
("mlflow.autolog", "lightgbm.train") are split by the tokenizer so their words match phrases.
The sentencizer runs only on passages with a context-dependent fact match (it is the slowest part
of the pipeline and only facts need sentences). Scoring, per criterion (parameters in
`config.json`):

    body  = sum over distinct matched patterns p in the text of  w_p * (1 + repeat_bonus * min(n_p - 1, 2))
    body /= (max(n_words, min_words) / length_norm) ** length_alpha   # density: long sections need
                                                                      # more evidence, short ones less
    head  = sum over distinct patterns p matched in the headings of  w_p * heading_weight(level)
    raw   = body + head, times unanchored_factor for an anchored criterion without a defining word
    rule score = 1 - exp(-raw / saturation)                          # in [0, 1), monotone

Anchored criteria (`config.json` "anchors") need one of their defining words: when no matched
pattern of the criterion reaches the anchor weight (section or headings), raw is multiplied by
"unanchored_factor". real_world is a tutorial or case study *about* an ML task, so ML-task words
alone ("dataset", "training") do not make one; "plan" or "hosted" alone is no cost; a symlink or a
cluster alone is no HPC.

The rule scores do not decide on their own: they were written on one snapshot's wording. The 15
rule scores and the section's words (own heading, parent headings, body) go into a logistic
regression per criterion (`extractors/linear.py`, weights in `extractors/trained/`, trained on three
eras of labelled sections by `python bench/train_tagger.py`). A criterion is returned when its
probability >= the model's threshold for it (`thresholds`); its `terms` are the rule terms that
matched (when the criterion's own rules argued for it), then the words the model weighed most for
it in this passage. `scores_many` gives every probability, `rule_scores_many` the rule scores, and
`rule_thresholds` (config.json) are the rules' own cut-offs, kept for the bench's "rules alone".

Thin API reference (a REST endpoint's field table, one function's arguments, a command synopsis) is
scored like any other section: by the topic of its call, which its heading path names (see
docs/tagging.md for the convention).

Facts are returned only when their criterion is returned for the same passage: a fact is evidence
for a tagged criterion, and a lone "docker" in a passing mention is not a fact worth comparing.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable, Sequence

import numpy as np
from spacy.attrs import IDX, LOWER

from extractors.facts import check_fact_label
from extractors.linear import REGION_PREFIX, WORD_RX, LinearModel, load_model
from extractors.model import Fact, Tag

CRITERIA_KEY = "criteria"
FACTS_KEY = "facts"
_SEP = "\n\n"


@dataclass(frozen=True)
class FactRule:
    category: str
    value: str
    criterion: str
    context_rx: re.Pattern | None      # the sentence must contain a word starting with one of these
    not_context_rx: re.Pattern | None  # ... and no word starting with one of those


def _prefix_rx(words: Sequence[str]) -> re.Pattern | None:
    return re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w.lower()) for w in words) + ")") if words else None


def _read_jsonl(name: str) -> list[dict]:
    text = (resources.files("extractors") / "patterns" / name).read_text(encoding="utf-8")
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
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

    def __init__(self, trained: bool = True) -> None:
        """`trained=False` builds the rules only (for training the model: its features)."""
        import spacy

        cfg = _read_json("config.json")
        self.saturation: float = cfg["saturation"]
        self.repeat_bonus: float = cfg["repeat_bonus"]
        self.length_norm: float = cfg["length_norm"]
        self.length_alpha: float = cfg["length_alpha"]
        self.min_words: int = cfg["min_words"]
        self.heading_weights: list[float] = cfg["heading_weights"]   # last heading first, then parents
        self.max_chars: int = cfg["max_chars"]
        self.anchors: dict[str, float] = {c: w for c, w in cfg["anchors"].items() if not c.startswith("_")}
        self.unanchored_factor: float = cfg["unanchored_factor"]
        self.rule_thresholds: dict[str, float] = cfg["thresholds"]   # the rules on their own (bench)
        self.model: LinearModel | None = load_model() if trained else None
        self.thresholds: dict[str, float] = self.model.thresholds if self.model else {}

        self.weights: dict[str, float] = {}
        self.labels: dict[str, str] = {}
        # (spans key, pattern id, regex, literals of which one must occur for the regex to match)
        self.regexes: list[tuple[str, str, re.Pattern, tuple[str, ...]]] = []
        criteria_patterns = []
        for n, row in enumerate(_read_jsonl("criteria.jsonl")):
            pid = f"c{n}"
            self.weights[pid] = float(row.get("weight", 1.0))
            self.labels[pid] = row["label"]
            if "regex" in row:
                self.regexes.append((CRITERIA_KEY, pid, re.compile(row["regex"], re.I), tuple(row.get("requires", ()))))
            else:
                criteria_patterns.append({"label": row["label"], "pattern": row["pattern"], "id": pid})

        self.fact_rules: dict[str, FactRule] = {}
        fact_patterns = []
        for n, row in enumerate(_read_jsonl("facts.jsonl")):
            pid = f"f{n}"
            category, value = row["label"].split(":", 1)
            check_fact_label(category, value)
            self.fact_rules[pid] = FactRule(category, value, row["criterion"],
                                            _prefix_rx(row.get("context", ())), _prefix_rx(row.get("not_context", ())))
            if "regex" in row:
                self.regexes.append((FACTS_KEY, pid, re.compile(row["regex"], re.I), tuple(row.get("requires", ()))))
            else:
                fact_patterns.append({"label": row["label"], "pattern": row["pattern"], "id": pid})

        # every literal any regex requires, checked once per text (not once per regex)
        self.literals: tuple[str, ...] = tuple(sorted({lit for *_, req in self.regexes for lit in req}))

        nlp = spacy.blank("en")
        _split_dotted_names(nlp)
        nlp.add_pipe("sentencizer")
        ruler = nlp.add_pipe("span_ruler", name="criteria_ruler",
                             config={"spans_key": CRITERIA_KEY, "phrase_matcher_attr": "LOWER"})
        ruler.add_patterns(criteria_patterns)
        fruler = nlp.add_pipe("span_ruler", name="facts_ruler",
                              config={"spans_key": FACTS_KEY, "phrase_matcher_attr": "LOWER"})
        fruler.add_patterns(fact_patterns)
        self.nlp = nlp
        self._keys: dict[tuple[int, int], str] = {}   # (region, lowercase id) -> feature key or ""
        self._rows: dict[tuple[int, int], int] = {}   # (region, lowercase id) -> model row or -1
        self.sentencizer = nlp.get_pipe("sentencizer")

    # ------------------------------------------------------------------ public API
    def tag(self, text: str, heading_path: Sequence[str] = ()) -> tuple[list[Tag], list[Fact]]:
        return self.tag_many([(text, heading_path)])[0]

    def tag_many(self, items: Iterable[tuple[str, Sequence[str]]]) -> list[tuple[list[Tag], list[Fact]]]:
        return [self._score(doc, p) for doc, p in self._docs(items)]

    def scores_many(self, items: Iterable[tuple[str, Sequence[str]]]) -> list[dict[str, float]]:
        """Every criterion's probability per passage, before thresholds (for calibration and benches)."""
        return [self.model.score(self._criterion_scores(doc, p)[0], self._word_rows(doc, p))[0]
                for doc, p in self._docs(items)]

    def rule_scores_many(self, items: Iterable[tuple[str, Sequence[str]]]) -> list[dict[str, float]]:
        """The rules' own score per criterion (criteria with no match are absent); compare with
        `rule_thresholds` for the rules on their own."""
        return [self._criterion_scores(doc, p)[0] for doc, p in self._docs(items)]

    def features_many(self, items: Iterable[tuple[str, Sequence[str]]]) -> list[tuple[dict[str, float], set[str]]]:
        """What the trained model reads: (rule scores, word feature keys) per passage (for training)."""
        return [(self._criterion_scores(doc, p)[0], self._word_keys_of(doc, p)) for doc, p in self._docs(items)]

    def use_model(self, model: LinearModel) -> None:
        """Score with another trained model (the bench's held-out fits); rules stay as they are."""
        self.model = model
        self.thresholds = model.thresholds
        self._rows.clear()

    # ------------------------------------------------------------------ internals
    def _docs(self, items: Iterable[tuple[str, Sequence[str]]]):
        prepared = [self._prepare(text, heading_path) for text, heading_path in items]
        # The sentencizer only serves the context checks of facts, so it runs on demand (see
        # `_facts`): splitting every passage into sentences would cost a third of the tagging time.
        docs = self.nlp.pipe((p.text for p in prepared), batch_size=64, disable=["sentencizer"])
        return zip(docs, prepared)

    def _prepare(self, text: str, heading_path: Sequence[str]) -> "_Prepared":
        """One string per passage: headings (deepest first) then the text, plus the char ends of
        each heading so that matches can be attributed to a heading level."""
        parts, bounds, pos = [], [], 0
        for h in reversed([h for h in heading_path if h and h.strip()]):
            h = " ".join(h.split())
            parts.append(h)
            pos += len(h)
            bounds.append(pos)
            pos += len(_SEP)
        body = (text or "")[: self.max_chars]
        return _Prepared(_SEP.join(parts + [body]), bounds, len(body.split()))

    def _regex_spans(self, text: str) -> list[tuple[str, str, int, int]]:
        """(key, pattern id, start char, end char) of the regex rules, matched on the raw text."""
        present = {lit for lit in self.literals if lit in text}   # cheap literal pre-check
        return [(key, pid, m.start(), m.end())
                for key, pid, rx, requires in self.regexes
                if not requires or not present.isdisjoint(requires)
                for m in rx.finditer(text)]

    def _heading_level(self, start_char: int, bounds: list[int]) -> int | None:
        for level, end in enumerate(bounds):
            if start_char < end:
                return level
        return None

    def _score(self, doc, prep: "_Prepared") -> tuple[list[Tag], list[Fact]]:
        rule_scores, rule_terms, fact_matches = self._criterion_scores(doc, prep)
        probs, why = self.model.score(rule_scores, self._word_rows(doc, prep))
        tags = []
        for crit, threshold in self.thresholds.items():
            if probs[crit] < threshold:
                continue
            # explanation: the criterion's rule terms (when its rules argued for it), then the words
            # the trained model weighed most for it in this passage
            terms = list(rule_terms.get(crit, ())) if why.rules_helped(crit) else []
            terms += [w for w in why.top_words(crit) if w not in terms]
            terms = terms or list(rule_terms.get(crit, ())) or [why.top_rule(crit)]   # never unexplained
            tags.append(Tag(crit, round(probs[crit], 6), tuple(terms[:8])))
        tagged = {t.criterion for t in tags}
        return tags, self._facts(doc, prep.text, fact_matches, tagged)

    def _word_pairs(self, doc, prep: "_Prepared") -> set[tuple[int, int]]:
        """Distinct (region, lowercase id) of the tokens; region 0 = own heading, 1 = a parent
        heading, 2 = body. Token arrays are much cheaper than a Token object per token."""
        arr = doc.to_array([IDX, LOWER])
        if not len(arr):
            return set()
        ends = np.asarray([prep.bounds[0], prep.bounds[-1]] if prep.bounds else [0, 0])
        return set(zip(np.searchsorted(ends, arr[:, 0], side="right").tolist(), arr[:, 1].tolist()))

    def _word_key(self, pair: tuple[int, int]) -> str:
        """The model's feature key of a (region, lowercase id), or "" for a non-word token."""
        key = self._keys.get(pair)
        if key is None:
            word = self.nlp.vocab.strings[pair[1]]
            key = self._keys[pair] = (REGION_PREFIX[pair[0]] + word) if WORD_RX.match(word) else ""
        return key

    def _word_keys_of(self, doc, prep: "_Prepared") -> set[str]:
        """The word feature keys of a passage (what the model is trained on)."""
        return {k for k in map(self._word_key, self._word_pairs(doc, prep)) if k}

    def _word_rows(self, doc, prep: "_Prepared") -> list[int]:
        """The model rows of the passage's known words, sorted: `model.rows_of(_word_keys_of(...))`,
        through a cache so that tagging looks each token kind up once per process."""
        rows = set()
        for pair in self._word_pairs(doc, prep):
            row = self._rows.get(pair)
            if row is None:
                row = self._rows[pair] = self.model.word_index.get(self._word_key(pair), -1)
            rows.add(row)
        rows.discard(-1)
        return sorted(rows)

    def _criterion_scores(self, doc, prep: "_Prepared"):
        """Score of every criterion with any match (before thresholds), its top terms, and the
        raw fact matches."""
        text, bounds = prep.text, prep.bounds
        matches = [(s.id_, s.start_char, s.end_char) for s in doc.spans[CRITERIA_KEY]]
        fact_matches = [(s.id_, s.start_char, s.end_char) for s in doc.spans[FACTS_KEY]]
        for key, pid, start, end in self._regex_spans(text):
            (matches if key == CRITERIA_KEY else fact_matches).append((pid, start, end))

        body_hits: dict[str, dict[str, int]] = {}     # criterion -> pattern id -> count
        head_hits: dict[str, dict[str, float]] = {}   # criterion -> pattern id -> heading factor
        seen_terms: dict[str, dict[str, float]] = {}  # criterion -> term -> weight (for ordering)
        for pid, start, end in matches:
            crit, w = self.labels[pid], self.weights[pid]
            level = self._heading_level(start, bounds)
            if level is None:
                hits = body_hits.setdefault(crit, {})
                hits[pid] = hits.get(pid, 0) + 1
            else:
                factor = self.heading_weights[min(level, len(self.heading_weights) - 1)]
                hits = head_hits.setdefault(crit, {})
                hits[pid] = max(hits.get(pid, 0.0), factor)
            if w > 0:
                term = text[start:end].lower()
                seen = seen_terms.setdefault(crit, {})
                seen[term] = max(seen.get(term, 0.0), w)

        length_div = (max(prep.n_words, self.min_words) / self.length_norm) ** self.length_alpha
        scores: dict[str, float] = {}
        terms: dict[str, tuple[str, ...]] = {}
        for crit in set(body_hits) | set(head_hits):
            body = sum(self.weights[p] * (1 + self.repeat_bonus * min(n - 1, 2))
                       for p, n in body_hits.get(crit, {}).items())
            head = sum(self.weights[p] * f for p, f in head_hits.get(crit, {}).items())
            raw = body / length_div + head
            anchor = self.anchors.get(crit)
            if anchor and max(self.weights[p] for p in (*body_hits.get(crit, {}), *head_hits.get(crit, {}))) < anchor:
                raw *= self.unanchored_factor   # supporting words only, no defining one
            if raw > 0:
                scores[crit] = 1.0 - math.exp(-raw / self.saturation)
                ordered = sorted(seen_terms.get(crit, {}).items(), key=lambda kv: (-kv[1], kv[0]))
                terms[crit] = tuple(t for t, _ in ordered[:8])
        return scores, terms, fact_matches

    def _facts(self, doc, text: str, fact_matches: list[tuple[str, int, int]], tagged: set[str]) -> list[Fact]:
        facts: dict[tuple[str, str, str], Fact] = {}
        sentencized = False
        for pid, start, end in sorted(fact_matches, key=lambda m: (m[1], m[2], m[0])):
            rule = self.fact_rules[pid]
            key = (rule.category, rule.value, rule.criterion)
            if rule.criterion not in tagged or key in facts:
                continue
            if rule.context_rx or rule.not_context_rx:
                if not sentencized:
                    self.sentencizer(doc)
                    sentencized = True
                sentence = self._sentence_text(doc, text, start, end)
                if rule.context_rx and not rule.context_rx.search(sentence):
                    continue
                if rule.not_context_rx and rule.not_context_rx.search(sentence):
                    continue
            facts[key] = Fact(rule.category, rule.value, rule.criterion, text[start:end])
        return sorted(facts.values(), key=lambda f: (f.criterion, f.category, f.value))

    @staticmethod
    def _sentence_text(doc, text: str, start: int, end: int) -> str:
        span = doc.char_span(start, end, alignment_mode="expand")
        if span is None:
            return text[start:end].lower()
        sent = span.sent
        return text[sent.start_char:sent.end_char].lower()


@dataclass(frozen=True)
class _Prepared:
    text: str            # headings (deepest first) + separator + body
    bounds: list[int]    # char end of each heading in `text`
    n_words: int         # words in the body, for the density normalisation


def _split_dotted_names(nlp) -> None:
    """Split "mlflow.autolog", "lightgbm.train", "Live.log_image" at the dot, so that the words
    inside API names match phrase patterns; only real URLs (with a scheme or www.) stay whole.
    Pattern phrases are tokenised by the same tokenizer, so "dvc.yaml" still matches "dvc.yaml"."""
    from spacy.util import compile_infix_regex

    infixes = list(nlp.Defaults.infixes) + [r"(?<=[A-Za-z_])\.(?=[A-Za-z_])"]
    nlp.tokenizer.infix_finditer = compile_infix_regex(infixes).finditer
    nlp.tokenizer.url_match = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|www\.)\S+$", re.I).match


@lru_cache(maxsize=1)
def get_tagger() -> Tagger:
    """The shared tagger (building spaCy and the pattern matchers takes a moment, so do it once)."""
    return Tagger()
