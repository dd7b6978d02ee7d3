"""The trained part of the tagger: one logistic regression per criterion over rule scores and words.

The rules (`extractors/patterns/criteria.jsonl`) give each criterion a score; the rules were written
on one snapshot's wording. A linear model trained on labelled sections of three eras
(`bench/train_tagger.py`) reads those 15 rule scores plus the words of the section and its headings,
so it can lean on the rules where they hold and on words the rules lack where they do not:

    p(criterion) = sigmoid(bias + sum_k rule_score_k * u_k + sum_{w in words} v_w / sqrt(n_words_known))

`words` are lowercase word tokens (`WORD_RX`) of the section as the tagger's tokenizer yields them,
each counted once: "h:<word>" in the section's own heading, "p:<word>" in a parent heading, "<word>"
in the body;
only words the model knows count in n_words_known (the L2 norm of the binary bag of words).

Everything is plain data in one JSON file (`extractors/trained/criteria_model.json`), read with
numpy: no learning library is needed at run time. Each weight is a readable number, which is what
makes a tag explainable: the words with the largest positive contribution are shown next to the
rule terms that matched.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from importlib import resources

import numpy as np
from spacy.lang.en.stop_words import STOP_WORDS

MODEL_FILE = "criteria_model.json"
WORD_RX = re.compile(r"^[a-z][a-z0-9_]*$")   # word tokens only: no numbers, punctuation or symbols


# Prefix of a word's feature key by where it occurs: 0 = the section's own heading, 1 = a parent
# heading, 2 = the body (the tagger's text is "<own heading>\n\n<parent>...\n\n<body>").
REGION_PREFIX = ("h:", "p:", "")


@dataclass
class LinearModel:
    criteria: list[str]           # column order of every array
    rules: list[str]              # criteria whose rule scores are the first features, in this order
    bias: np.ndarray              # (n_criteria,)
    rule_weights: np.ndarray      # (n_rules, n_criteria)
    word_keys: list[str]          # feature keys, in the order of word_weights' rows
    word_index: dict[str, int]    # feature key -> row of word_weights
    word_weights: np.ndarray      # (n_words, n_criteria)
    thresholds: dict[str, float]  # criterion -> probability threshold
    meta: dict                    # what it was trained on and how (for people, not for scoring)

    @classmethod
    def from_dict(cls, d: dict) -> "LinearModel":
        crits = list(d["criteria"])
        words = d["words"]
        keys = sorted(words)
        return cls(
            criteria=crits,
            rules=list(d["rules"]),
            bias=np.asarray(d["bias"], dtype=np.float64),
            rule_weights=np.asarray(d["rule_weights"], dtype=np.float64).reshape(len(d["rules"]), len(crits)),
            word_keys=keys,
            word_index={k: i for i, k in enumerate(keys)},
            word_weights=np.asarray([words[k] for k in keys], dtype=np.float64).reshape(len(keys), len(crits)),
            thresholds={c: float(t) for c, t in zip(crits, d["thresholds"])},
            meta={k: v for k, v in d.items() if k not in {"criteria", "rules", "bias", "rule_weights", "words",
                                                          "thresholds"}},
        )

    def rows_of(self, words: set[str]) -> list[int]:
        """The word_weights rows of these feature keys (unknown words have none), in row order."""
        return sorted(self.word_index[w] for w in words if w in self.word_index)

    def score(self, rule_scores: dict[str, float], rows: list[int]) -> tuple[dict[str, float], "Contributions"]:
        """Probability per criterion, and what each word contributed (for the explanations).
        `rows` (see `rows_of`) must be sorted: the same sum in the same order in every process."""
        r = np.fromiter((rule_scores.get(c, 0.0) for c in self.rules), dtype=np.float64, count=len(self.rules))
        z = self.bias + r @ self.rule_weights
        contrib = None
        if rows:
            contrib = self.word_weights[rows] / math.sqrt(len(rows))
            z = z + contrib.sum(axis=0)
        probs = 1.0 / (1.0 + np.exp(-z))
        return dict(zip(self.criteria, probs.tolist())), Contributions(self, rows, contrib, r)


@dataclass
class Contributions:
    model: LinearModel
    rows: list[int]
    word_contrib: np.ndarray | None   # (len(rows), n_criteria)
    rule_scores: np.ndarray           # (n_rules,)

    def top_words(self, criterion: str, n: int = 4) -> list[str]:
        """The words that pushed this criterion up most (feature prefixes dropped), strongest first."""
        if self.word_contrib is None:
            return []
        j = self.model.criteria.index(criterion)
        col = self.word_contrib[:, j]
        keys = self.model.word_keys
        out: list[str] = []
        for i in np.argsort(-col, kind="stable").tolist():   # ties: rows are in key order
            if col[i] <= 0.05 or len(out) >= n:
                break
            word = keys[self.rows[i]].split(":", 1)[-1]
            if word not in out and word not in STOP_WORDS:   # "the" may weigh, but explains nothing
                out.append(word)
        return out

    def rules_helped(self, criterion: str) -> bool:
        """True when the criterion's own rule score pushed its probability up."""
        if criterion not in self.model.rules:
            return False
        k, j = self.model.rules.index(criterion), self.model.criteria.index(criterion)
        return self.rule_scores[k] * self.model.rule_weights[k, j] > 0


    def top_rule(self, criterion: str) -> str:
        """The criterion whose rule score pushed this criterion up most, as "<criterion> rules"
        (the last-resort explanation when no rule term or word of its own explains a tag)."""
        j = self.model.criteria.index(criterion)
        contrib = self.rule_scores * self.model.rule_weights[:, j]
        return f"{self.model.rules[int(np.argmax(contrib))]} rules"


def load_model(data: dict | None = None) -> LinearModel:
    """The shipped model (or one given as a dict, e.g. fitted by the bench on some eras only)."""
    if data is None:
        text = (resources.files("extractors") / "trained" / MODEL_FILE).read_text(encoding="utf-8")
        data = json.loads(text)
    return LinearModel.from_dict(data)
