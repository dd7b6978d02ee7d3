"""`collector report`: the tool x criterion matrix, its four formats, and scraped text kept inert."""
import io
import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

import knowledge.report.render as report
from knowledge.report.matrix import COLUMNS, build_matrix, read_matrix
from cli import app
from knowledge.review import decisions as review
from knowledge.domain.checklist import criterion_ids
from knowledge.store import Store
from test_review_support import (EVIL, ESCAPES, add_flag, add_run, assert_inert, fake_extractor, passage,  # noqa: F401
                                 study)

runner = CliRunner()
NULLABLE = ("as_of_run", "newest_age_days", "oldest_age_days")


def read_csv(text: str) -> pd.DataFrame:
    """How docs/report-json.md says to read an export back."""
    return pd.read_csv(io.StringIO(text), keep_default_na=False, na_values={c: [""] for c in NULLABLE},
                       dtype={c: "Int64" for c in NULLABLE})


@pytest.fixture
def db(tmp_path, study, fake_extractor):
    path = tmp_path / "k.sqlite"
    with Store.open(path) as s:
        add_run(s, "mlflow", ["/doc/track"], when="2026-01-05T08:00:00Z")
        run = add_run(s, "mlflow", ["/doc/storage", "/doc/track"], when="2026-02-01T08:00:00Z")
        add_run(s, "mlflow", ["/doc/storage"], when="2026-03-01T08:00:00Z", status="failed")   # not read
        add_flag(s, "f-store", "mlflow", "storage", to_run=run)
        add_flag(s, "f-track", "mlflow", "tracking", to_run=run)
        review.decide(s, "f-track", "accepted", reviewer="Ada")
    return path


def matrix(db, tools=None):
    with Store.open(db) as s:
        return build_matrix(s, tools)


def rendered(db, fmt, tools=None, **kw):
    with Store.open(db) as s:
        return report.render(read_matrix(s, tools, **kw), fmt)


def cell(df, tool, criterion):
    (row,) = df[(df.tool == tool) & (df.criterion == criterion)].to_dict("records")
    return row


def test_matrix_has_one_row_per_tool_and_criterion_with_stable_columns(db):
    df = matrix(db)
    assert list(df.columns) == COLUMNS
    assert list(dict.fromkeys(df.tool)) == ["metaflow", "mlflow", "dvc"]
    assert len(df) == 3 * len(criterion_ids())
    assert list(df[df.tool == "mlflow"].criterion) == criterion_ids()

    storage = cell(df, "mlflow", "storage")
    assert storage["baseline_claim"].startswith("Local file paths") and storage["baseline_status"] == "stated"
    assert storage["facts"] == "storage_backend: azure-blob, s3"
    assert storage["passages"] == 4
    # the 3 best-scoring passages, URL#anchor with crawl date
    assert storage["citations"].splitlines() == [
        "https://mlflow.example.org/doc/storage#remote (crawled 2026-02-01)",
        "https://mlflow.example.org/doc/storage#local (crawled 2026-02-01)",
        "https://mlflow.example.org/doc/storage#nfs (crawled 2026-02-01)"]
    assert (storage["marker"], storage["open_flags"], storage["review_status"]) == ("changed", 1, "unreviewed")
    assert storage["evidence_changed"] == "2026-02-01"
    assert storage["crawled_at"] == "2026-02-01T08:00:00Z" and storage["as_of_run"] == 2

    tracking = cell(df, "mlflow", "tracking")
    assert (tracking["marker"], tracking["open_flags"], tracking["review_status"]) == ("", 0, "accepted")
    assert tracking["reviewed_at"]

    assert cell(df, "mlflow", "hpc")["marker"] == "no-evidence"
    assert cell(df, "dvc", "storage")["marker"] == "no-crawl"
    assert pd.isna(cell(df, "dvc", "storage")["as_of_run"])
    assert list(matrix(db, ["mlflow"]).tool.unique()) == ["mlflow"]


def test_csv_and_json_load_back_with_pandas_to_the_same_matrix(db):
    df = matrix(db)
    csv = rendered(db, "csv")
    back = read_csv(csv)
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    js = rendered(db, "json")
    back = pd.read_json(io.StringIO(js), orient="records", dtype=False)
    for col in NULLABLE:
        back[col] = back[col].astype("Int64")
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert json.loads(js)[0].keys() == set(COLUMNS)


def test_markdown_matrix_is_criteria_by_tools(db):
    md = rendered(db, "md")
    header = next(line for line in md.splitlines() if line.startswith("| Criterion"))
    assert header == "| Criterion | metaflow | mlflow | dvc |"
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert len(rows) == len(criterion_ids())
    assert all(line.count(" | ") == 3 for line in rows)          # no cell breaks the table
    assert "mlflow: crawl run 2 of 2026-02-01T08:00:00Z" in md and "dvc: never crawled" in md
    assert "● changed" in md                                     # the legend


def test_html_is_one_self_contained_page(db):
    page = rendered(db, "html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page.lower()
    assert not re.search(r"<(link|img|iframe)\b|src=|@import|url\(", page)
    assert "Generated " not in page and "run 2 of 2026-02-01T08:00:00Z" in page
    assert page.count('<tr><th class="crit"') == len(criterion_ids())
    assert '<a href="https://mlflow.example.org/doc/storage#remote">' in page
    assert 'class="changed"' in page and 'class="no-crawl"' in page


def test_scraped_escapes_and_markup_are_inert_in_every_format(tmp_path, study, fake_extractor):
    fake_extractor["/doc/evil"] = [("evil\x1b[2J", "Evil", EVIL, {"storage": 0.99},
                                    [("storage_backend", "<b>s3</b>\x1b[31m|x", "storage")])]
    db = tmp_path / "k.sqlite"
    with Store.open(db) as s:
        add_run(s, "dvc", ["/doc/evil"])
        s.conn.execute("UPDATE fetches SET url = ?", ("javascript:alert(1)//\x1b]0;t\x07",))
    for fmt in report.FORMATS:
        out = rendered(db, fmt, ["dvc"])
        assert_inert(out)
        assert "\\u001b" not in out and "\\u009b" not in out
        if fmt in ("html", "md"):
            assert "<b>s3</b>" not in out and "&lt;b&gt;s3&lt;/b&gt;" in out
        if fmt == "html":
            assert 'href="javascript' not in out
    md_rows = [line for line in rendered(db, "md", ["dvc"]).splitlines() if line.startswith("| **")]
    assert all(line.count(" | ") == 1 for line in md_rows)       # a scraped "|" cannot add a column
    result = runner.invoke(app, ["report", "--db", str(db), "--tool", "dvc", "--format", "csv"])
    assert result.exit_code == 0, result.output
    assert_inert(result.stdout)


def test_report_command_formats_output_file_and_errors(db, tmp_path):
    result = runner.invoke(app, ["report", "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("# Comparison of metaflow, mlflow, dvc")
    target = tmp_path / "out" / "matrix.html"
    target.parent.mkdir()
    result = runner.invoke(app, ["report", "--db", str(db), "-f", "html", "-o", str(target), "--tool", "mlflow"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "" and str(target) in result.stderr
    assert "<th>mlflow</th>" in target.read_text() and "<th>dvc</th>" not in target.read_text()

    bad = runner.invoke(app, ["report", "--db", str(db), "--format", "pdf"])
    assert bad.exit_code == 2 and "md, html, csv, json" in bad.stderr.replace("csv, html, json, md", "md, html, csv, json")
    bad = runner.invoke(app, ["report", "--db", str(db), "--tool", "kubeflow"])
    assert bad.exit_code == 2 and "mlflow" in bad.stderr
    bad = runner.invoke(app, ["report", "--db", str(db), "-o", str(tmp_path / "missing" / "x.md")])
    assert bad.exit_code == 2 and "Cannot write the report" in bad.stderr


def test_no_crawls_tells_the_user_to_crawl(tmp_path, study):
    db = tmp_path / "k.sqlite"
    Store.open(db).close()
    result = runner.invoke(app, ["report", "--db", str(db)])
    assert result.exit_code == 3
    assert "collector crawl" in result.stderr and "collector demo" in result.stderr
    result = runner.invoke(app, ["report", "--db", str(tmp_path / "absent.sqlite")])
    assert result.exit_code == 3 and "collector crawl" in result.stderr


def test_a_partial_crawl_is_read_like_diff_does_but_failed_ones_are_not(db):
    with Store.open(db) as s:
        partial = add_run(s, "mlflow", ["/doc/track"], when="2026-04-01T00:00:00Z", status="partial")
        add_run(s, "mlflow", ["/doc/storage"], when="2026-05-01T00:00:00Z", status="interrupted")
    df = matrix(db, ["mlflow"])
    assert set(df.as_of_run) == {partial}
    assert cell(df, "mlflow", "storage")["marker"] == "changed; no-evidence"


def test_the_format_follows_the_output_file_unless_given(db, tmp_path):
    for name, start in (("m.html", "<!DOCTYPE html>"), ("m.csv", "tool,criterion,"), ("m.json", "["),
                        ("m.txt", "# Comparison")):
        result = runner.invoke(app, ["report", "--db", str(db), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_text().startswith(start)
    runner.invoke(app, ["report", "--db", str(db), "-o", str(tmp_path / "x.html"), "-f", "csv"])
    assert (tmp_path / "x.html").read_text().startswith("tool,criterion,")


def add_run_outcomes(store: Store, tool: str, pages: dict[str, str], when: str) -> int:
    """A finished run whose pages have these outcomes: fetched (body = the path), failed or gone (no body)."""
    run = store.start_run(tool, settings={"source": {"content": ["main"], "drop": []}})
    with store.transaction():
        store.conn.execute("UPDATE runs SET started_at = ? WHERE id = ?", (when, run))
        for path, outcome in pages.items():
            sha = store.put_blob(path.encode()) if outcome == "fetched" else None
            store.conn.execute(
                "INSERT INTO fetches (run_id, url, path, outcome, http_status, sha256, fetched_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)", (run, f"https://{tool}.example.org{path}", path, outcome,
                                                 {"fetched": 200, "failed": 503, "gone": 404}[outcome], sha, when))
    store.finish_run(run, "partial")
    return run


@pytest.fixture
def aged(tmp_path, study, fake_extractor):
    """mlflow: week 1 reads both pages; week 2 reads /doc/track, /doc/storage fails (kept from week 1);
    week 3 reads /doc/track, /doc/storage answers 404 once (kept, but only from a page now gone)."""
    path = tmp_path / "k.sqlite"
    with Store.open(path) as s:
        add_run(s, "mlflow", ["/doc/storage", "/doc/track"], when="2026-01-05T08:00:00Z")
        add_run_outcomes(s, "mlflow", {"/doc/storage": "failed", "/doc/track": "fetched"}, "2026-02-01T08:00:00Z")
    return path


def test_every_format_carries_coverage_and_age_per_cell(aged):
    df = matrix(aged, ["mlflow"])
    storage, tracking = cell(df, "mlflow", "storage"), cell(df, "mlflow", "tracking")
    assert (storage["passages"], storage["pages"], storage["tool_pages"], storage["page_share"]) == (4, 1, 2, 0.5)
    # the failed page keeps its week-1 content: its evidence is 27 days older than the crawl
    assert (storage["newest_evidence"], storage["oldest_evidence"]) == ("2026-01-05T08:00:00Z",) * 2
    assert (storage["newest_age_days"], storage["oldest_age_days"]) == (27, 27)
    assert (tracking["newest_evidence"][:10], tracking["oldest_age_days"]) == ("2026-02-01", 0)
    hpc = cell(df, "mlflow", "hpc")
    assert (hpc["passages"], hpc["pages"], hpc["marker"], hpc["newest_evidence"]) == (0, 0, "no-evidence", "")
    assert pd.isna(hpc["newest_age_days"])

    back = read_csv(rendered(aged, "csv", ["mlflow"]))
    row = back[back.criterion == "storage"].iloc[0]
    assert (row.pages, row.page_share, row.tool_pages, row.oldest_age_days) == (1, 0.5, 2, 27)
    js = {(r["tool"], r["criterion"]): r for r in json.loads(rendered(aged, "json", ["mlflow"]))}
    assert js["mlflow", "storage"]["oldest_evidence"] == "2026-01-05T08:00:00Z" and js["mlflow", "hpc"]["oldest_age_days"] is None
    coverage, age = "4 passages on 1 page (50.0% of 2 pages)", "read 2026-01-05 (oldest 27 days before this crawl)"
    for fmt in ("md", "html"):
        out = rendered(aged, fmt, ["mlflow"])
        assert coverage in out and age in out, fmt
        assert "no passages (of 2 pages)" in out


def test_evidence_only_from_pages_now_gone_is_marked(aged):
    with Store.open(aged) as s:
        add_run_outcomes(s, "mlflow", {"/doc/storage": "gone", "/doc/track": "fetched"}, "2026-02-08T08:00:00Z")
    df = matrix(aged, ["mlflow"])
    assert cell(df, "mlflow", "storage")["marker"] == "gone-only"      # 404 once: kept, but flagged as such
    assert cell(df, "mlflow", "storage")["passages"] == 4
    assert cell(df, "mlflow", "tracking")["marker"] == ""
    for fmt, text in (("md", "Evidence only from pages now gone (404)"), ("html", "only from pages now gone (404)")):
        assert text in rendered(aged, fmt, ["mlflow"])
    with Store.open(aged) as s:                                          # a second 404: gone, no evidence left
        add_run_outcomes(s, "mlflow", {"/doc/storage": "gone", "/doc/track": "fetched"}, "2026-02-15T08:00:00Z")
    assert cell(matrix(aged, ["mlflow"]), "mlflow", "storage")["marker"] == "no-evidence"


def test_flags_and_reviews_as_they_stood_at_a_cutoff(tmp_path, study, fake_extractor):
    from knowledge.report import timeline

    with Store.open(tmp_path / "k.sqlite") as s:
        add_run(s, "mlflow", ["/doc/storage"], when="2026-02-01T08:00:00Z")
        add_flag(s, "F-old", "mlflow", "storage", to_run=1, status="superseded", created_at="2026-02-01T09:00:00Z")
        s.conn.execute("UPDATE flags SET updated_at = '2026-02-08T09:00:00Z' WHERE id = 'F-old'")
        add_flag(s, "F-new", "mlflow", "storage", to_run=1, status="accepted", created_at="2026-02-08T09:00:00Z")
        s.conn.execute("INSERT INTO decisions (flag_id, tool, criterion, decision, note, reviewer, decided_at) "
                       "VALUES ('F-new', 'mlflow', 'storage', 'accepted', NULL, 'Ada', '2026-02-09T10:00:00Z')")

        def status(before):
            return {f.id: f.status for f in timeline.flags(s, ["mlflow"], before)}

        assert status("2026-02-05T00:00:00Z") == {"F-old": "open"}
        assert status("2026-02-08T12:00:00Z") == {"F-old": "superseded", "F-new": "open"}
        assert status("2026-02-10T00:00:00Z") == {"F-old": "superseded", "F-new": "accepted"}
        assert status(None) == {"F-old": "superseded", "F-new": "accepted"}       # the table itself
        assert [d["decision"] for d in timeline.decisions(s, ["mlflow"], "2026-02-09T10:00:00Z")] == []
        assert [d["reviewer"] for d in timeline.decisions(s, ["mlflow"], "2026-02-09T10:00:01Z")] == ["Ada"]


def test_a_flag_cites_the_crawl_it_was_raised_after_even_when_a_later_diff_found_it_again(tmp_path, study,
                                                                                          fake_extractor):
    from knowledge.report import timeline

    with Store.open(tmp_path / "k.sqlite") as s:
        for week in ("01-05", "02-01", "03-01"):
            run = add_run(s, "mlflow", ["/doc/storage"], when=f"2026-{week}T08:00:00Z")
            s.conn.execute("UPDATE runs SET finished_at = ? WHERE id = ?", (f"2026-{week}T08:10:00Z", run))
        # raised after the 02-01 crawl; the 03-01 diff found the same change again and rewrote it
        add_flag(s, "F-x", "mlflow", "storage", to_run=3, created_at="2026-02-01T09:00:00Z",
                 payload={"added": [passage("mlflow", "new", "Now GCS.", crawled="2026-03-01T08:00:00Z")]})
        (flag,) = timeline.flags(s, ["mlflow"], "2026-02-15T00:00:00Z")
        assert timeline.flag_source(s, flag) == ("https://mlflow.example.org/doc/page#new (crawled 2026-02-01)", 2)
