"""`collector claims` end to end: a small DVC-shaped site crawled for real over loopback, judged on
the first crawl, after the docs change, and --as-of the first crawl again."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli import app
from conftest import html, write_site
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


@pytest.fixture
def dvc_store(tmp_path, serve_site):
    """A store with three crawls of the same server: v1, then v2 twice (a page must answer 404 on
    two crawls in a row before it is gone)."""
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[[source]]\ntool = "dvc"\nroots = ["{ORIGIN}/doc"]\nallow = ["{ORIGIN}/doc"]\n'
                       f'content = ["main"]\n', encoding="utf-8")
    server = serve_site(write_site(tmp_path / "v1", site_v1()))
    db = tmp_path / "claims.sqlite"

    def crawl() -> None:
        result = run_crawl(["dvc"], base_urls=[f"dvc={server.origin}"], sources_file=sources, db=db)
        assert [r["status"] for r in result["runs"]] == ["complete"], result

    crawl()
    server.root = write_site(tmp_path / "v2", site_v2()).resolve()
    crawl()
    crawl()
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
    assert empty.exit_code == 1 and "collector crawl" in empty.stderr


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
