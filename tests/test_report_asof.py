"""`collector report --as-of`: the matrix exactly as it was after a crawl, with the reviews made while
that crawl was the latest, printed byte for byte the same however much is crawled and reviewed later.

A small DVC-shaped site (tests/report_sites.py) is crawled for real over loopback three times (v1, v2,
v3), with `collector diff` after each crawl and reviews in between, as in the weekly loop. Reports
rendered during the weeks are kept and compared with `--as-of` renderings made at the end.
"""
from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from cli import app
from conftest import write_site
from crawler.localserver import LocalServer
from knowledge.diff.engine import run_diff
from knowledge.ops.crawl import run_crawl
from knowledge.review import decisions
from knowledge.store import Store
from report_sites import next_second, site, sources_file

runner = CliRunner()
NULLABLE = ("as_of_run", "newest_age_days", "oldest_age_days")


def report(db, *args) -> str:
    result = runner.invoke(app, ["report", "--db", str(db), *args])
    assert result.exit_code == 0, result.output
    return result.stdout


def rows(csv_text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(csv_text), keep_default_na=False, na_values={c: [""] for c in NULLABLE},
                       dtype={c: "Int64" for c in NULLABLE})


def row(csv_text: str, criterion: str) -> dict:
    df = rows(csv_text)
    (r,) = df[df.criterion == criterion].to_dict("records")
    return r


def flags_of(db, criterion: str) -> list[str]:
    """The cell's flag ids, oldest first."""
    with Store.open(db) as s:
        return [r[0] for r in s.conn.execute("SELECT id FROM flags WHERE criterion = ? ORDER BY created_at, rowid",
                                             (criterion,))]


def flag_of(db, criterion: str) -> str:
    return flags_of(db, criterion)[-1]


@pytest.fixture(scope="module")
def weeks(tmp_path_factory):
    """Three weekly crawls with diff and reviews; `seen` holds the reports rendered along the way."""
    tmp = tmp_path_factory.mktemp("asof")
    sources = sources_file(tmp / "sources.toml")
    db = tmp / "store.sqlite"
    server = LocalServer(write_site(tmp / "v1", site(1))).start()
    seen: dict[str, str] = {}

    def crawl() -> None:
        next_second()
        result = run_crawl(["dvc"], base_urls=[f"dvc={server.origin}"], sources_file=sources, db=db)
        assert [r["status"] for r in result["runs"]] == ["complete"], result
        with Store.open(db) as store:
            run_diff(store)

    try:
        crawl()                                                   # week 1: run 1
        seen["csv1"] = report(db, "--tool", "dvc", "-f", "csv")
        seen["md1"] = report(db, "--tool", "dvc", "--as-of", "1")
        seen["html1"] = report(db, "--tool", "dvc", "--as-of", "1", "-f", "html")
        server.root = write_site(tmp / "v2", site(2)).resolve()
        crawl()                                                   # week 2: run 2
        with Store.open(db) as store:
            decisions.decide(store, flag_of(db, "costs"), "accepted", "Studio now allows 2 collaborators", "Ada")
            decisions.decide(store, flag_of(db, "storage"), "uncertain", "WebDAV: check the docs", "Grace")
        seen["csv2"] = report(db, "--tool", "dvc", "-f", "csv")
        seen["json2"] = report(db, "--tool", "dvc", "-f", "json")
        seen["md2"] = report(db, "--tool", "dvc", "--as-of", "2")
        server.root = write_site(tmp / "v3", site(3)).resolve()
        crawl()                                                   # week 3: run 3
        with Store.open(db) as store:
            decisions.decide(store, flag_of(db, "storage"), "accepted", reviewer="Grace")
            decisions.decide(store, flag_of(db, "pipelines"), "dismissed", "dvc run was retired", "Ada")
    finally:
        server.stop()
    return db, seen


def test_as_of_prints_the_report_of_then_byte_for_byte(weeks):
    db, seen = weeks
    assert report(db, "--tool", "dvc", "-f", "csv", "--as-of", "1") == seen["csv1"]
    assert report(db, "--tool", "dvc", "-f", "csv", "--as-of", "2") == seen["csv2"]
    assert report(db, "--tool", "dvc", "-f", "json", "--as-of", "2") == seen["json2"]
    # the same command, later: Markdown and HTML too (no clock in them)
    assert report(db, "--tool", "dvc", "--as-of", "1") == seen["md1"]
    assert report(db, "--tool", "dvc", "--as-of", "1", "-f", "html") == seen["html1"]
    assert report(db, "--tool", "dvc", "--as-of", "2") == seen["md2"]
    # and the latest state differs, so the comparison above could fail
    assert report(db, "--tool", "dvc", "-f", "csv") != seen["csv2"]


def test_as_of_counts_only_the_reviews_made_while_that_crawl_was_the_latest(weeks):
    db, seen = weeks
    then = report(db, "--tool", "dvc", "-f", "csv", "--as-of", "2")
    costs, storage = row(then, "costs"), row(then, "storage")
    assert (costs["review_status"], costs["reviewed_by"], costs["open_flags"]) == ("accepted", "Ada", 0)
    assert costs["claim_verdict"] == "stale" and costs["as_of_run"] == 2
    assert costs["finding"].startswith("Studio now allows 2 collaborators (Ada, ")   # accepted with a note
    assert (storage["review_status"], storage["reviewed_by"], storage["marker"]) == ("uncertain", "Grace", "uncertain")
    week2_flag = flags_of(db, "storage")[0]
    assert storage["flag_ids"] == f"{week2_flag} uncertain"
    assert row(then, "pipelines")["review_status"] == "unreviewed"

    now = report(db, "--tool", "dvc", "-f", "csv")
    assert row(now, "storage")["review_status"] == "accepted" and row(now, "storage")["as_of_run"] == 3
    assert row(now, "pipelines")["review_status"] == "dismissed"
    assert row(now, "pipelines")["claim_verdict"] == "stale"      # the page is gone for good in run 3
    assert row(then, "pipelines")["claim_verdict"] == "holds"     # in run 2 it was only "possibly gone"

    first = rows(report(db, "--tool", "dvc", "-f", "csv", "--as-of", "1"))
    assert set(first.review_status) == {"unreviewed"} and set(first.finding) == {""}
    # week 1: the first diff flagged the cells whose claim the first crawl contradicts, all still open
    flagged = first[first.flag_ids != ""]
    assert set(flagged.criterion) == set(first[first.claim_verdict == "stale"].criterion)
    assert all(f.endswith(" open") for f in flagged.flag_ids)
    assert all(m.startswith("changed") for m in flagged.marker)


def test_rows_carry_the_crawl_and_the_rules_they_were_read_with(weeks):
    db, _seen = weeks
    data = json.loads(report(db, "--tool", "dvc", "-f", "json", "--as-of", "2"))
    with Store.open(db) as s:
        run = s.get_run(2)
        key = s.conn.execute("SELECT rules_version, claims_version FROM report_snapshots WHERE run_id = 2").fetchone()
    assert {(r["as_of_run"], r["crawled_at"], r["rules_version"], r["claims_version"]) for r in data} == {
        (2, run["started_at"], key["rules_version"], key["claims_version"])}
    assert report(db, "--tool", "dvc", "-f", "csv", "--as-of", run["started_at"][:10]) == \
        report(db, "--tool", "dvc", "-f", "csv", "--as-of", "3")  # a date: the last crawl on or before it


def test_rules_then_keeps_the_old_reading_and_current_reads_again(weeks, monkeypatch):
    db, seen = weeks
    import knowledge.report.snapshot as snapshot

    monkeypatch.setattr(snapshot, "claims_version", lambda: "retuned00000")
    result = runner.invoke(app, ["report", "--db", str(db), "--tool", "dvc", "-f", "csv", "--as-of", "1"])
    assert result.exit_code == 0 and result.stdout == seen["csv1"]
    assert "rules changed since dvc run 1" in result.stderr and "--rules current" in result.stderr
    current = runner.invoke(app, ["report", "--db", str(db), "--tool", "dvc", "-f", "csv", "--as-of", "1",
                                  "--rules", "current"])
    assert current.exit_code == 0, current.output
    assert set(rows(current.stdout).claims_version) == {"retuned00000"}
    assert rows(current.stdout).drop(columns="claims_version").equals(rows(seen["csv1"]).drop(columns="claims_version"))
    bad = runner.invoke(app, ["report", "--db", str(db), "--rules", "yesterday"])
    assert bad.exit_code == 2 and "then" in bad.stderr


def test_the_report_says_what_changed_and_html_shows_it_per_cell(weeks):
    db, seen = weeks
    md = seen["md2"]
    section = md[md.index("## What changed"):md.index("## Matrix")]
    assert "## What changed since the crawl of" in section
    assert "verdict holds → stale" in section and "[decision] accepted" in section and "by Ada" in section
    assert "gained storage\\_backend: webdav" not in section     # '_' is left alone in Markdown
    assert "gained storage_backend: webdav" in section and "lost storage_backend: hdfs" in section
    assert "minio" not in section                                 # run 3 is after the as-of crawl
    page = report(db, "--tool", "dvc", "-f", "html")
    storage_flag = flag_of(db, "storage")
    assert f"<code>{storage_flag} accepted</code>" in page
    assert "gained storage_backend: minio" in page and 'class="changes"' in page
    wide = report(db, "--tool", "dvc", "--since", "2000-01-01")
    assert "## What changed since 2000-01-01" in wide and "first crawl (run 1)" in wide and "minio" in wide


def test_a_folder_of_weekly_exports_is_a_time_series(weeks, tmp_path):
    db, _seen = weeks
    folder = tmp_path / "exports"
    folder.mkdir()
    for run in (1, 2, 3):
        result = runner.invoke(app, ["report", "--db", str(db), "--tool", "dvc", "--as-of", str(run),
                                     "-o", str(folder / f"week-{run}.csv")])
        assert result.exit_code == 0, result.output
    frames = [rows(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.csv"))]
    series = pd.concat(frames, ignore_index=True)
    costs = series[series.criterion == "costs"].sort_values("as_of_run")
    assert list(costs.as_of_run) == [1, 2, 3] and list(costs.claim_verdict) == ["holds", "stale", "stale"]
    storage = series[series.criterion == "storage"].set_index("as_of_run")
    assert "hdfs" in storage.loc[1, "facts"] and "webdav" in storage.loc[2, "facts"] and "minio" in storage.loc[3, "facts"]
    assert series.groupby("as_of_run").size().tolist() == [15, 15, 15]
    assert series.crawled_at.is_monotonic_increasing
