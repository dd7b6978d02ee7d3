"""Finding what an assertion talks about: phrases, regular expressions, deprecation cues, numbers,
enumerated items (knowledge/claims/match.py, pure)."""
from __future__ import annotations

import pytest

from knowledge.claims.match import (find_mentions, item_key, listed_items, numbers_stated, prefilter, same_item,
                                    term_regex)


@pytest.mark.parametrize("text, term, found", [
    ("Run the stage with dvc run.", "dvc run", True),
    ("Spark-based workflows on massive data", "spark", True),
    ("Use mlflow.projects.run() to launch it", "mlflow.projects.run", True),
    ("The archive is ready", "hive", False),                 # not inside a word
    ("Push with dvc push --run-cache", "re:\\bdvc run\\b(?![-\\w])", False),
    ("DVC RUN in capitals", "dvc run", True),                 # case-insensitive
])
def test_terms_match_whole_words_case_insensitively(text, term, found):
    assert bool(term_regex(term).search(text)) is found
    if found:   # the fast prefilter on lower-cased text must never miss what the exact check finds
        assert prefilter(term).search(text.lower())


@pytest.mark.parametrize("sentence, term, deprecated", [
    ("The `dvc run` command has been removed in DVC 3.0.", "dvc run", True),
    ("dvc run was replaced by dvc stage add.", "dvc run", True),
    ("MLflow Recipes (formerly MLflow Pipelines) builds models.", "mlflow pipelines", True),
    ("Checkpoints are no longer supported.", "checkpoints", True),
    ("The --checkpoint option was removed.", "checkpoint", True),
    ("The mleap model flavor is deprecated.", "flavor", False),         # one flavor, not flavors
    ("Adding, removing, and replacing tags", "tags", False),           # an operation, not a retirement
    ("The .dvc file is renamed if the target has the same name.", ".dvc file", False),
    ("The .dvc file is removed if you run dvc remove.", ".dvc file", False),
    ("awesome-model@deprecated Git tag marks the artifact", "git", False),
    ("Hive is great.", "hive", False),
])
def test_deprecation_cues_refer_to_the_term_itself(sentence, term, deprecated):
    mentions = find_mentions(sentence, (), (term,))
    assert mentions and mentions[0].deprecated is deprecated


def test_context_and_except_context_are_per_sentence_and_apply_to_headings():
    text = "Save the checkpoints of your model. Experiments keep checkpoints between steps."
    hits = find_mentions(text, ("Log model checkpoints",), ("checkpoints",), context=("experiment",))
    assert [m.sentence for m in hits] == ["Experiments keep checkpoints between steps."]
    text = "An enterprise plan is sold by Databricks. Commercial support is available."
    hits = find_mentions(text, (), ("enterprise plan", "commercial support"), except_context=("databricks",))
    assert [m.term.lower() for m in hits] == ["commercial support"]
    assert find_mentions("Debugging is easy: set the log level.", ("Logging",), ("re:\\bdebug\\w*",),
                         heading_only=True) == []


def test_numbers_stated_reads_words_and_digits_in_context_only():
    pattern = r"\b(?:up to|more than|can have)\s+(\d+|two|five)\s+(?:members|collaborators)\b"
    text = ("Teams on the Free plan can have two collaborators. To add more than 2 collaborators, upgrade. "
            "Our office fits up to 5 members.")
    assert [n for n, _ in numbers_stated(text, pattern, ("plan", "upgrade"))] == ["2", "2"]


def test_enumerated_items_and_their_comparison():
    text = "MLflow has these components:\nTracking: logs runs.\nModel Registry: manages models.\n" \
           "MLflow Deployments for LLMs: a gateway.\nnot an item: lower case\n- Projects – package code"
    names = listed_items(text)
    assert names == ["Tracking", "Model Registry", "MLflow Deployments for LLMs", "Projects"]
    keys = [item_key(n, {"mlflow"}) for n in names]
    assert keys == ["tracking", "model registry", "deployments for llm", "project"]
    assert same_item("model", "mlflow model") and not same_item("model", "model registry")
