"""`collector report`: the tool x criterion matrix, its four formats, and scraped text kept inert."""
import io
import json
import re

import pandas as pd
import pytest
from typer.testing import CliRunner

import knowledge.report.render as report
from knowledge.report.matrix import COLUMNS, build_matrix
from cli import app
from knowledge.review import decisions as review
from knowledge.domain.checklist import criterion_ids
from knowledge.store import Store
from test_review_support import (EVIL, ESCAPES, add_flag, add_run, assert_inert, fake_extractor,  # noqa: F401
                                 study)

runner = CliRunner()


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
    assert storage["crawled_at"] == "2026-02-01T08:00:00Z" and storage["run_id"] == 2

    tracking = cell(df, "mlflow", "tracking")
    assert (tracking["marker"], tracking["open_flags"], tracking["review_status"]) == ("", 0, "accepted")
    assert tracking["reviewed_at"]

    assert cell(df, "mlflow", "hpc")["marker"] == "no-evidence"
    assert cell(df, "dvc", "storage")["marker"] == "no-crawl"
    assert pd.isna(cell(df, "dvc", "storage")["run_id"])
    assert list(matrix(db, ["mlflow"]).tool.unique()) == ["mlflow"]


def test_csv_and_json_load_back_with_pandas_to_the_same_matrix(db):
    df = matrix(db)
    csv = report.render(df, "csv")
    back = pd.read_csv(io.StringIO(csv), keep_default_na=False, na_values={"run_id": [""]},
                       dtype={"run_id": "Int64"})
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    js = report.render(df, "json")
    back = pd.read_json(io.StringIO(js), orient="records", dtype=False)
    back["run_id"] = back["run_id"].astype("Int64")
    pd.testing.assert_frame_equal(back, df, check_dtype=False)
    assert json.loads(js)[0].keys() == set(COLUMNS)


def test_markdown_matrix_is_criteria_by_tools(db):
    md = report.render(matrix(db), "md")
    header = next(line for line in md.splitlines() if line.startswith("| Criterion"))
    assert header == "| Criterion | metaflow | mlflow | dvc |"
    rows = [line for line in md.splitlines() if line.startswith("| **")]
    assert len(rows) == len(criterion_ids())
    assert all(line.count(" | ") == 3 for line in rows)          # no cell breaks the table
    assert "mlflow: crawl run 2 of 2026-02-01T08:00:00Z" in md and "dvc: never crawled" in md
    assert "● changed" in md                                     # the legend


def test_html_is_one_self_contained_page(db):
    page = report.render(matrix(db), "html")
    assert page.startswith("<!DOCTYPE html>") and "<style>" in page
    assert "<script" not in page.lower()
    assert not re.search(r"<(link|img|iframe)\b|src=|@import|url\(", page)
    assert "Generated " in page and "run 2 of 2026-02-01T08:00:00Z" in page
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
    df = matrix(db, ["dvc"])
    for fmt in report.FORMATS:
        out = report.render(df, fmt)
        assert_inert(out)
        assert "\\u001b" not in out and "\\u009b" not in out
        if fmt in ("html", "md"):
            assert "<b>s3</b>" not in out and "&lt;b&gt;s3&lt;/b&gt;" in out
        if fmt == "html":
            assert 'href="javascript' not in out
    md_rows = [line for line in report.render(df, "md").splitlines() if line.startswith("| **")]
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
    assert set(df.run_id) == {partial}
    assert cell(df, "mlflow", "storage")["marker"] == "changed; no-evidence"


def test_the_format_follows_the_output_file_unless_given(db, tmp_path):
    for name, start in (("m.html", "<!DOCTYPE html>"), ("m.csv", "tool,criterion,"), ("m.json", "["),
                        ("m.txt", "# Comparison")):
        result = runner.invoke(app, ["report", "--db", str(db), "-o", str(tmp_path / name)])
        assert result.exit_code == 0, result.output
        assert (tmp_path / name).read_text().startswith(start)
    runner.invoke(app, ["report", "--db", str(db), "-o", str(tmp_path / "x.html"), "-f", "csv"])
    assert (tmp_path / "x.html").read_text().startswith("tool,criterion,")
