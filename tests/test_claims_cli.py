"""`collector claims` end to end: a small DVC-shaped site crawled for real over loopback, judged on
the first crawl, after the docs change, and --as-of the first crawl again."""
from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from cli import app
from conftest import html, write_site
from crawler.localserver import serve
from knowledge.ops.crawl import run_crawl

runner = CliRunner()
ORIGIN = "https://dvc.org"
FILLER = {f"/doc/guide/page-{n}": html(f"Guide {n}", "/doc", extra=f"<p>Git-based data versioning with .dvc "
                                           f"files, part {n}.</p>") for n in range(22)}
# What the pipelines claim says besides `dvc run` (a crawl that never mentions it would contradict it).
FILLER["/doc/guide/pipelines"] = html("Pipelines", "/doc", extra="<p>A stage wraps any command, without code "
                                      "changes. The Python API (dvc.api) reads data from code.</p>")


def site_v1() -> dict[str, str]:
    links = ["/doc/command-reference/run", "/doc/command-reference/repro", "/doc/studio/plans", *FILLER]
    return {"/doc": html("DVC documentation", *links), **FILLER,
            "/doc/command-reference/run": html("dvc run", "/doc", extra="<p>dvc run adds a stage and runs it.</p>"),
            "/doc/command-reference/repro": html("dvc repro", "/doc", extra="<p>dvc repro reruns the stages.</p>"),
            "/doc/studio/plans": html("Plans", "/doc", extra="<p>DVC Studio is free for teams of up to 5 members "
                                                           "on the Free plan.</p>")}


def site_v2() -> dict[str, str]:
    files = site_v1()
    del files["/doc/command-reference/run"]
    files["/doc"] = html("DVC documentation", "/doc/command-reference/repro", "/doc/studio/plans", *FILLER)
    files["/doc/studio/plans"] = html("Plans", "/doc", extra="<p>By default, teams are on the Free plan and can have "
                                                           "2 collaborators. To add more than 2 collaborators, "
                                                           "upgrade to the Enterprise plan.</p>")
    return files


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    """A store with three crawls of the same server: v1, then v2 twice (a page must answer 404 on
    two crawls in a row before it is gone). Built once; each test works on a copy."""
    tmp = tmp_path_factory.mktemp("claims")
    sources = tmp / "sources.toml"
    sources.write_text(f'[[source]]\ntool = "dvc"\nroots = ["{ORIGIN}/doc"]\nallow = ["{ORIGIN}/doc"]\n'
                       f'content = ["main"]\n', encoding="utf-8")
    db = tmp / "claims.sqlite"
    with serve(write_site(tmp / "v1", site_v1())) as server:
        def crawl() -> None:
            result = run_crawl(["dvc"], base_urls=[f"dvc={server.origin}"], sources_file=sources, db=db)
            assert [r["status"] for r in result["runs"]] == ["complete"], result

        crawl()
        server.root = write_site(tmp / "v2", site_v2()).resolve()
        crawl()
        crawl()
    return db


@pytest.fixture
def dvc_store(crawled, tmp_path):
    db = tmp_path / "claims.sqlite"
    shutil.copy(crawled, db)
    return db


def claims(db, *args) -> dict:
    result = runner.invoke(app, ["claims", "dvc", "--db", str(db), "--json", *args])
    assert result.exit_code == 0, result.stderr
    return {(c["tool"], c["criterion"]): c for c in json.loads(result.stdout)}


def test_claims_are_judged_from_the_first_crawl_and_follow_the_docs(dvc_store):
    first = claims(dvc_store, "--as-of", "1")
    assert first["dvc", "pipelines"]["verdict"] == "holds"
    assert first["dvc", "costs"]["verdict"] == "holds"
    assert first["dvc", "hpc"]["verdict"] == "no-claim"

    now = claims(dvc_store)
    pipelines, costs = now["dvc", "pipelines"], now["dvc", "costs"]
    assert pipelines["verdict"] == "stale" and costs["verdict"] == "stale"
    run = next(a for a in pipelines["assertions"] if a["key"] == "dvc.pipelines.dvc-run")
    assert run["status"] == "contradicted" and "no longer documented" in run["reason"]
    assert run["cited"][0] == {"url": "https://dvc.org/doc/command-reference/run", "status": "gone",
                               "final_url": "", "detail": "answers 404"}
    limit = next(a for a in costs["assertions"] if a["key"] == "dvc.costs.studio-free-team")
    assert limit["status"] == "contradicted" and "now say 2" in limit["reason"]
    cite = limit["passages"][0]
    assert cite["url"].endswith("/doc/studio/plans#top") and cite["run_id"] == 3 and cite["crawled_at"]
    assert "2 collaborators" in cite["quote"]
    ranked = sorted(now.values(), key=lambda c: c["rank"])
    assert [c["verdict"] for c in ranked[:2]] == ["stale", "stale"]   # stale first
    assert set(ranked[0]) >= {"tool", "criterion", "verdict", "rank", "score", "claim", "assertions", "passages"}


def test_claims_table_criterion_filter_and_errors(dvc_store, tmp_path):
    result = runner.invoke(app, ["claims", "--db", str(dvc_store), "--criterion", "costs"])
    assert result.exit_code == 0, result.stderr
    assert "stale" in result.stdout and "now say 2" in result.stdout and "pipelines" not in result.stdout
    assert runner.invoke(app, ["claims", "kedro", "--db", str(dvc_store)]).exit_code == 2
    assert runner.invoke(app, ["claims", "--db", str(dvc_store), "--as-of", "last week"]).exit_code == 2
    assert runner.invoke(app, ["claims", "--db", str(dvc_store), "--as-of", "99"]).exit_code == 2
    empty = runner.invoke(app, ["claims", "--db", str(tmp_path / "empty.sqlite")])
    assert empty.exit_code == 3 and "collector crawl" in empty.stderr


def test_report_shows_the_verdict_next_to_the_claim_and_dead_study_citations(dvc_store):
    import io

    import pandas as pd

    result = runner.invoke(app, ["report", "--db", str(dvc_store), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    df = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)
    row = df[(df.tool == "dvc") & (df.criterion == "pipelines")].iloc[0]
    assert row.claim_verdict == "stale" and "no longer documented" in row.claim_reason
    assert "https://dvc.org/doc/command-reference/run (404)" in row.dead_citations
    md = runner.invoke(app, ["report", "--db", str(dvc_store)]).stdout
    assert "**Verdict: stale**" in md and "Dead study citation: https://dvc.org/doc/command-reference/run" in md


def test_verdicts_are_cached_per_run_and_rejudged_when_the_rules_change(dvc_store, monkeypatch):
    from knowledge.claims import cache
    from knowledge.store import Store

    fresh = claims(dvc_store)
    with Store.open(dvc_store, create=False) as store:
        rows = store.conn.execute("SELECT run_id, key FROM claim_verdicts ORDER BY run_id").fetchall()
    assert [r["run_id"] for r in rows] == [3]            # the run judged: the latest
    assert claims(dvc_store) == fresh                    # read back from the cache: the same answer

    judged = []
    real = cache.judge_run
    monkeypatch.setattr(cache, "judge_run", lambda *a, **k: judged.append(a[1]["id"]) or real(*a, **k))
    claims(dvc_store)
    assert judged == []                                  # nothing judged again
    monkeypatch.setattr(cache, "JUDGE_VERSION", "test-next")
    cache._data_hash.cache_clear()
    try:
        assert claims(dvc_store) == fresh
        assert judged == [3]                             # a new judge re-judges, with the same result here
    finally:
        cache._data_hash.cache_clear()


def test_diff_puts_stale_claims_first_and_accepting_one_records_the_new_finding(dvc_store):
    result = runner.invoke(app, ["diff", "--db", str(dvc_store), "--json"])
    assert result.exit_code == 0, result.stderr
    flags = {(f["tool"], f["criterion"]): f for f in json.loads(result.stdout)["flags"]}
    pipelines = flags["dvc", "pipelines"]
    assert pipelines["kind"] == "contradiction" and pipelines["rank"] == 1
    assert pipelines["summary"].startswith("contradicts the study: Pipelines are run with `dvc run`")
    ranks = [f["rank"] for f in json.loads(result.stdout)["flags"]]
    assert ranks == sorted(ranks)                          # contradictions first

    note = "Stages are defined in dvc.yaml or with dvc stage add, and run with dvc repro."
    accepted = runner.invoke(app, ["review", "accept", pipelines["id"], "--note", note, "--reviewer", "Ada",
                                   "--db", str(dvc_store)])
    assert accepted.exit_code == 0, accepted.stderr
    again = json.loads(runner.invoke(app, ["diff", "--db", str(dvc_store), "--json"]).stdout)
    assert ("dvc", "pipelines") not in {(f["tool"], f["criterion"]) for f in again["flags"]}
    report = runner.invoke(app, ["report", "--db", str(dvc_store)]).stdout
    assert f"**Finding now:** {note} (Ada, " in report


def test_a_verdict_that_changes_without_any_passage_changing_is_a_flag(dvc_store, monkeypatch):
    from knowledge.claims import cache, judge
    from knowledge.diff.engine import run_diff
    from knowledge.review.decisions import decide
    from knowledge.store import Store

    with Store.open(dvc_store, create=False) as store:
        first = {(f.tool, f.criterion): f for f in run_diff(store).flags}
        decide(store, first["dvc", "pipelines"].id, "accepted", reviewer="Ada")
        assert ("dvc", "pipelines") not in {(f.tool, f.criterion) for f in run_diff(store).flags}
        # The judge improves (here: it asks for firmer evidence before calling a claim stale); the
        # docs and their evidence are the same, but the verdict is not: that is a flag of its own.
        monkeypatch.setattr(judge, "STALE_AT", 0.99)
        monkeypatch.setattr(cache, "JUDGE_VERSION", "firmer")
        cache._data_hash.cache_clear()
        import knowledge.diff.claimcheck as claimcheck
        monkeypatch.setattr(claimcheck, "STALE_AT", 0.99)
        try:
            flags = {(f.tool, f.criterion): f for f in run_diff(store).flags}
        finally:
            cache._data_hash.cache_clear()
    flag = flags["dvc", "pipelines"]
    assert flag.kind != "contradiction"
    assert flag.payload["claim"]["summary_line"].startswith("no longer contradicts the study: Pipelines are run")
    assert not (flag.added or flag.removed or flag.changed or flag.moved)


def test_full_shows_every_statement_with_its_reason_and_a_gone_claim_cites_the_dead_citation(dvc_store, monkeypatch):
    import cli

    monkeypatch.setattr(cli.out, "_width", 400)   # a wide terminal: table cells do not wrap
    full = runner.invoke(app, ["claims", "dvc", "--criterion", "pipelines", "--full", "--db", str(dvc_store)])
    assert full.exit_code == 0, full.stderr
    text = " ".join(full.stdout.split())
    assert "dvc x pipelines STALE" in text
    assert "contradicted Pipelines are run with `dvc run`." in text and "supported Pipelines are (re)run" in text
    assert "study cited https://dvc.org/doc/command-reference/run: now answers 404" in text
    table = runner.invoke(app, ["claims", "dvc", "--criterion", "pipelines", "--db", str(dvc_store)])
    assert "the study's citation now answers 404" in " ".join(table.stdout.split())
