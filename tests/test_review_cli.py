"""`collector review` through the real command: scripted keystrokes, resume, the non-interactive
forms, exit codes, and scraped text shown inert."""
import json

import pytest
from typer.testing import CliRunner

from cli import app
from knowledge.store import Store
from test_review_support import EVIL, add_flag, assert_inert, db_rows, passage, study  # noqa: F401 (fixture)

runner = CliRunner()


@pytest.fixture
def db(tmp_path, study):
    path = tmp_path / "k.sqlite"
    with Store.open(path) as s:
        add_flag(s, "f1", "mlflow", "storage", rank=1, to_run=4)
        add_flag(s, "f2", "dvc", "tracking", rank=2, to_run=5)
        add_flag(s, "f3", "dvc", "storage", rank=3, to_run=5)
    return path


def rows(db, sql):
    with Store.open(db) as s:
        return db_rows(s, sql)


def review(db, keys: str, *extra):
    return runner.invoke(app, ["review", "--db", str(db), "--script", "--reviewer", "Ada", *extra], input=keys)


def test_scripted_session_saves_each_decision_and_resumes_at_the_next_undecided_flag(db):
    result = review(db, "a\nn\nmy note\nq\n")
    assert result.exit_code == 0, result.output
    assert "1/3" in result.output and "mlflow x Storage" in result.output
    assert "Local file paths, NFS, SFTP" in result.output          # the study's claim for the cell
    assert rows(db, "SELECT flag_id, decision, note, reviewer, to_run, to_state FROM decisions ORDER BY id") == [
        {"flag_id": "f1", "decision": "accepted", "note": None, "reviewer": "Ada", "to_run": 4, "to_state": "state-f1"},
        {"flag_id": "f2", "decision": "note", "note": "my note", "reviewer": "Ada", "to_run": 5, "to_state": "state-f2"}]
    assert rows(db, "SELECT id, status FROM flags ORDER BY id") == \
        [{"id": "f1", "status": "accepted"}, {"id": "f2", "status": "open"}, {"id": "f3", "status": "open"}]
    assert rows(db, "SELECT tool, criterion, run_id, flag_id FROM reviewed_state") == \
        [{"tool": "mlflow", "criterion": "storage", "run_id": 4, "flag_id": "f1"}]
    assert "2 flag(s) still waiting" in result.output

    again = review(db, "d\nq\n")
    assert again.exit_code == 0, again.output
    assert "1/2 · flag f2" in again.output and "flag f1" not in again.output
    assert "my note" in again.output                                  # earlier decisions on the flag are shown
    assert rows(db, "SELECT status FROM flags WHERE id = 'f2'") == [{"status": "dismissed"}]
    assert len(rows(db, "SELECT * FROM reviewed_state")) == 2


def test_skip_comes_back_at_the_end_and_back_changes_a_decision(db):
    result = review(db, "s\na\nb\nd\nu\na\n")
    assert result.exit_code == 0, result.output
    # f1 skipped -> f2 accepted -> back to f2, dismissed -> f3 uncertain -> f1 again, accepted
    assert rows(db, "SELECT flag_id, decision FROM decisions ORDER BY id") == [
        {"flag_id": "f2", "decision": "accepted"}, {"flag_id": "f2", "decision": "dismissed"},
        {"flag_id": "f3", "decision": "uncertain"}, {"flag_id": "f1", "decision": "accepted"}]
    assert rows(db, "SELECT id, status FROM flags ORDER BY id") == [
        {"id": "f1", "status": "accepted"}, {"id": "f2", "status": "dismissed"}, {"id": "f3", "status": "uncertain"}]
    # the uncertain flag is still waiting; end of input quits cleanly
    assert "1/1 · flag f3" in review(db, "").output


def test_unknown_key_and_help(db):
    result = review(db, "x\n?\nq\n")
    assert result.exit_code == 0
    assert "Unknown key x" in result.output and "uncertain: needs a second look" in result.output
    assert "[a]ccept [d]ismiss [u]ncertain [n]ote [e]xpand [s]kip [b]ack [q]uit [?]help" in result.output
    assert result.output.count("flag f1") == 1          # help does not scroll the flag away
    assert rows(db, "SELECT * FROM decisions") == []


def test_interactive_without_a_terminal_points_to_the_non_interactive_forms(db, monkeypatch):
    monkeypatch.delenv("COLLECTOR_REVIEW_SCRIPT", raising=False)
    result = runner.invoke(app, ["review", "--db", str(db)], input="a\n")
    assert result.exit_code == 2
    assert "collector review list" in result.stderr
    assert rows(db, "SELECT * FROM decisions") == []
    monkeypatch.setenv("COLLECTOR_REVIEW_SCRIPT", "1")
    result = runner.invoke(app, ["review", "--db", str(db), "--reviewer", "Ada"], input="a\nq\n")
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT flag_id FROM decisions") == [{"flag_id": "f1"}]


def test_non_interactive_forms(db):
    listed = runner.invoke(app, ["review", "list", "--db", str(db), "--json"])
    assert listed.exit_code == 0, listed.output
    assert [f["id"] for f in json.loads(listed.stdout)] == ["f1", "f2", "f3"]

    ok = runner.invoke(app, ["review", "accept", "f2", "--note", "fine", "--reviewer", "Bob", "--db", str(db)])
    assert ok.exit_code == 0, ok.output
    assert "accepted" in ok.stderr and ok.stdout == ""
    assert runner.invoke(app, ["review", "note", "f3", "look again", "--reviewer", "Bob", "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["review", "uncertain", "f3", "--reviewer", "Bob", "--db", str(db)]).exit_code == 0
    assert runner.invoke(app, ["review", "dismiss", "f1", "--reviewer", "Bob", "--db", str(db)]).exit_code == 0

    remaining = json.loads(runner.invoke(app, ["review", "list", "--db", str(db), "--json"]).stdout)
    assert [(f["id"], f["status"]) for f in remaining] == [("f3", "uncertain")]
    everything = json.loads(runner.invoke(app, ["review", "list", "--all", "--db", str(db), "--json"]).stdout)
    assert len(everything) == 3

    hist = json.loads(runner.invoke(app, ["review", "history", "dvc", "--db", str(db), "--json"]).stdout)
    assert [(d["flag_id"], d["decision"], d["note"]) for d in hist] == \
        [("f2", "accepted", "fine"), ("f3", "note", "look again"), ("f3", "uncertain", None)]

    shown = json.loads(runner.invoke(app, ["review", "show", "f1", "--db", str(db), "--json"]).stdout)
    assert shown["flag"]["tool"] == "mlflow" and shown["criterion"]["title"] == "Storage"
    assert shown["baseline"]["claim"].startswith("Local file paths")
    assert [d["decision"] for d in shown["decisions"]] == ["dismissed"]

    text = runner.invoke(app, ["review", "show", "f2", "--db", str(db)])
    assert text.exit_code == 0
    assert "https://dvc.example.org/doc/page#new" in text.stdout and "crawled 2026-02-01" in text.stdout
    assert "storage_backend: gcs" in text.stdout
    assert "Artifacts go to S3 {+or GCS+}." in text.stdout      # no colours in a pipe: changes marked in text
    assert runner.invoke(app, ["review", "show", "f2", "--full", "--db", str(db)]).stdout == text.stdout


@pytest.mark.parametrize("args, expected", [
    (["review", "show", "nope"], "collector review list"),
    (["review", "accept", "nope"], "collector review list"),
    (["review", "history", "kubeflow"], "dvc, metaflow, mlflow"),
    (["review", "history", "dvc", "speed"], "storage"),
    (["review", "list", "--tool", "kubeflow"], "metaflow"),
    (["review", "note", "f1", " "], "needs some text"),
])
def test_bad_input_exits_2_with_a_hint_and_changes_nothing(db, args, expected):
    result = runner.invoke(app, [*args, "--db", str(db)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert rows(db, "SELECT * FROM decisions") == []


def test_missing_store_is_a_clear_error(tmp_path):
    result = runner.invoke(app, ["review", "list", "--db", str(tmp_path / "none.sqlite")])
    assert result.exit_code == 3
    assert "collector crawl" in result.stderr


def test_scraped_escape_sequences_are_inert_in_show_and_interactive(tmp_path, study):
    db = tmp_path / "k.sqlite"
    payload = {"added": [passage("dvc", "evil", EVIL, terms=["s3\x1b[2J"])], "removed": [], "moved": [],
               "changed": [dict(passage("dvc", "x\x1b]8;;http://evil\x07", EVIL), old_text="Store in S3 [/]")],
               "facts_gained": {"storage_backend": ["s3\x1b[5m"]}, "facts_lost": {}, "cues": ["\x9b31m"]}
    with Store.open(db) as s:
        add_flag(s, "evil", "dvc", "storage", payload=payload, summary="summary \x1b[1A\x1b[2K [red]x[/red]")
    for args, keys in ((["review", "show", "evil"], None), (["review", "--script", "--reviewer", "Ada"], "q\n"),
                       (["review", "list"], None)):
        result = runner.invoke(app, [*args, "--db", str(db)], input=keys)
        assert result.exit_code == 0, result.output
        assert_inert(result.output)
        assert "[bold red]styled[/bold red]" in result.output or args[1] == "list"   # markup shown, not applied
    shown = runner.invoke(app, ["review", "show", "evil", "--db", str(db), "--json"])
    assert_inert(shown.stdout)
    assert "\\u001b" not in shown.stdout and "\\u009b" not in shown.stdout


def test_group_options_before_the_subcommand_are_used(db):
    result = runner.invoke(app, ["review", "--db", str(db), "--reviewer", "Eve", "accept", "f1"])
    assert result.exit_code == 0, result.output
    assert rows(db, "SELECT flag_id, reviewer FROM decisions") == [{"flag_id": "f1", "reviewer": "Eve"}]
    listed = runner.invoke(app, ["review", "--db", str(db), "list", "--json"])
    assert [f["id"] for f in json.loads(listed.stdout)] == ["f2", "f3"]


def test_a_flag_decided_elsewhere_during_the_session_is_not_shown_again(db, monkeypatch):
    from knowledge.review import decisions as review_lib
    from knowledge.review import session as review_session

    real = review_session.decide

    def decide_and_race(store, flag_id, decision, **kw):
        if flag_id == "f1":                       # meanwhile, in another terminal: f2 is dismissed
            real(store, "f2", "dismissed", reviewer="Bob")
        return real(store, flag_id, decision, **kw)

    monkeypatch.setattr(review_session, "decide", decide_and_race)
    result = review(db, "a\na\nq\n")
    assert result.exit_code == 0, result.output
    assert "3 flag(s) to review" in result.output
    assert "Flag f2 is dismissed meanwhile; moving on." in result.output
    with Store.open(db) as s:
        assert [(d.flag_id, d.decision, d.reviewer) for d in review_lib.history(s)] == \
            [("f2", "dismissed", "Bob"), ("f1", "accepted", "Ada"), ("f3", "accepted", "Ada")]


def _long_flags(tmp_path):
    db = tmp_path / "long.sqlite"
    shared = passage("mlflow", "shared", "A passage that is evidence for two criteria.", importance=35.0)
    many = [passage("mlflow", f"p{i}", f"New storage passage number {i}.", importance=30.0 - i) for i in range(6)]
    with Store.open(db) as s:
        add_flag(s, "g1", "mlflow", "storage", rank=2, payload={"added": [shared] + many, "facts_gained": {}})
        add_flag(s, "g2", "mlflow", "tracking", rank=3, payload={"added": [dict(shared)], "facts_gained": {}})
    return db


def test_the_session_shows_the_digest_and_e_expands_the_rest(tmp_path, study):
    db = _long_flags(tmp_path)
    result = review(db, "e\ns\nq\n")
    assert result.exit_code == 0, result.output
    first, expanded = result.output.split("[e]xpand", 1)[0], result.output.split("[e]xpand", 2)[1]
    assert first.count("New storage passage number") == 2          # digest: 3 passages, the shared one first
    assert "and +4 added -- press e to expand" in first
    assert all(f"New storage passage number {i}." in expanded for i in range(6))
    assert rows(db, "SELECT * FROM decisions") == []


def test_a_passage_shown_under_an_earlier_flag_is_referenced(tmp_path, study):
    db = _long_flags(tmp_path)
    result = review(db, "a\nq\n")
    second = result.output.split("2/2 · flag g2")[1]
    assert "shown under g1 (mlflow x storage)" in second
    assert "A passage that is evidence for two criteria." not in second


def test_long_flags_are_paged_on_a_terminal_only(tmp_path, study):
    import io

    from rich.console import Console

    from knowledge.review import decisions as review_lib
    from knowledge.review.session import run_session

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    db = _long_flags(tmp_path)
    for file, expect_paged in ((io.StringIO(), False), (Tty(), True)):
        paged: list[str] = []
        keys = iter(["e", "q"])
        console = Console(file=file, width=100, height=8, highlight=False)
        with Store.open(db) as s:
            run_session(s, review_lib.queue(s), read_key=lambda: next(keys), read_line=lambda p: "",
                        console=console, reviewer="Ada", page=paged.append)
        text = file.getvalue()
        if expect_paged:
            assert paged and any("New storage passage number 5." in p for p in paged)
            assert "New storage passage number 5." not in text
        else:
            assert paged == [] and "New storage passage number 5." in text


def test_show_lists_possibly_removed_passages_and_puts_a_claim_first(tmp_path, study):
    db = tmp_path / "k.sqlite"
    claim = {"verdict": "contradicted", "summary_line": "The study's storage list no longer holds.",
             "assertions": [{"text": "Artifacts go to S3 or Azure", "status": "contradicted"}]}
    gone = passage("mlflow", "old", "This page answered 404 once.", gone_since="2026-02-01T00:00:00Z")
    with Store.open(db) as s:
        add_flag(s, "h1", "mlflow", "storage", rank=1, kind="contradiction",
                 payload={"possibly_removed": [gone], "facts_possibly_lost": {"storage_backend": ["s3"]},
                          "claim": claim})
    for args, keys in ((["review", "show", "h1"], None), (["review", "--script", "--reviewer", "Ada"], "q\n")):
        out = runner.invoke(app, [*args, "--db", str(db)], input=keys).stdout
        assert out.index("The study's storage list no longer holds.") < out.index("What changed")
        assert "This page answered 404 once." in out and "2026-02-01" in out
    shown = runner.invoke(app, ["review", "show", "h1", "--db", str(db)]).stdout
    assert "Possibly removed (the page answered 404 once" in shown and "storage_backend: s3" in shown
