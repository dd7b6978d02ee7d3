"""Review and diff together: an accepted (or dismissed) change becomes the cell's reviewed state,
so the next `collector diff` flags the cell only when its evidence changes again."""
import pytest

from knowledge.review import decisions as review
from knowledge.diff.engine import run_diff
from knowledge.store import Store
from test_review_support import add_run, db_rows, fake_extractor, study  # noqa: F401 (fixtures)


@pytest.fixture
def store(tmp_path, study, fake_extractor):
    fake_extractor["/v2/storage"] = fake_extractor["/doc/storage"] + [
        ("gcs", "GCS", "Google Cloud Storage buckets work too.", {"storage": 0.8},
         [("storage_backend", "gcs", "storage")])]
    fake_extractor["/v3/storage"] = fake_extractor["/v2/storage"] + [
        ("hdfs", "HDFS", "HDFS is supported as well.", {"storage": 0.7}, [("storage_backend", "hdfs", "storage")])]
    with Store.open(tmp_path / "k.sqlite") as s:
        yield s


def storage_flags(store):
    return [f for f in review.queue(store) if f.criterion == "storage"]


@pytest.mark.parametrize("decision", ["accepted", "dismissed"])
def test_a_decided_change_is_not_flagged_again_until_the_evidence_changes(store, decision):
    add_run(store, "mlflow", ["/doc/storage"], when="2026-01-01T00:00:00Z")
    second = add_run(store, "mlflow", ["/v2/storage"], when="2026-02-01T00:00:00Z")
    run_diff(store, tools=["mlflow"])
    (flag,) = storage_flags(store)
    assert flag.to_run == second

    review.decide(store, flag.id, decision, reviewer="Ada")
    assert db_rows(store, "SELECT run_id, state FROM reviewed_state WHERE criterion = 'storage'") == \
        [{"run_id": second, "state": flag.to_state}]

    add_run(store, "mlflow", ["/v2/storage"], when="2026-03-01T00:00:00Z")      # same evidence again
    run_diff(store, tools=["mlflow"])
    assert storage_flags(store) == []

    fourth = add_run(store, "mlflow", ["/v3/storage"], when="2026-04-01T00:00:00Z")   # changed again
    run_diff(store, tools=["mlflow"])
    (again,) = storage_flags(store)
    assert (again.from_run, again.to_run) == (second, fourth)
    assert again.payload["facts_gained"] == {"storage_backend": ["hdfs"]}


def test_uncertain_keeps_the_flag_and_the_old_reviewed_state(store):
    add_run(store, "mlflow", ["/doc/storage"])
    add_run(store, "mlflow", ["/v2/storage"])
    run_diff(store, tools=["mlflow"])
    (flag,) = storage_flags(store)
    review.decide(store, flag.id, "uncertain", reviewer="Ada")
    run_diff(store, tools=["mlflow"])
    assert [(f.id, f.status) for f in storage_flags(store)] == [(flag.id, "uncertain")]
    assert db_rows(store, "SELECT * FROM reviewed_state WHERE criterion = 'storage'") == []


def test_show_lists_the_terms_that_tagged_each_passage(store):
    from knowledge.review.decisions import describe

    add_run(store, "mlflow", ["/doc/storage"])
    add_run(store, "mlflow", ["/v2/storage"])
    run_diff(store, tools=["mlflow"])
    (flag,) = storage_flags(store)
    info = describe(store, flag.id)
    added = info["flag"]["payload"]["added"][0]["url"]
    assert added.endswith("/v2/storage#gcs")
    assert info["terms"][added] == ["google", "cloud"]
