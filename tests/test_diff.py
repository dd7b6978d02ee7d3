"""`collector diff`: criterion-level change detection, noise suppression, flags (fixed extractor)."""
from __future__ import annotations

import sys
import types

import pytest

from knowledge.diff.engine import get_flag, open_flags, run_diff
from knowledge.errors import UsageError
from knowledge.store import utcnow
from test_diff_kit import Crawls, Failed, Gone, flag_for, page, use_fixed_extractor

S3 = ("Remote storage", "DVC pushes data to an Amazon S3 bucket configured as a remote.")
METRICS = ("Metrics", "Log a metric for every experiment and compare them.")
INTRO = ("Introduction", "This guide explains the project layout.")


@pytest.fixture
def crawls(tmp_path, monkeypatch):
    use_fixed_extractor(monkeypatch)
    monkeypatch.setitem(sys.modules, "knowledge.domain.baseline", None)   # no baseline unless a test sets one
    return Crawls(tmp_path)


def test_capability_change_is_flagged_under_its_criterion(crawls):
    crawls.run("dvc", {"/doc/storage": page(INTRO, S3), "/doc/metrics": page(METRICS)})
    crawls.run("dvc", {"/doc/storage": page(INTRO, S3, ("Other clouds", "Azure remote storage and Google Cloud "
                                                         "Storage (GCS) buckets are supported too.")),
                       "/doc/metrics": page(METRICS)})
    result = run_diff(crawls.store)
    assert [(f.tool, f.criterion) for f in result.flags] == [("dvc", "storage")]
    flag = result.flags[0]
    assert flag.kind == "capability" and flag.rank == 1
    assert flag.facts_gained == {"storage_backend": ["azure-blob", "gcs"]}
    assert flag.facts_lost == {}
    assert [a["url"] for a in flag.added] == ["http://127.0.0.1:8002/doc/storage#other-clouds"]
    assert flag.added[0]["crawled_at"] and flag.added[0]["heading_path"] == ["Page", "Other clouds"]
    assert "+azure-blob" in flag.summary and "+1 added" in flag.summary


def test_noise_never_flags(crawls):
    crawls.run("dvc", {"/doc/storage": page(INTRO, S3, ("Install", "Requires version 2.10.3 of the client."))})
    crawls.run("dvc", {"/doc/storage": page(
        ("Install", "Requires   version v2.11.0 of the\n client"),           # version bump, whitespace, punctuation
        ("REMOTE STORAGE", "DVC pushes data to an Amazon S3 bucket, configured as a remote!"),  # case/punct
        INTRO,                                                                # reordered sections
        chrome="Home | Docs | Blog | Changelog | New page", stamp="build 9e8d7c6 at 2024-04-01T04:00:00Z")})
    result = run_diff(crawls.store)
    assert result.flags == []
    assert crawls.flags() == []


def test_moved_and_reworded_passages(crawls):
    moving = ("Caching", "The remote cache keeps every version of the storage files you push.")
    crawls.run("dvc", {"/doc/a": page(S3, moving), "/doc/b": page(INTRO)})
    crawls.run("dvc", {"/doc/a": page(("Remote storage", "DVC pushes data to an Amazon S3 bucket that you "
                                                          "configure as a default remote.")),
                       "/doc/b": page(INTRO, moving)})
    flag = flag_for(run_diff(crawls.store), "dvc", "storage")
    assert flag is not None and flag.kind == "wording" and flag.rank == 4
    assert flag.added == [] and flag.removed == []
    assert [(m["old_url"], m["url"]) for m in flag.moved] == [
        ("http://127.0.0.1:8002/doc/a#caching", "http://127.0.0.1:8002/doc/b#caching")]
    [ch] = flag.changed
    assert ch["url"] == ch["old_url"] == "http://127.0.0.1:8002/doc/a#remote-storage"
    ops = ch["diff"]
    assert {"op": "delete", "text": "configured"} in ops
    assert {"op": "insert", "text": "that you configure"} in ops or any(
        o["op"] == "insert" and "configure" in o["text"] for o in ops)
    assert any(o["op"] == "insert" and "default" in o["text"] for o in ops)
    from knowledge.diff.matching import render_diff

    assert "[-configured-]" in render_diff(ops) and "{+" in render_diff(ops)


def test_passage_that_becomes_evidence_by_a_rewording_is_changed_not_added(crawls):
    crawls.run("dvc", {"/doc/c": page(("Caching", "The cache keeps every version of your data files."))})
    crawls.run("dvc", {"/doc/c": page(("Caching", "The cache keeps every version of your data files in a "
                                                  "bucket."))})
    flag = flag_for(run_diff(crawls.store), "dvc", "storage")
    assert flag.added == [] and flag.kind == "evidence"
    [ch] = flag.changed
    assert ch["tagged"] == "gained" and {"op": "insert", "text": "in a bucket."} in ch["diff"]


def test_failed_page_is_crawl_health_not_removal(crawls):
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    crawls.run("dvc", {"/doc/storage": Failed("timeout after 30 s"), "/doc/metrics": page(METRICS)}, status="partial")
    result = run_diff(crawls.store)
    assert result.flags == []
    health = result.crawl_health["dvc"]
    assert [p["url"] for p in health["failed"]] == ["http://127.0.0.1:8002/doc/storage"]
    assert health["failed"][0]["reason"] == "timeout after 30 s" and health["failed"][0]["evidence_kept"]
    assert any("partial" in n and "carried forward" in n for n in result.notes)


def test_pages_are_matched_by_path_across_mirrors(crawls):
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)}, origin="http://127.0.0.1:9001")
    crawls.run("dvc", {"/doc/storage": Failed("timeout"), "/doc/metrics": page(METRICS)}, status="partial",
               origin="http://127.0.0.1:9002")
    result = run_diff(crawls.store)
    assert result.flags == []
    assert result.crawl_health["dvc"]["failed"][0]["evidence_kept"]


def test_gone_once_is_possibly_gone_twice_is_removed(crawls):
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    once = run_diff(crawls.store)
    assert once.flags == []
    assert [p["url"] for p in once.crawl_health["dvc"]["possibly_gone"]] == ["http://127.0.0.1:8002/doc/storage"]
    crawls.run("dvc", {"/doc/storage": Gone(410), "/doc/metrics": page(METRICS)})
    twice = run_diff(crawls.store)
    flag = flag_for(twice, "dvc", "storage")
    assert flag is not None and [r["url"] for r in flag.removed] == ["http://127.0.0.1:8002/doc/storage#remote-storage"]
    assert flag.facts_lost == {"storage_backend": ["s3"]} and flag.kind == "capability"
    assert [p["url"] for p in twice.crawl_health["dvc"]["gone"]] == ["http://127.0.0.1:8002/doc/storage"]


def test_a_failed_fetch_between_two_404s_does_not_reset_the_count(crawls):
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    crawls.run("dvc", {"/doc/storage": Failed("HTTP 503"), "/doc/metrics": page(METRICS)}, status="partial")
    assert run_diff(crawls.store).flags == []
    crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    flag = flag_for(run_diff(crawls.store), "dvc", "storage")
    assert flag is not None and [r["url"] for r in flag.removed] == ["http://127.0.0.1:8002/doc/storage#remote-storage"]


def test_facts_rank_first_then_evidence_then_wording(crawls):
    crawls.run("dvc", {"/doc/s": page(S3), "/doc/m": page(METRICS, ("Params", "Params file for an experiment.")),
                       "/doc/k": page(("Clusters", "Run a batch job on a cluster of machines."))})
    crawls.run("dvc", {"/doc/s": page(("Remote storage", "DVC pushes data to Azure storage.")),
                       "/doc/m": page(METRICS),
                       "/doc/k": page(("Clusters", "Run a batch job on a big cluster of many machines."))})
    result = run_diff(crawls.store)
    assert [(f.criterion, f.kind) for f in result.flags] == [
        ("storage", "capability"), ("tracking", "evidence"), ("scaling", "wording")]
    assert [f.rank for f in result.flags] == [1, 3, 4]
    storage = result.flags[0]
    assert storage.facts_gained == {"storage_backend": ["azure-blob"]}
    assert storage.facts_lost == {"storage_backend": ["s3"]}


def test_cue_words_make_a_capability_flag(crawls):
    crawls.run("dvc", {"/doc/k": page(("Clusters", "Run a batch job on a cluster of machines."))})
    crawls.run("dvc", {"/doc/k": page(("Clusters", "Run a batch job on a cluster of machines. This is "
                                                   "deprecated and no longer maintained."))})
    flag = flag_for(run_diff(crawls.store), "dvc", "scaling")
    assert flag.kind == "capability"
    assert set(flag.payload["cues"]) >= {"deprecated", "no longer"}


def test_diff_is_idempotent_and_newer_diff_supersedes(crawls):
    crawls.run("dvc", {"/doc/s": page(S3)})
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    first = run_diff(crawls.store)
    second = run_diff(crawls.store)
    assert [f.id for f in first.flags] == [f.id for f in second.flags]
    assert len(crawls.flags()) == 1 and crawls.flags()[0]["status"] == "open"
    old_id = first.flags[0].id
    assert old_id.startswith("F") and get_flag(crawls.store, old_id).tool == "dvc"
    # An identical re-crawl keeps the same flag; a further change supersedes it.
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    assert [f.id for f in run_diff(crawls.store).flags] == [old_id]
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure and GCS remote storage work too."))})
    third = run_diff(crawls.store)
    assert len(third.flags) == 1 and third.flags[0].id != old_id
    assert get_flag(crawls.store, old_id).status == "superseded"
    assert [f.id for f in open_flags(crawls.store)] == [third.flags[0].id]
    # Back to the reviewed (earliest) state: the pending flag is stale.
    crawls.run("dvc", {"/doc/s": page(S3)})
    assert run_diff(crawls.store).flags == []
    assert open_flags(crawls.store) == []


def test_accepted_flag_moves_the_baseline_and_all_shows_decision(crawls):
    crawls.run("dvc", {"/doc/s": page(S3)})
    run2 = crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    flag = run_diff(crawls.store).flags[0]
    # What `collector review accept` does (knowledge.review.decisions): decision row, status, reviewed_state.
    now = utcnow()
    with crawls.store.transaction() as conn:
        conn.execute("INSERT INTO decisions (flag_id, tool, criterion, decision, note, reviewer, decided_at, to_run, "
                     "to_state) VALUES (?, 'dvc', 'storage', 'accepted', 'ok', 'ana', ?, ?, ?)",
                     (flag.id, now, flag.to_run, flag.to_state))
        conn.execute("UPDATE flags SET status = 'accepted' WHERE id = ?", (flag.id,))
        conn.execute("INSERT INTO reviewed_state VALUES ('dvc', 'storage', ?, ?, ?, ?)", (run2, flag.to_state, flag.id, now))
    assert run_diff(crawls.store).flags == []
    shown = run_diff(crawls.store, include_reviewed=True).flags
    assert [(f.id, f.status, f.decision["decision"]) for f in shown] == [(flag.id, "accepted", "accepted")]
    # The next change is diffed against the accepted crawl, not the earliest one.
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."), ("Local", "A local remote."))})
    [new] = run_diff(crawls.store).flags
    assert new.from_run == run2 and [a["text"] for a in new.added] == ["A local remote."]


def test_rule_change_does_not_flag(crawls, monkeypatch):
    crawls.run("dvc", {"/doc/s": page(S3)})
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    before = [f.id for f in run_diff(crawls.store).flags]
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    monkeypatch.setattr("knowledge.evidence.rules.rules_version", lambda: "new-rules-0001")
    after = run_diff(crawls.store)
    assert [f.id for f in after.flags] == before          # same evidence, same flag, nothing new
    assert len(crawls.flags()) == 1
    keys = {r[0] for r in crawls.store.conn.execute("SELECT rules_version FROM extractions")}
    assert any(k.startswith("new-rules-0001") for k in keys)      # both sides were re-read with new rules


def test_rule_change_alone_never_flags(crawls, monkeypatch):
    crawls.run("dvc", {"/doc/s": page(S3), "/doc/m": page(METRICS)})
    crawls.run("dvc", {"/doc/s": page(S3), "/doc/m": page(METRICS)})
    monkeypatch.setattr("knowledge.evidence.rules.rules_version", lambda: "new-rules-0002")
    assert run_diff(crawls.store).flags == []


def test_baseline_contradiction_ranks_second(crawls, monkeypatch):
    claim = types.SimpleNamespace(tool="dvc", criterion="storage", claim="DVC stores data in S3 only.",
                                  citations=["https://dvc.org/doc"], status="current",
                                  facts={"storage_backend": ("s3",)})
    fake = types.ModuleType("knowledge.domain.baseline")
    fake.baseline_for = lambda tool, criterion: claim if (tool, criterion) == ("dvc", "storage") else None
    monkeypatch.setitem(sys.modules, "knowledge.domain.baseline", fake)
    both = ("Remote storage", "Push to an S3 bucket or to Azure.")
    crawls.run("dvc", {"/doc/s": page(both), "/doc/m": page(METRICS)})
    crawls.run("dvc", {"/doc/s": page(both, ("Tips", "Storage remotes can be listed.")), "/doc/m": page()})
    result = run_diff(crawls.store)
    assert [(f.criterion, f.kind, f.rank) for f in result.flags] == [
        ("storage", "contradiction", 2), ("tracking", "evidence", 3)]
    base = result.flags[0].payload["baseline"]
    assert base["docs_not_in_baseline"] == {"storage_backend": ["azure-blob"]} and base["contradicts"]


def test_run_selection_and_explicit_runs(crawls):
    r1 = crawls.run("dvc", {"/doc/s": page(S3)})
    r2 = crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    r3 = crawls.run("dvc", {"/doc/s": page(INTRO)}, status="interrupted")
    m1 = crawls.run("mlflow", {"/docs/latest/x.html": page(METRICS)})
    result = run_diff(crawls.store, tools=["dvc"])
    assert result.to_runs["dvc"]["run_id"] == r2
    assert any(f"run {r3} (interrupted)" in n for n in result.notes)
    same = run_diff(crawls.store, from_run=r1, to_run=r2)
    assert [f.id for f in same.flags] == [f.id for f in result.flags] and same.flags[0].status == "open"
    backwards = run_diff(crawls.store, from_run=r2, to_run=r1)
    assert [f.criterion for f in backwards.flags] == ["storage"] and not backwards.saved
    assert backwards.flags[0].removed and backwards.flags[0].status == "unsaved"
    assert len(crawls.flags()) == 1                                  # explicit runs save nothing
    with pytest.raises(UsageError, match="same tool"):
        run_diff(crawls.store, from_run=r1, to_run=m1)
    with pytest.raises(UsageError, match="interrupted"):
        run_diff(crawls.store, from_run=r1, to_run=r3)
    with pytest.raises(UsageError, match="together"):
        run_diff(crawls.store, from_run=r1)
    with pytest.raises(UsageError, match="no crawl run 99"):
        run_diff(crawls.store, from_run=r1, to_run=99)


def test_compare_shows_the_criterion_for_other_tools(crawls):
    crawls.run("dvc", {"/doc/s": page(S3)})
    crawls.run("dvc", {"/doc/s": page(S3, ("More", "Azure remote storage works too."))})
    crawls.run("mlflow", {"/docs/latest/a.html": page(("Artifact stores", "Artifacts go to S3 or a local "
                                                                          "storage folder."))})
    result = run_diff(crawls.store, fair=True)
    rows = {r["tool"]: r for r in result.compare["storage"]}
    assert rows["dvc"]["flagged_here"] and rows["dvc"]["evidence"] == 2
    assert rows["mlflow"]["evidence"] == 1 and rows["mlflow"]["open_flags"] == 0 and not rows["mlflow"]["flagged_here"]


def test_unknown_names_are_usage_errors(crawls):
    crawls.run("dvc", {"/doc/s": page(S3)})
    with pytest.raises(UsageError) as exc:
        run_diff(crawls.store, tools=["dvcc"])
    assert "dvc" in exc.value.hint and "mlflow" in exc.value.hint
    with pytest.raises(UsageError) as exc:
        run_diff(crawls.store, criteria=["storag"])
    assert "storage" in exc.value.hint
