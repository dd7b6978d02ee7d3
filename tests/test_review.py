"""Review decisions: append-only history, flag status, reviewed state, queue order, reviewer name."""
import sqlite3
import subprocess

import pytest

from knowledge.review import decisions as review
from knowledge.errors import UsageError
from knowledge.store import Store
from test_review_support import add_flag, db_rows


@pytest.fixture
def store(tmp_path):
    with Store.open(tmp_path / "k.sqlite") as s:
        yield s


def test_queue_is_most_important_first_and_uncertain_last(store):
    add_flag(store, "f-dvc-storage", "dvc", "storage", rank=3)
    add_flag(store, "f-mlflow-tracking", "mlflow", "tracking", rank=1)
    add_flag(store, "f-dvc-versioning", "dvc", "versioning", rank=3)      # checklist: versioning < storage
    add_flag(store, "f-dvc-general", "dvc", "general", rank=1, status="uncertain")
    add_flag(store, "f-done", "dvc", "hpc", rank=1, status="accepted")
    add_flag(store, "f-old", "dvc", "costs", rank=1, status="superseded")
    assert [f.id for f in review.queue(store)] == \
        ["f-mlflow-tracking", "f-dvc-versioning", "f-dvc-storage", "f-dvc-general"]
    assert [f.id for f in review.queue(store, tools=["mlflow"])] == ["f-mlflow-tracking"]
    assert [f.id for f in review.queue(store, criteria=["Storage"])] == ["f-dvc-storage"]
    assert len(review.list_flags(store, include_all=True)) == 6


def test_unknown_tool_or_criterion_lists_valid_names(store):
    with pytest.raises(UsageError) as exc:
        review.queue(store, tools=["kubeflow"])
    assert "metaflow" in exc.value.hint and exc.value.exit_code == 2
    with pytest.raises(UsageError) as exc:
        review.history(store, criterion="speed")
    assert "storage" in exc.value.hint


def test_accept_records_decision_status_and_reviewed_state(store):
    add_flag(store, "f1", "mlflow", "storage", to_run=7)
    d = review.decide(store, "f1", "accept", note="S3 is still there", reviewer="Ada")
    assert (d.decision, d.reviewer, d.note, d.to_run, d.to_state) == ("accepted", "Ada", "S3 is still there", 7, "state-f1")
    assert db_rows(store, "SELECT status FROM flags WHERE id = 'f1'") == [{"status": "accepted"}]
    (state,) = db_rows(store, "SELECT tool, criterion, run_id, state, flag_id FROM reviewed_state")
    assert state == {"tool": "mlflow", "criterion": "storage", "run_id": 7, "state": "state-f1", "flag_id": "f1"}
    assert review.queue(store) == []


def test_dismiss_also_advances_reviewed_state_but_uncertain_and_note_do_not(store):
    add_flag(store, "f1", "dvc", "storage", to_run=3)
    add_flag(store, "f2", "dvc", "tracking", to_run=3)
    review.decide(store, "f1", "dismiss", reviewer="Ada")
    review.decide(store, "f2", "note", note="check the changelog", reviewer="Ada")
    assert db_rows(store, "SELECT id, status FROM flags ORDER BY id") == \
        [{"id": "f1", "status": "dismissed"}, {"id": "f2", "status": "open"}]
    review.decide(store, "f2", "uncertain", reviewer="Ada")
    assert [r["criterion"] for r in db_rows(store, "SELECT criterion FROM reviewed_state")] == ["storage"]
    assert [f.id for f in review.queue(store)] == ["f2"]       # uncertain stays in the queue
    with pytest.raises(UsageError):
        review.decide(store, "f2", "note", note="  ", reviewer="Ada")


def test_changing_a_decision_keeps_the_history_and_takes_back_the_reviewed_state(store):
    add_flag(store, "f1", "dvc", "storage", to_run=3)
    review.decide(store, "f1", "accepted", reviewer="Ada")
    review.decide(store, "f1", "uncertain", note="on second thought", reviewer="Bob")
    hist = review.history(store, "dvc", "storage")
    assert [(d.decision, d.reviewer) for d in hist] == [("accepted", "Ada"), ("uncertain", "Bob")]
    assert db_rows(store, "SELECT * FROM reviewed_state") == []
    assert review.current_decisions(store)["f1"].decision == "uncertain"
    assert review.cell_reviews(store)[("dvc", "storage")].reviewer == "Bob"


def test_decisions_are_append_only(store):
    add_flag(store, "f1", "dvc", "storage")
    review.decide(store, "f1", "accepted", reviewer="Ada")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("UPDATE decisions SET decision = 'dismissed'")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        store.conn.execute("DELETE FROM decisions")
    assert [d.decision for d in review.history(store)] == ["accepted"]


def test_a_late_decision_on_an_older_flag_does_not_move_the_cell_back(store):
    add_flag(store, "old", "dvc", "storage", to_run=3, status="superseded")
    add_flag(store, "new", "dvc", "storage", to_run=5)
    review.decide(store, "new", "accepted", reviewer="Ada")
    review.decide(store, "old", "dismissed", reviewer="Ada")
    assert db_rows(store, "SELECT run_id, flag_id FROM reviewed_state") == [{"run_id": 5, "flag_id": "new"}]
    # taking back the newer accept falls back to the older flag that is still dismissed
    review.decide(store, "new", "uncertain", reviewer="Ada")
    assert db_rows(store, "SELECT run_id, flag_id FROM reviewed_state") == [{"run_id": 3, "flag_id": "old"}]


def test_flag_ids_unknown_prefix_and_ambiguous(store):
    add_flag(store, "abc123", "dvc", "storage")
    add_flag(store, "abd999", "dvc", "tracking")
    assert review.get_flag(store, "abc").id == "abc123"
    with pytest.raises(UsageError, match="ambiguous"):
        review.get_flag(store, "ab")
    with pytest.raises(UsageError) as exc:
        review.decide(store, "zzz", "accepted", reviewer="Ada")
    assert "collector review list" in exc.value.hint
    with pytest.raises(UsageError):
        review.decide(store, "abc123", "approve", reviewer="Ada")
    assert review.history(store) == []


def test_reviewer_name_falls_back_from_option_to_git_to_login(monkeypatch):
    assert review.reviewer_name("  Ada ") == "Ada"
    monkeypatch.setattr(review.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0, stdout="Grace Hopper\n", stderr=""))
    assert review.reviewer_name() == "Grace Hopper"

    def no_git(*a, **k):
        raise FileNotFoundError("git")
    monkeypatch.setattr(review.subprocess, "run", no_git)
    monkeypatch.setattr(review.getpass, "getuser", lambda: "login-name")
    assert review.reviewer_name() == "login-name"


def test_word_highlights_are_coloured_and_scraped_markup_is_escaped():
    from rich.console import Console

    from knowledge.review.highlight import rich_diff_ops, rich_word_diff

    console = Console(force_terminal=True, color_system="standard", width=200, highlight=False)
    with console.capture() as cap:
        console.print(rich_word_diff("Use [b]S3[/b] now", "Use [b]S3[/b] or GCS\x1b[2J now"))
    shown = cap.get()
    assert "\x1b[1;32mor GCS\x1b[0m" in shown and "[b]S3[/b]" in shown and "\x1b[2J" not in shown
    with console.capture() as cap:
        console.print(rich_diff_ops([{"op": "equal", "text": "Use"}, {"op": "delete", "text": "S3"},
                                     {"op": "insert", "text": "[red]GCS[/red]"}, "junk"]))
    assert "\x1b[9;31mS3" in cap.get() or "\x1b[31;9mS3" in cap.get()
    assert "[red]GCS[/red]" in cap.get()
    assert rich_word_diff("a b", "a c", plain=True) == "a [-b-]{+c+}"


def test_the_table_itself_refuses_anonymous_decisions_and_empty_notes(store):
    insert = ("INSERT INTO decisions (flag_id, tool, criterion, decision, note, reviewer, decided_at) "
              "VALUES ('f', 'dvc', 'storage', ?, ?, ?, '2026-01-01T00:00:00Z')")
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(insert, ("note", None, "Ada"))
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(insert, ("accepted", None, ""))
    with pytest.raises(sqlite3.IntegrityError):
        store.conn.execute(insert, ("approved", None, "Ada"))
    store.conn.execute(insert, ("accepted", None, "Ada"))


def test_long_unchanged_text_is_shortened_around_each_change():
    from knowledge.review.highlight import clip, rich_diff_ops, rich_word_diff

    words = [f"w{i}" for i in range(100)]
    old, new = " ".join(words), " ".join(words[:50] + ["NEW"] + words[50:])
    shown = rich_word_diff(old, new, plain=True, context=3)
    assert shown == "… w47 w48 w49 {+NEW+} w50 w51 w52 …"
    assert rich_word_diff(old, new, plain=True, context=None).count("w") == 100
    ops = [{"op": "equal", "text": " ".join(words[:50])}, {"op": "delete", "text": "x"},
           {"op": "equal", "text": " ".join(words[50:60])}, {"op": "insert", "text": "y"},
           {"op": "equal", "text": " ".join(words[60:])}]
    assert rich_diff_ops(ops, plain=True, context=2) == \
        "… w48 w49 [-x-] w50 w51 … w58 w59 {+y+} w60 w61 …"
    assert clip("word " * 300, 100).endswith("characters)") and clip("short", 100) == "short"
