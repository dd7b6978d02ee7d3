"""Unit tests for extractors.tagger: API, scoring behaviour, facts and the pattern data files."""
from __future__ import annotations

import json
from importlib import resources

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


def test_reference_grammar_weighs_less(tagger):
    """A command synopsis names every option; the description is what a reader needs."""
    synopsis = ("usage: dvc push [-h] [-q | -v] [-j <number>] [-r <name>] [-a] [-T] [targets ...] positional "
                "arguments: targets Limit command scope to these tracked files to upload to remote storage")
    as_synopsis = _scores(tagger, synopsis, ("push", "Synopsis"))
    as_prose = _scores(tagger, synopsis.removeprefix("usage: "), ("push", "Description"))
    assert as_synopsis["storage"] < as_prose["storage"]
    assert "storage" not in crits(tagger.tag(synopsis, ("push", "Synopsis")))
    # the heading alone marks reference material too
    desc = "Uploads tracked files to remote storage: dvc push copies the cached files to an S3 bucket."
    assert _scores(tagger, desc, ("push", "Synopsis"))["storage"] < _scores(tagger, desc, ("push", "Description"))["storage"]
    rest = ("Field Name Type Description run_id STRING ID of the run to log metrics under. metrics An array of "
            "Metric to log; params An array of Param.")
    assert crits(tagger.tag(rest, ("REST API", "Log Batch", "Request Structure"))) == set()


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


def test_config_thresholds_cover_every_criterion(tagger):
    assert set(tagger.thresholds) == set(criterion_ids())
    assert all(0.0 < v < 1.0 for v in tagger.thresholds.values())


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
