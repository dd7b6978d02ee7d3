"""`collector changelog`: what changed in the matrix, crawl by crawl, one entry per change with its
citation; and a rule change shows as a rule change, never as "the docs changed"."""
from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from cli import app
from conftest import write_site
from knowledge.diff.engine import run_diff
from knowledge.ops.crawl import run_crawl
from knowledge.report import snapshot
from knowledge.report.changelog import build_changelog
from knowledge.review import decisions
from knowledge.store import Store
from report_sites import next_second, site, sources_file
from test_review_support import add_run, fake_extractor, study  # noqa: F401

runner = CliRunner()
CITATION = re.compile(r"^https?://\S+#\S+ \(crawled \d{4}-\d{2}-\d{2}\)$")


@pytest.fixture
def two_crawls(tmp_path, serve_site):
    """Crawl v1, diff, crawl v2, diff, one review: the weekly loop twice (tests/report_sites.py)."""
    sources = sources_file(tmp_path / "sources.toml")
    db = tmp_path / "store.sqlite"
    server = serve_site(write_site(tmp_path / "v1", site(1)))
    for version in (1, 2):
        server.root = write_site(tmp_path / f"v{version}", site(version)).resolve()
        next_second()
        result = run_crawl(["dvc"], base_urls=[f"dvc={server.origin}"], sources_file=sources, db=db)
        assert [r["status"] for r in result["runs"]] == ["complete"], result
        with Store.open(db) as store:
            run_diff(store)
    with Store.open(db) as store:
        costs = store.conn.execute("SELECT id FROM flags WHERE criterion = 'costs'").fetchone()[0]
        decisions.decide(store, costs, "accepted", "Studio now allows 2 collaborators", "Ada")
    return db


def changelog(db, *args) -> dict:
    result = runner.invoke(app, ["changelog", "--db", str(db), "--tool", "dvc", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_the_changelog_of_two_crawls_lists_exactly_the_designed_changes(two_crawls):
    log = changelog(two_crawls)
    assert [c["runs"] for c in log["crawls"]] == [{"dvc": 2}, {"dvc": 1}]          # newest first
    second, first = log["crawls"]
    assert first["entries"][0]["text"].startswith("first crawl (run 1): 28 pages, 3 of 15 criteria with evidence")
    # the first diff flags every cell whose claim the first crawl contradicts, and nothing else
    with Store.open(two_crawls) as s:
        stale = {crit for crit, cell in snapshot.first(s, 1).cells.items() if cell["verdict"] == "stale"}
    assert len(stale) == 9
    assert {(e["kind"], e["flag_kind"]) for e in first["entries"][1:]} == {("flagged", "contradiction")}
    assert {e["criterion"] for e in first["entries"][1:]} == stale
    got = [(e["kind"], e["criterion"], e.get("value") or e.get("to") or e.get("decision") or e.get("flag_kind"))
           for e in second["entries"]]
    assert got == [
        # pipelines: /doc/command-reference/run answers 404 once (its content is kept: no verdict or
        # fact change; `collector diff` shows its passages as possibly removed) and the index page no
        # longer links it (a changed passage)
        ("flagged", "pipelines", "evidence"),
        # storage: a WebDAV section added, the HDFS sentence removed (one flag for the cell)
        ("fact-gained", "storage", "webdav"),
        ("fact-lost", "storage", "hdfs"),
        ("flagged", "storage", "capability"),
        # costs: Studio's free plan now has 2 collaborators, not 5: the study's claim is stale
        ("verdict", "costs", "stale"),
        ("fact-gained", "costs", "commercial-support"),
        ("fact-gained", "costs", "free-tier"),
        ("fact-gained", "costs", "paid-tier"),
        ("flagged", "costs", "contradiction"),
        ("decision", "costs", "accepted"),
    ]
    by_kind = {(e["kind"], e["criterion"]): e for e in second["entries"]}
    with Store.open(two_crawls) as s:
        [pipelines] = [f for f in run_diff(s, ["dvc"], ["pipelines"]).flags]
    assert [p["url"].split("#")[0].rsplit("/", 1)[-1] for p in pipelines.possibly_removed] == ["run"]
    verdict = by_kind["verdict", "costs"]
    assert verdict["from"] == "holds" and "now say 2" in verdict["text"]
    assert verdict["citation"].split(" ")[0].endswith("/doc/studio/plans#top")
    lost = by_kind["fact-lost", "storage"]
    assert lost["citation"].split(" ")[0].endswith("/doc/user-guide/remote-storage#hadoop")   # where it was
    decision = by_kind["decision", "costs"]
    assert (decision["reviewer"], decision["note"]) == ("Ada", "Studio now allows 2 collaborators")
    assert decision["flag"] == by_kind["flagged", "costs"]["flag"] and decision["flag"] in decision["text"]
    for e in second["entries"]:
        assert CITATION.match(e["citation"]), e     # every change cites URL#section (crawl date)


def test_changelog_markdown_since_and_errors(two_crawls, tmp_path):
    result = runner.invoke(app, ["changelog", "--db", str(two_crawls)])
    assert result.exit_code == 0, result.output
    md = result.stdout
    assert md.startswith("# What changed in the comparison of")
    assert md.index("(dvc run 2)") < md.index("(dvc run 1)")
    assert "- **dvc · costs** [verdict] verdict holds → stale" in md
    assert "[decision] accepted F" in md and "by Ada: Studio now allows 2 collaborators" in md
    assert changelog(two_crawls, "--since", "2999-01-01")["crawls"] == []
    assert runner.invoke(app, ["changelog", "--db", str(two_crawls), "--since", "last week"]).exit_code == 2
    assert runner.invoke(app, ["changelog", "--db", str(two_crawls), "--format", "pdf"]).exit_code == 2
    assert runner.invoke(app, ["changelog", "--db", str(two_crawls), "--tool", "kubeflow"]).exit_code == 2
    empty = runner.invoke(app, ["changelog", "--db", str(tmp_path / "none.sqlite")])
    assert empty.exit_code == 3 and "collector crawl" in empty.stderr


def test_a_rule_change_is_a_rules_entry_never_a_docs_change(tmp_path, study, fake_extractor, monkeypatch):
    db = tmp_path / "k.sqlite"
    with Store.open(db) as s:
        add_run(s, "metaflow", ["/doc/track"], when="2026-01-05T08:00:00Z")
        add_run(s, "metaflow", ["/doc/track"], when="2026-01-12T08:00:00Z")
    week2 = runner.invoke(app, ["report", "--db", str(db), "--tool", "metaflow", "-f", "csv"])
    assert week2.exit_code == 0, week2.output
    # A new rule: the same page is now also evidence for HPC. Same pages, new rules key.
    fake_extractor["/doc/track"] = [("metrics", "Metrics", "Log metrics and params on a Slurm cluster.",
                                     {"tracking": 0.8, "hpc": 0.7}, [("compute_backend", "slurm", "hpc")])]
    monkeypatch.setattr("knowledge.evidence.rules.rules_version", lambda: "rules-2")
    with Store.open(db) as s:
        log = build_changelog(s, ["metaflow"])
    entries = [e for p in log.periods for e in p.entries]
    hpc = [e for e in entries if e.criterion == "hpc"]
    assert [e.kind for e in hpc] == ["rules"]
    assert "0 → 1 passages" in hpc[0].text and "+compute_backend: slurm" in hpc[0].text
    assert hpc[0].data["run"] == 2 and hpc[0].data["rules_now"].startswith("rules-2")
    assert log.periods[0].crawl.run_ids == {"metaflow": 2}       # it happened while run 2 was the latest
    assert not [e for e in entries if e.kind in ("fact-gained", "fact-lost", "verdict")]

    now = runner.invoke(app, ["report", "--db", str(db), "--tool", "metaflow"])
    assert "[rules] run 2 read again (extraction rules" in now.stdout
    then = runner.invoke(app, ["report", "--db", str(db), "--tool", "metaflow", "-f", "csv", "--as-of", "2"])
    assert then.stdout == week2.stdout and "rules changed since metaflow run 2" in then.stderr
