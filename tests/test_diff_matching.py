"""knowledge.diff.matching: noise-free text form, passage matching passes, word diff."""
from __future__ import annotations

from knowledge.diff.matching import Item, match_passages, normalise, render_diff, word_diff


def item(path: str, heading: str, text: str) -> Item:
    return Item(path=path, heading=heading, text=text)


def test_noise_normalises_away_and_words_stay():
    base = normalise("Requires DVC 3.48.0, built 2024-03-01T04:00:00Z (rev 3f2a9c1).")
    assert base == normalise("requires dvc v3.49.1 built 2024-04-01 (rev 9e8d7c6)")
    assert normalise("Supports S3!") == normalise("supports   s3")
    assert normalise("Supports S3") != normalise("Supports GCS")
    assert normalise("Python 3") != normalise("Python 4")          # a lone number is a word, not a version
    assert "1234567" in normalise("issue 1234567")                    # digits only: not a build hash


def test_passes_unchanged_moved_changed_added_removed():
    old = [item("/a", "a > x", "Data is pushed to an S3 bucket configured as the default remote."),
           item("/a", "a > y", "Every version of the cache is kept in the remote storage forever."),
           item("/a", "a > z", "This paragraph disappears in the next release of the documentation."),
           item("/b", "b", "Unchanged text stays where it is.")]
    new = [item("/b", "b", "Unchanged text stays where it is."),
           item("/c", "c > y", "Every version of the cache is kept in the remote storage forever."),
           item("/a", "a > x", "Data is pushed to an S3 bucket that you configure as the default remote."),
           item("/a", "a > w", "A brand new section about Azure Blob Storage containers.")]
    m = match_passages(old, new)
    assert [(o.path, n.path) for o, n in m.moved] == [("/a", "/c")]
    assert [(o.heading, n.heading) for o, n, _ in m.changed] == [("a > x", "a > x")]
    assert [o.text[:4] for o in m.removed] == ["This"]
    assert [n.text[:7] for n in m.added] == ["A brand"]


def test_reordering_within_a_section_is_not_a_change():
    old = [item("/a", "a", "First passage text here."), item("/a", "a", "Second passage text here.")]
    assert match_passages(old, list(reversed(old))).empty


def test_paragraph_moved_between_sections_is_moved_not_changed():
    para = "By default runs are recorded in a local directory next to your code and scripts."
    old = [item("/t", "t > concepts", "Runs are grouped into experiments.\n" + para),
           item("/t", "t > server", "Start a shared server with one command.")]
    new = [item("/t", "t > concepts", "Runs are grouped into experiments."),
           item("/t", "t > server", para + "\nStart a shared server with one command.")]
    m = match_passages(old, new)
    assert m.changed == [] and m.added == [] and m.removed == []
    [(o, n, text)] = m.moved_parts
    assert (o.heading, n.heading, text) == ("t > concepts", "t > server", para)


def test_word_diff_ops_and_rendering():
    ops = word_diff("DVC supports S3 and SSH remotes.", "DVC supports S3, Azure and SSH remotes.")
    assert ops == [{"op": "equal", "text": "DVC supports S3,"}, {"op": "insert", "text": "Azure"},
                   {"op": "equal", "text": "and SSH remotes."}]
    assert render_diff(ops) == "DVC supports S3, {+Azure+} and SSH remotes."
    ops = word_diff("Runs are kept for thirty days.", "Runs are kept for ninety days.")
    assert render_diff(ops) == "Runs are kept for [-thirty-] {+ninety+} days."
    # A version bump inside a reworded passage is not shown as a change.
    assert all(o["op"] == "equal" for o in word_diff("Needs version 2.10.3 now", "Needs version 2.11.0 now"))


def test_content_shaped_boilerplate_normalises_away():
    text = "Compare runs in the UI.\nYour browser does not support the video tag.\nNote\nRuns are kept."
    assert normalise(text) == normalise("Compare runs in the UI.\nWarning:\nRuns are kept.")
    assert normalise("Note that runs are kept.") != normalise("Runs are kept.")    # a sentence is content
    link = ('Try it.\n<a href="https://example.org/nb.ipynb" class="notebook-download-btn">'
            '<i class="fas fa-download"></i>Download this Notebook</a><br>')
    assert normalise(link) == normalise("Try it.") == normalise("Try it.\nDownload the Tracking Quickstart Notebook")
    assert normalise("Returns <mlflow.models.Model object at 0x7f3a2b1c9d10>") == \
        normalise("Returns <mlflow.models.Model object at 0x10a4e2f50>")
    assert normalise("Returns <mlflow.models.Model object>") != normalise("Returns <mlflow.pyfunc.Model object>")
    # The word diff shown leaves it out too: only the real edit is marked.
    ops = word_diff("Runs are kept.\nYour browser does not support the video tag.",
                    "Runs are kept for a week.\nAttention!")
    assert ops == [{"op": "equal", "text": "Runs are kept"}, {"op": "insert", "text": "for a week."}]


def test_unchanged_pairs_are_returned_for_callers_that_count_them():
    old = [item("/doc/a", "a", "Same text here."), item("/doc/b", "b", "Other text.")]
    new = [item("/doc/a", "a", "Same text here."), item("/doc/b", "b", "Other text, reworded quite a lot now.")]
    m = match_passages(old, new)
    assert [(o.path, n.path) for o, n in m.unchanged] == [("/doc/a", "/doc/a")]
