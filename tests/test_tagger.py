"""Unit tests for extractors.tagger: API, scoring behaviour, facts and the pattern data files."""
from __future__ import annotations

import json
from importlib import resources

import numpy as np
import pytest

from extractors.facts import FACT_VOCABULARY
from extractors.model import Fact, Tag
from extractors.tagger import Tagger, get_tagger
from knowledge.domain.checklist import criterion_ids


@pytest.fixture(scope="module")
def tagger() -> Tagger:
    return get_tagger()


def crits(result) -> set[str]:
    return {t.criterion for t in result[0]}


def facts(result) -> set[tuple[str, str]]:
    return {(f.category, f.value) for f in result[1]}


# ----------------------------------------------------------------------------- API
def test_get_tagger_is_cached(tagger):
    assert get_tagger() is tagger


def test_tag_returns_tags_and_facts_with_scores_above_thresholds(tagger):
    tags, found = tagger.tag("DVC remotes store data in an S3 bucket or on an SSH server. Use dvc remote "
                             "add to register the remote storage.", ("Remote Storage",))
    assert tags and all(isinstance(t, Tag) for t in tags)
    assert all(isinstance(f, Fact) for f in found)
    for t in tags:
        assert 0.0 <= t.score <= 1.0
        assert t.score >= tagger.thresholds[t.criterion]
        assert t.terms, "every tag explains itself with matched terms"


def test_tag_many_matches_tag_and_keeps_order(tagger):
    items = [("Serve the model as a REST API endpoint with mlflow models serve.", ("Deploying models",)),
             ("Nothing to see here.", ()),
             ("Add @batch to run the step on AWS Batch with more memory and GPUs.", ("Scaling out",))]
    many = tagger.tag_many(items)
    assert many == [tagger.tag(text, hp) for text, hp in items]
    assert "serving" in crits(many[0]) and crits(many[1]) == set() and "scaling" in crits(many[2])


def test_empty_input(tagger):
    assert tagger.tag_many([]) == []
    assert tagger.tag("", ()) == ([], [])


def test_deterministic_across_instances(tagger):
    text = ("Use the @conda decorator to pin libraries so runs are reproducible; the step can also run "
            "on Kubernetes.")
    other = Tagger()   # a fresh build from the same pattern files
    assert other.tag(text, ("Dependencies",)) == tagger.tag(text, ("Dependencies",))
    assert tagger.tag(text, ("Dependencies",)) == tagger.tag(text, ("Dependencies",))


# ----------------------------------------------------------------------------- scoring behaviour
def test_one_passage_serves_several_criteria(tagger):
    text = ("Add the @kubernetes decorator to run steps on a Kubernetes cluster in parallel. Artifacts of "
            "each task are written to the S3 bucket configured as the datastore.")
    assert {"scaling", "storage"} <= crits(tagger.tag(text, ("Scaling out",)))


def test_heading_words_are_a_strong_signal(tagger):
    body = "Use dvc remote add to register a location, then dvc push uploads the cached files to it."
    with_heading = {t.criterion: t.score for t in tagger.tag(body, ("Remote Storage", "Configuration"))[0]}
    neutral = {t.criterion: t.score for t in tagger.tag(body, ("Getting help",))[0]}
    assert "storage" in with_heading
    assert with_heading["storage"] > neutral.get("storage", 0.0)


def test_passing_mention_is_not_tagged(tagger):
    for text in ["For more details, see the storage section and the deployment guide.",
                 "Feel free to open an issue if something on this page is unclear.",
                 "This hello world flow prints a greeting to check that the installation works."]:
        assert crits(tagger.tag(text, ("See also",))) == set(), text


def test_longer_text_needs_more_evidence(tagger):
    mention = "Artifacts can live in an S3 bucket."
    filler = " The rest of this section is about naming conventions for your variables." * 15
    short = {t.criterion: t.score for t in tagger.tag(mention, ())[0]}
    long = {t.criterion: t.score for t in tagger.tag(mention + filler, ())[0]}
    assert long.get("storage", 0.0) < short.get("storage", 1.0)


def test_negative_weights_argue_against(tagger):
    tutorial = ("In this tutorial we train a classifier on a real dataset end-to-end and deploy it.",
                ("Tutorial",))
    hello = ("In this hello world quickstart we print a greeting.", ("Hello World",))
    assert "real_world" in crits(tagger.tag(*tutorial))
    assert "real_world" not in crits(tagger.tag(*hello))


def _scores(tagger, text, heading_path) -> dict[str, float]:
    return tagger.scores_many([(text, heading_path)])[0]


def test_thin_api_reference_is_tagged_by_the_topic_of_its_call(tagger):
    """docs/tagging.md: one REST endpoint, one function, one command is evidence for what the call is
    about (read from its heading path and description), not for the interface it belongs to."""
    log_batch = ("Field Name Type Description run_id STRING ID of the run to log under. metrics An array of "
                 "Metric to log. params An array of Param to log.", ("REST API", "Log Batch", "Request Structure"))
    alias = ("Field Name Type Description name STRING Name of the registered model. alias STRING Name of the "
             "alias to set. version STRING Model version number the alias points to.",
             ("REST API", "Set Registered Model Alias", "Request Structure"))
    r_serve = ("Argument Description model_uri The location of the model to serve. host Address to serve the "
               "model on. port Port to listen on.", ("R API", "mlflow_rfunc_serve", "Arguments"))
    push = ("usage: dvc push [-h] [-q | -v] [-j <number>] [-r <name>] [targets ...] positional arguments: "
            "targets Limit command scope to these tracked files to upload to remote storage", ("push", "Synopsis"))
    assert "tracking" in crits(tagger.tag(*log_batch))
    assert "serving" in crits(tagger.tag(*alias))
    assert "serving" in crits(tagger.tag(*r_serve))
    assert "compatibility" not in crits(tagger.tag(*r_serve)), "an R function is no evidence of R support"
    assert "storage" in crits(tagger.tag(*push))
    # a generic data structure (a key/value tag) is about nothing in particular
    tag_struct = ("Field Name Type Description key STRING The tag key. value STRING The tag value.",
                  ("REST API", "Data Structures", "ExperimentTag"))
    assert crits(tagger.tag(*tag_struct)) == set()


def test_tag_terms_show_rule_terms_and_model_words(tagger):
    tags, _ = tagger.tag(*("Field Name Type Description name STRING Name of the registered model. alias STRING "
                           "Name of the alias to set.", ("REST API", "Set Registered Model Alias", "Request Structure")))
    serving = next(t for t in tags if t.criterion == "serving")
    assert "registered model" in serving.terms          # a rule phrase
    assert not {"the", "of", "to"} & set(serving.terms)  # stop words never explain a tag


def test_a_tag_without_its_own_terms_names_the_rules_that_made_it(tagger):
    from extractors.linear import Contributions

    model = tagger.model
    rule_scores = dict.fromkeys(model.rules, 0.0)
    rule_scores["storage"] = 0.9
    why = Contributions(model, [], None, np.array([rule_scores[c] for c in model.rules]))
    assert why.top_words("storage") == []
    assert why.top_rule("storage") == "storage rules"


@pytest.mark.parametrize("criterion, supporting, defining", [
    ("real_world",
     "Train a classifier on the movies dataset for sentiment classification, then fit a regression for churn; "
     "training uses the full dataset.",
     "In this tutorial we load the dataset, train a regression model and evaluate it on the test split."),
    ("costs",
     "Pick a plan for the hosted tier: plans include a trial, and charges depend on the tier and budget.",
     "Pricing: the hosted version has a free tier; paid plans add more seats."),
    ("hpc",
     "Configure a shared drive with symlink cache links so several projects reuse one cache directory.",
     "On a Slurm cluster, configure a shared cache directory on the NFS mount so every job reuses it."),
])
def test_anchored_criteria_need_a_defining_word(tagger, criterion, supporting, defining):
    """Many supporting words (ML tasks, plans, cache links) without a defining one (tutorial, price, Slurm)."""
    assert criterion not in crits(tagger.tag(supporting, ("Section",)))
    assert criterion in crits(tagger.tag(defining, ("Section",)))


def test_installing_a_package_is_no_reproducible_environment(tagger):
    install = tagger.tag("Install DVC with pip install dvc or conda install -c conda-forge dvc.", ("Installation",))
    pinned = tagger.tag("Pin every library in a conda environment file so that runs are reproducible.",
                        ("Managing dependencies",))
    assert "versioning" not in crits(install)
    assert "versioning" in crits(pinned)


# ----------------------------------------------------------------------------- facts
def test_storage_facts_are_normalised(tagger):
    text = ("Supported remote storage: Amazon S3 (s3://bucket/path), Microsoft Azure Blob Storage, Google "
            "Cloud Storage (gs://bucket), Google Drive, HDFS, WebDAV, SFTP and a local directory.")
    found = facts(tagger.tag(text, ("Remote Storage", "Supported storage types")))
    assert {("storage_backend", v) for v in
            ["s3", "azure-blob", "gcs", "google-drive", "hdfs", "webdav", "sftp", "local"]} <= found


def test_every_fact_is_evidence_for_a_returned_tag(tagger):
    samples = [
        ("Deploy the model as a Docker container behind a REST endpoint on Kubernetes.", ("Serving",)),
        ("Run steps on AWS Batch, Kubernetes or Argo Workflows to scale out in parallel.", ("Scaling",)),
        ("DVC works with Python, R and Julia; PyTorch and TensorFlow are supported frameworks.", ("Compatibility",)),
        ("Artifacts are stored in S3 or Azure Blob Storage.", ("Storage",)),
        ("Just S3.", ()),
    ]
    for tags, found in tagger.tag_many(samples):
        tagged = {t.criterion for t in tags}
        assert all(f.criterion in tagged for f in found)
    # a lone mention is no evidence, so no fact either
    assert tagger.tag("Just S3.", ())[1] == []


def test_docker_as_environment_vs_serving_target(tagger):
    env = tagger.tag("Specify a Docker image as the environment so every run uses the same dependencies and "
                     "stays reproducible.", ("Reproducible environments",))
    serve = tagger.tag("Build a Docker image that serves the model as a REST endpoint for predictions.",
                       ("Deploying models",))
    assert ("environment", "docker") in facts(env) and ("serving_target", "docker") not in facts(env)
    assert ("serving_target", "docker") in facts(serve) and ("environment", "docker") not in facts(serve)


def test_r_language_only_in_clear_contexts(tagger):
    clear = tagger.tag("Flows can be written in Python or R; R users install the R package from CRAN.",
                       ("Supported languages",))
    unclear = tagger.tag("The R&D group compared frameworks such as PyTorch and TensorFlow. See appendix R "
                         "for the supported integrations.", ("Supported frameworks",))
    assert ("language", "r") in facts(clear)
    assert ("language", "r") not in facts(unclear)


def test_local_storage_only_in_storage_context(tagger):
    storage = tagger.tag("The remote storage can be a local directory or a mounted drive.", ("Remote storage",))
    other = tagger.tag("Local variables in a step are not persisted; only artifacts are stored in the "
                       "datastore bucket on S3.", ("Storage",))
    assert ("storage_backend", "local") in facts(storage)
    assert ("storage_backend", "local") not in facts(other)


def test_licence_and_pricing_facts(tagger):
    oss = tagger.tag("MLflow is released under the Apache License 2.0; the source code is on GitHub.", ("License",))
    cost = tagger.tag("DVC Studio has a free tier; paid plans add more seats. See the pricing page.", ("Pricing",))
    assert ("licence", "apache-2.0") in facts(oss)
    assert {("pricing", "free-tier"), ("pricing", "paid-tier")} <= facts(cost)


def test_free_in_passing_is_not_pricing(tagger):
    found = facts(tagger.tag("Feel free to open an issue. Locking is lock-free. Pricing of spot instances "
                             "varies; the cost of storage adds up.", ("Costs",)))
    assert ("pricing", "free") not in found


# ----------------------------------------------------------------------------- pattern data files
def _rows(name: str) -> list[dict]:
    text = (resources.files("extractors") / "patterns" / name).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_criteria_patterns_use_checklist_ids():
    ids = set(criterion_ids())
    rows = _rows("criteria.jsonl")
    assert {r["label"] for r in rows} == ids, "every criterion has patterns, and only checklist ids are used"
    assert all(("pattern" in r) != ("regex" in r) for r in rows)


def test_thresholds_cover_every_criterion(tagger):
    for thresholds in (tagger.thresholds, tagger.rule_thresholds):   # the model's, the rules' own
        assert set(thresholds) == set(criterion_ids())
        assert all(0.0 < v < 1.0 for v in thresholds.values())


# ----------------------------------------------------------------------------- the trained model
def test_model_ships_in_the_package_and_loads_offline():
    from extractors.linear import MODEL_FILE, load_model

    path = resources.files("extractors") / "trained" / MODEL_FILE
    assert path.is_file() and len(path.read_bytes()) < 3 * 1024 * 1024, "a few MB at most"
    model = load_model()
    assert model.criteria == list(criterion_ids()) and model.rules == list(criterion_ids())
    assert model.word_weights.shape == (len(model.word_keys), len(model.criteria))
    assert {s["file"] for s in model.meta["trained_on"]}, "the model says what it was trained on"


def test_model_was_trained_on_the_current_rules():
    """The model reads the rule scores: a rule edit without `python bench/train_tagger.py` would
    silently shift what its weights mean."""
    from extractors.linear import load_model
    from extractors.version import pattern_digest

    assert load_model().meta["rules_digest"] == pattern_digest(), \
        "criteria.jsonl or config.json changed since training: run python bench/train_tagger.py"


def test_rules_version_covers_the_model(monkeypatch, tmp_path):
    from extractors import version

    before = version.rules_version()
    version.rules_version.cache_clear()
    try:
        real = version.resources.files

        class Fake:
            def __init__(self, base):
                self.base = base

            def __truediv__(self, sub):
                return tmp_path / sub if sub == "trained" else self.base / sub

        (tmp_path / "trained").mkdir()
        (tmp_path / "trained" / "criteria_model.json").write_text("{}")
        monkeypatch.setattr(version.resources, "files", lambda pkg: Fake(real(pkg)))
        assert version.rules_version() != before
    finally:
        version.rules_version.cache_clear()


def test_scores_are_probabilities_and_rule_scores_stay_available(tagger):
    item = ("Artifacts are stored in the S3 bucket configured as the datastore.", ("Storage",))
    probs = tagger.scores_many([item])[0]
    assert set(probs) == set(criterion_ids()) and all(0.0 <= p <= 1.0 for p in probs.values())
    assert tagger.rule_scores_many([item])[0]["storage"] > 0


def test_fact_labels_are_in_the_shared_vocabulary():
    ids = set(criterion_ids())
    for r in _rows("facts.jsonl"):
        category, value = r["label"].split(":", 1)
        assert value in FACT_VOCABULARY[category], r["label"]
        assert r["criterion"] in ids


def test_unknown_fact_value_is_refused():
    from extractors.facts import check_fact_label

    with pytest.raises(ValueError, match="shared vocabulary"):
        check_fact_label("storage_backend", "amazon-s3")


def test_compute_backend_facts_exclude_model_formats_and_serving(tagger):
    compute = tagger.tag("Run the job on Apache Spark clusters in parallel to scale out.", ("Scaling with Spark",))
    flavor = tagger.tag("The mlflow.spark flavor saves Spark MLlib models; use spark_udf for batch scoring on a "
                        "cluster in parallel.", ("Scaling",))
    ray_serve = tagger.tag("Deployment targets include Ray Serve. Scale out in parallel on a Kubernetes cluster.",
                           ("Scaling",))
    assert ("compute_backend", "spark") in facts(compute)
    assert ("compute_backend", "spark") not in facts(flavor)
    assert ("compute_backend", "ray") not in facts(ray_serve)


def test_sagemaker_as_training_backend_vs_deployment_target(tagger):
    train = tagger.tag("Launch the training job on SageMaker instances to scale out to a GPU cluster in parallel.",
                       ("Scaling out",))
    deploy = tagger.tag("Deploy the model to a SageMaker endpoint for real-time inference.", ("Deploying models",))
    assert ("compute_backend", "sagemaker") in facts(train)
    assert ("serving_target", "sagemaker") in facts(deploy)
    assert ("compute_backend", "sagemaker") not in facts(deploy)
