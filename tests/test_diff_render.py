"""knowledge.diff.render: the digest (3 most important passages, the rest counted, shared passages
referenced, a claim block first), --stat, --full, and paging only on a terminal (issue 12)."""
from __future__ import annotations

import io

from rich.console import Console

from knowledge.diff.engine import Flag
from knowledge.diff.render import digest, digest_lines, emit, entries, full_lines, stat_lines
from knowledge.diff.weigh import importance

URL = "https://mlflow.example.org/docs/"


def entry(kind: str, name: str, text: str = "", **extra) -> dict:
    d = {"url": f"{URL}{name}.html#{name}", "heading_path": ["Models", name.title()], "text": text or f"About {name}.",
         "crawled_at": "2024-04-01T04:00:00Z", "run_id": 2, "reference": False, "cues": [], "facts": []}
    d.update(extra)
    d.setdefault("importance", importance(kind, reference=d["reference"], facts=bool(d["facts"]),
                                          cue_words=d["cues"], changed_words=extra.get("_words", 10)))
    d.pop("_words", None)
    return d


def flag(fid: str, criterion: str, **lists) -> Flag:
    payload = {k: [] for k in ("added", "removed", "changed", "moved", "possibly_removed", "restored")}
    payload.update(facts_gained={}, facts_lost={}, cues=[], cues_removed=[], baseline=None)
    payload.update(lists)
    return Flag(id=fid, tool="mlflow", criterion=criterion, kind="evidence", rank=3, status="open",
                summary="summary", from_run=1, to_run=2, from_state="a", to_state="b", rules_version="r",
                payload=payload)


def changed(name: str, old: str, new: str, **extra) -> dict:
    from knowledge.diff.matching import word_diff

    return entry("changed", name, new, old_text=old, old_url=f"{URL}{name}.html#{name}", diff=word_diff(old, new),
                 **extra)


SERVING = flag(
    "F1", "serving",
    added=[entry("added", "promptflow", "The promptflow flavor is experimental.", cues=["experimental"]),
           entry("added", "api", "load_model(uri, dst_path=None)", reference=True)]
    + [entry("added", f"extra{i}", f"Another new passage number {i}.") for i in range(4)],
    changed=[changed("signatures", "Signatures support numpy types.", "Signatures support numpy and pandas types.")],
    moved=[dict(entry("moved", "moved"), old_url=f"{URL}old.html#moved") for _ in range(2)],
    possibly_removed=[entry("possibly_removed", "gone", "A page that answered 404 once.",
                            gone_since="2024-04-01T04:00:00Z")],
    facts_gained={"serving_target": ["promptflow"]})


def test_the_three_most_important_passages_first_and_the_rest_counted():
    [fd] = digest([SERVING])
    assert [e.item["url"].split("#")[1] for e in fd.top][:1] == ["promptflow"]      # capability word, new passage
    assert all(not e.reference for e in fd.top) and len(fd.top) == 3
    assert fd.rest == [("changed", 1), ("added", 2), ("possibly_removed", 1), ("moved", 2), ("reference-only", 1)]
    lines = digest_lines([SERVING], plain=True)
    text = "\n".join(lines)
    assert "and ~1 changed, +2 added, 2 moved, 1 reference-only (collector review show F1 --full)" in text
    assert "? 1 possibly removed (404 since 2024-04-01; confirmed on the next crawl) on " + URL + "gone.html" in text
    assert "facts: [green]+serving_target: promptflow[/]" in text
    assert len(lines) < 14


def test_possibly_removed_and_moves_rank_below_every_content_change():
    order = [e.kind for e in entries(SERVING)]
    assert order.index("possibly_removed") > max(i for i, k in enumerate(order) if k in ("added", "changed"))
    assert order[-2:] == ["moved", "moved"]
    api = next(e for e in entries(SERVING) if e.reference)
    assert all(e.importance > api.importance for e in entries(SERVING) if e.kind in ("added", "changed")
               and not e.reference)


def test_a_passage_under_several_criteria_is_shown_once_and_referenced_elsewhere():
    shared = entry("added", "promptflow", "The promptflow flavor is experimental.", cues=["experimental"])
    compat = flag("F2", "compatibility", added=[dict(shared)])
    lines = digest_lines([SERVING, compat], plain=True)
    text = "\n".join(lines)
    assert text.count("The promptflow flavor is experimental.") == 1
    assert f"+ {URL}promptflow.html#promptflow  [dim]shown under F1 (mlflow x serving)[/]" in text


def test_changed_words_are_marked_in_plain_text_and_coloured_on_a_terminal():
    f = flag("F3", "serving", changed=[changed("sig", "Signatures support numpy types.",
                                               "Signatures support numpy and pandas types.")])
    assert any("numpy {+and pandas+} types." in line for line in digest_lines([f], plain=True))
    console = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor", width=200)
    for line in digest_lines([f], plain=False):
        console.print(line)
    shown = console.file.getvalue()
    assert "and pandas" in shown and "{+" not in shown and "\x1b[1;32m" in shown


def test_scraped_markup_and_escapes_stay_inert():
    evil = flag("F4", "serving", added=[entry("added", "evil", "[bold red]styled[/bold red] \x1b[2J cleared")])
    console = Console(file=io.StringIO(), width=200)
    for line in digest_lines([evil], plain=True) + stat_lines([evil]) + full_lines([evil], plain=True):
        console.print(line)
    shown = console.file.getvalue()
    assert "[bold red]styled[/bold red]" in shown and "\x1b" not in shown


def test_a_claim_block_is_printed_first_compact_in_the_digest_in_full_with_full():
    top = {"url": "https://docs.example.org/storage#azure", "crawled_at": "2024-04-01T06:00:00Z"}
    claim = {"verdict": "stale", "summary_line": "contradicts the study: S3 only -- the list has grown: +azure-blob",
             "assertions": [{"text": "Stores artifacts in S3 only", "status": "contradicted",
                             "reason": "the list has grown: +azure-blob (2 passages)", "passages": [top]}]}
    f = flag("F5", "storage", claim=claim, added=[entry("added", "azure", "Azure Blob Storage is supported.")])
    lines = digest_lines([f], plain=True)
    assert lines[1].startswith("  [bold yellow]claim:[/] contradicts the study: S3 only") and "stale" in lines[1]
    assert "https://docs.example.org/storage#azure (2024-04-01)" in lines[2]      # where the docs show it
    full = "\n".join(full_lines([f], plain=True))
    assert "Stores artifacts in S3 only [contradicted]" in full and "why:[/] the list has grown" in full


def test_stat_is_one_line_per_flag_and_full_lists_every_entry():
    other = flag("F6", "tracking", changed=[changed("m", "Log a metric.", "Log a metric per step.")])
    assert len(stat_lines([SERVING, other])) == 2
    full = "\n".join(full_lines([SERVING], plain=True))
    for e in entries(SERVING):
        assert e.item["url"] in full
    assert "crawled 2024-04-01" in full


def _console(tty: bool) -> Console:
    class Out(io.StringIO):
        def isatty(self) -> bool:
            return tty

    return Console(file=Out(), height=10, width=120, highlight=False)


def test_long_output_is_paged_on_a_terminal_only():
    paged: list[str] = []
    lines = [f"line {i}" for i in range(30)]
    for tty in (False, True):
        console = _console(tty)
        emit(console, lambda: [console.print(line) for line in lines], page=paged.append)
        if tty:
            assert len(paged) == 1 and "line 29" in paged[0] and console.file.getvalue() == ""
        else:
            assert paged == [] and "line 29" in console.file.getvalue()
    short = _console(True)
    emit(short, lambda: short.print("one line"), page=paged.append)
    assert len(paged) == 1 and "one line" in short.file.getvalue()        # fits the screen: no pager


def test_a_tag_that_flipped_without_a_word_changing_ranks_last_among_changes():
    same = "Monitor training progress in the UI."
    flipped = changed("flip", same, same, tagged="lost",
                      importance=importance("changed", tagged="lost", changed_words=0))
    real = changed("real", "Plots show metrics.", "Plots show metrics and images.", tagged="lost",
                   importance=importance("changed", tagged="lost", changed_words=2))
    f = flag("F7", "visualization", changed=[flipped, real])
    assert [e.item["url"].split("#")[1] for e in entries(f)] == ["real", "flip"]
    text = "\n".join(digest_lines([f], plain=True))
    assert "no longer evidence for this criterion; no word changed beyond noise" in text
