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
    assert flag.kind == "capability" and flag.rank == 2
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


def test_gone_once_is_possibly_removed_the_same_week_and_confirmed_by_the_next_crawl(crawls):
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    once = run_diff(crawls.store)
    [flag] = once.flags
    assert (flag.criterion, flag.kind, flag.rank) == ("storage", "possibly_removed", 6)
    assert flag.removed == [] and flag.facts_lost == {}
    [maybe] = flag.possibly_removed
    assert maybe["url"] == "http://127.0.0.1:8002/doc/storage#remote-storage" and maybe["gone_since"]
    assert flag.payload["facts_possibly_lost"] == {"storage_backend": ["s3"]}
    assert "?1 possibly removed" in flag.summary
    assert [p["url"] for p in once.crawl_health["dvc"]["possibly_gone"]] == ["http://127.0.0.1:8002/doc/storage"]
    crawls.run("dvc", {"/doc/storage": Gone(410), "/doc/metrics": page(METRICS)})
    twice = run_diff(crawls.store)
    confirmed = flag_for(twice, "dvc", "storage")
    assert confirmed.id == flag.id and confirmed.status == "open"       # the same flag, now confirmed
    assert [r["url"] for r in confirmed.removed] == ["http://127.0.0.1:8002/doc/storage#remote-storage"]
    assert confirmed.removed[0]["gone"]["since"] == maybe["gone_since"] and confirmed.possibly_removed == []
    assert confirmed.facts_lost == {"storage_backend": ["s3"]} and confirmed.kind == "capability"
    assert [p["url"] for p in twice.crawl_health["dvc"]["gone"]] == ["http://127.0.0.1:8002/doc/storage"]


def test_a_removal_seen_and_accepted_is_not_flagged_again_when_confirmed(crawls):
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    run2 = crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    [flag] = run_diff(crawls.store).flags
    _accept(crawls, flag, run2)
    crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    assert run_diff(crawls.store).flags == []


def test_a_page_back_after_one_404_withdraws_the_possible_removal(crawls):
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    run2 = crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    [flag] = run_diff(crawls.store).flags
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    assert run_diff(crawls.store).flags == []                       # pending flag withdrawn
    assert get_flag(crawls.store, flag.id).status == "superseded"
    # Seen and accepted as possibly removed, then back: the passage is restored, not added.
    crawls.run("dvc", {"/doc/storage": Gone(404), "/doc/metrics": page(METRICS)})
    [again] = run_diff(crawls.store).flags
    _accept(crawls, again, again.to_run)
    crawls.run("dvc", {"/doc/storage": page(S3), "/doc/metrics": page(METRICS)})
    [back] = run_diff(crawls.store).flags
    assert back.added == [] and [r["url"] for r in back.restored] == [
        "http://127.0.0.1:8002/doc/storage#remote-storage"]
    assert back.kind == "capability" and back.facts_gained == {"storage_backend": ["s3"]}
    assert run2 < again.to_run


def _accept(crawls, flag, run_id):
    """`collector review accept`: the flag's crawl becomes the cell's reviewed state."""
    from knowledge.review.decisions import decide

    assert flag.to_run == run_id
    decide(crawls.store, flag.id, "accepted", reviewer="Ada")


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
    assert [f.rank for f in result.flags] == [2, 3, 4]
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


def test_disagreeing_with_the_study_is_context_not_a_kind(crawls, monkeypatch):
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
    # The docs disagreed with the study before this change too: the kind says what changed.
    assert sorted((f.criterion, f.kind, f.rank) for f in result.flags) == [
        ("storage", "evidence", 3), ("tracking", "evidence", 3)]
    storage = flag_for(result, "dvc", "storage")
    base = storage.payload["baseline"]
    assert base["docs_not_in_baseline"] == {"storage_backend": ["azure-blob"]} and base["contradicts"]
    assert storage.claim is None


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


# --------------------------------------------------------------------------- moves (issue 12, items 1-2)
def _site(prefix: str, extra: dict | None = None) -> dict:
    """Six pages of a docs site under `prefix` (a site move changes only the prefix)."""
    pages = {f"{prefix}/guide/{name}": page((name.title(), f"The {name} guide explains remote storage for {name} "
                                                         f"projects in some detail."))
             for name in ("alpha", "beta", "gamma", "delta", "epsilon")}
    pages[prefix or "/"] = page(S3)
    pages.update(extra or {})
    return pages


def test_a_site_wide_move_is_one_crawl_health_line_and_no_flag(crawls):
    crawls.run("dvc", _site("/doc"))
    moved = _site("")
    crawls.run("dvc", {**moved, **{path: Gone(404) for path in _site("/doc")}})
    result = run_diff(crawls.store)
    assert result.flags == []
    [mv] = result.crawl_health["dvc"]["moved"]
    assert (mv["from"], mv["to"], mv["pages"]) == ("/doc/", "/", 6)
    assert ["/doc", "/"] in mv["paths"]
    assert all(p.get("moved_to") for p in result.crawl_health["dvc"]["possibly_gone"])
    # The old addresses 404 again: still no flag, and no removal.
    crawls.run("dvc", {**moved, **{path: Gone(404) for path in _site("/doc")}})
    assert run_diff(crawls.store).flags == []


def test_a_real_change_after_a_site_move_is_flagged_alone(crawls):
    crawls.run("dvc", _site("/doc"))
    changed = _site("", {"/guide/beta": page(("Beta", "The beta guide explains Azure remote storage for beta "
                                                      "projects in some detail."))})
    crawls.run("dvc", {**changed, **{path: Gone(404) for path in _site("/doc")}})
    [flag] = run_diff(crawls.store).flags
    assert flag.criterion == "storage" and flag.added == [] and flag.removed == [] and flag.moved == []
    [ch] = flag.changed
    assert ch["url"].endswith("/guide/beta#beta") and ch["old_url"].endswith("/doc/guide/beta#beta")
    assert flag.payload["site_moves"] == [{"from": "/doc/", "to": "/", "passages": 5}]
    assert flag.facts_gained == {"storage_backend": ["azure-blob"]}


def test_text_that_exists_elsewhere_is_moved_never_added_or_removed(crawls):
    moving = ("Caching", "The remote cache keeps every version of the storage files you push.")
    crawls.run("dvc", {"/doc/a": page(S3, moving), "/doc/b": page(INTRO), "/doc/c": page(moving)})
    # /doc/a answers 404 once (possibly gone); its passages are live elsewhere now.
    crawls.run("dvc", {"/doc/a": Gone(404), "/doc/b": page(INTRO, moving, S3), "/doc/c": page(moving)})
    [flag] = run_diff(crawls.store).flags
    assert flag.added == [] and flag.removed == [] and flag.possibly_removed == []
    assert sorted((m["old_url"].rsplit("/", 1)[-1], m["url"].rsplit("/", 1)[-1]) for m in flag.moved) == [
        ("a#caching", "b#caching"), ("a#remote-storage", "b#remote-storage")]
    assert flag.kind == "wording"


def test_an_accepted_cross_page_move_is_not_flagged_again_next_week(crawls):
    # Issue 12, item 2: identity follows the passage across pages and across weeks.
    moving = ("Caching", "The remote cache keeps every version of the storage files you push.")
    crawls.run("dvc", {"/doc/a": page(S3, moving), "/doc/b": page(INTRO)})
    run2 = crawls.run("dvc", {"/doc/a": Gone(404), "/doc/b": page(INTRO, moving),
                              "/doc/s": page(S3)})
    [flag] = run_diff(crawls.store).flags
    assert {m["url"].rsplit("/", 1)[-1] for m in flag.moved} == {"b#caching", "s#remote-storage"}
    _accept(crawls, flag, run2)
    crawls.run("dvc", {"/doc/a": Gone(404), "/doc/b": page(INTRO, moving), "/doc/s": page(S3)})
    assert run_diff(crawls.store).flags == []


def test_a_passage_copied_from_another_page_is_moved_not_added(crawls):
    crawls.run("dvc", {"/doc/a": page(S3), "/doc/b": page(INTRO)})
    crawls.run("dvc", {"/doc/a": page(S3), "/doc/b": page(INTRO, S3)})
    [flag] = run_diff(crawls.store).flags
    assert flag.added == [] and [(m["old_url"][-17:], m["url"][-17:]) for m in flag.moved] == [
        ("/a#remote-storage", "/b#remote-storage")]


# --------------------------------------------------------------------------- kinds (issue 12, items 4-5)
LONG = ("Runners", "The runner is experimental and runs a batch job on a cluster of machines with many workers.")


def test_capability_comes_from_the_changed_words_not_the_whole_passage(crawls):
    crawls.run("dvc", {"/doc/k": page(LONG)})
    crawls.run("dvc", {"/doc/k": page(("Runners", LONG[1].replace("many workers", "many more workers")))})
    flag = flag_for(run_diff(crawls.store), "dvc", "scaling")
    assert flag.kind == "wording" and flag.payload["cues"] == []          # 'experimental' was there before
    crawls.run("dvc", {"/doc/k": page(("Runners", LONG[1].replace("is experimental and ", "")))})
    flag = flag_for(run_diff(crawls.store), "dvc", "scaling")
    assert flag.kind == "capability" and flag.payload["cues_removed"] == ["experimental"]
    assert flag.changed[0]["cues_removed"] == ["experimental"]


def test_deleting_news_words_is_not_a_capability_change(crawls):
    news = ("News", "The cluster runner now supports batch jobs. Release notes follow below for the team.")
    crawls.run("dvc", {"/doc/k": page(news)})
    crawls.run("dvc", {"/doc/k": page(("News", "The cluster runner runs batch jobs. Release notes follow below "
                                               "for the team."))})
    flag = flag_for(run_diff(crawls.store), "dvc", "scaling")
    assert flag.kind == "wording" and flag.payload["cues_removed"] == []


def test_reference_material_ranks_below_prose(crawls):
    api = ("run_batch", "run_batch(cluster=None, workers=4, image=None, queue_name='default') Submit a batch "
                        "job to the cluster. Args: cluster: name. workers: int. image: str. queue_name: str.")
    serve = ("Serving", "Deploy the model to a server and serve predictions over HTTP for every client.")
    crawls.run("dvc", {"/doc/api-reference/batch": page(api), "/doc/serve": page(serve)})
    crawls.run("dvc", {"/doc/api-reference/batch": page((api[0], api[1].replace("workers=4", "workers=8")
                                                          + " This is deprecated.")),
                       "/doc/serve": page(("Serving", serve[1].replace("every client", "each client")))})
    result = run_diff(crawls.store)
    assert [(f.criterion, f.kind, f.rank) for f in result.flags] == [("serving", "wording", 4),
                                                                      ("scaling", "reference", 5)]
    [ch] = flag_for(result, "dvc", "scaling").changed
    assert ch["reference"] and ch["cues"] == ["deprecated"]       # listed, but not a capability flag
    [prose] = flag_for(result, "dvc", "serving").changed
    assert prose["reference"] is False and prose["importance"] > ch["importance"]


def test_content_shaped_boilerplate_never_flags(crawls):
    crawls.run("dvc", {"/doc/k": page(("Runners", "A batch job runs on the cluster.\nYour browser does not "
                                                  "support the video tag.\nNote\nWorkers scale out.")),
                       "/doc/n": page(("Notebook", "Track each experiment metric.\nDownload this Notebook"))})
    crawls.run("dvc", {"/doc/k": page(("Runners", "A batch job runs on the cluster.\nWarning\nWorkers scale "
                                                  "out.")),
                       "/doc/n": page(("Notebook", 'Track each experiment metric.\n<a href="x.ipynb" '
                                                   'class="notebook-download-btn">Download the Tracking '
                                                   'Notebook</a><br>'))})
    assert run_diff(crawls.store).flags == []


def test_a_claim_block_that_contradicts_makes_the_flag_a_contradiction_ranked_first():
    from knowledge.diff.engine import KINDS, _kind

    payload = {k: [] for k in ("added", "removed", "changed", "moved", "possibly_removed", "restored",
                               "cues", "cues_removed")}
    payload.update(facts_gained={}, facts_lost={})
    assert _kind(dict(payload, changed=[{"reference": False}])) == "wording"
    claim = {"verdict": "stale", "contradicts": True, "assertions": [{"text": "S3 only", "status": "contradicted"}],
             "summary_line": "contradicts the study: S3 only -- the list has grown: +azure-blob"}
    assert _kind(dict(payload, claim=claim)) == "contradiction" and KINDS["contradiction"] == min(KINDS.values())
    # A verdict that changed without contradicting the study (e.g. holds -> extended) is no contradiction.
    quiet = dict(claim, verdict="extended", contradicts=False)
    assert _kind(dict(payload, claim=quiet)) == "evidence"
    assert _kind(dict(payload, claim=quiet, changed=[{"reference": False}])) == "wording"


def test_a_tag_lost_with_boilerplate_alone_is_wording_not_evidence(crawls):
    crawls.run("dvc", {"/doc/p": page(("Plots", "Charts of a run.\nDownload the metric Notebook"))})
    crawls.run("dvc", {"/doc/p": page(("Plots", "Charts of a run."))})
    flag = flag_for(run_diff(crawls.store), "dvc", "tracking")
    [ch] = flag.changed
    assert ch["tagged"] == "lost" and all(o["op"] == "equal" for o in ch["diff"])
    assert flag.kind == "wording" and flag.removed == []
