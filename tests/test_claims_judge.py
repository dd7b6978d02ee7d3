"""Verdicts from passages alone (knowledge/claims/judge.py, pure): one small hand-made "crawl" per
test, one claim with the assertion kinds the study's claims use."""
from __future__ import annotations

from knowledge.claims.judge import MIN_PAGES_FOR_GONE, CitedPage, DocPassage, ToolDocs, judge_cell
from knowledge.domain.assertions import parse_assertions
from knowledge.domain.baseline import BaselineClaim


def claim(*assertions: dict, facts=None, status="stated", criterion="pipelines") -> BaselineClaim:
    parsed = parse_assertions(list(assertions), "test", "dvc", criterion)
    return BaselineClaim("dvc", criterion, "The study's words.", (), status, facts or {}, parsed)


def docs(*passages: tuple, pages: int = 40, cited=None) -> ToolDocs:
    """passages: (text, {criterion: score}, {(criterion, category, value)}) or just text."""
    out = []
    for n, p in enumerate(passages):
        text, tags, facts = (p, {}, set()) if isinstance(p, str) else p
        out.append(DocPassage(f"http://docs.test/p{n}#s{n}", f"/p{n}", (f"Section {n}",), text, "2026-11-30T06:00:00Z",
                              7, tags, facts))
    return ToolDocs("dvc", out, pages, cited or {}, 7, "2026-11-30T06:00:00Z")


RUN = {"id": "dvc-run", "says": "Pipelines run with `dvc run`.", "kind": "exists",
       "terms": ["re:\\bdvc run\\b(?![-\\w])"], "cited": ["https://dvc.org/doc/command-reference/run"]}
REPRO = {"id": "dvc-repro", "says": "Pipelines rerun with `dvc repro`.", "kind": "exists", "terms": ["dvc repro"]}


def test_a_named_thing_still_documented_holds_with_its_passages():
    v = judge_cell("dvc", "pipelines", claim(RUN, REPRO), docs("Use dvc run to add a stage.", "Then dvc repro.",
                                                                 "Unrelated text."))
    assert v.verdict == "holds"
    assert {a.status for a in v.assertions} == {"supported"}
    assert v.passages and v.passages[0].url.startswith("http://docs.test/p")


def test_a_named_thing_no_page_mentions_is_gone_only_in_a_large_enough_crawl():
    big = judge_cell("dvc", "pipelines", claim(RUN, REPRO), docs("Then dvc repro.", "dvc run-cache is fine."))
    assert big.verdict == "stale"
    gone = big.decided_by[0]
    assert gone.key == "dvc.pipelines.dvc-run" and gone.status == "contradicted"
    assert "no longer documented" in gone.reason
    small = judge_cell("dvc", "pipelines", claim(RUN, REPRO), docs("Then dvc repro.", pages=MIN_PAGES_FOR_GONE - 1))
    assert small.verdict == "holds"
    assert [a.status for a in small.assertions if a.key.endswith("dvc-run")] == ["unsupported"]


def test_deprecated_in_the_docs_is_stale_and_cites_the_sentence_and_a_dead_citation_adds_to_it():
    cited = {"https://dvc.org/doc/command-reference/run": CitedPage("https://dvc.org/doc/command-reference/run",
                                                                    "gone", detail="answers 404")}
    v = judge_cell("dvc", "pipelines", claim(RUN, REPRO),
                   docs("The `dvc run` command has been removed in DVC 3.0. Use dvc stage add.", "dvc repro",
                        cited=cited))
    assert v.verdict == "stale" and v.score >= 0.85
    top = v.decided_by[0]
    assert top.passages[0].quote.startswith("The `dvc run` command has been removed")
    assert top.cited == [{"url": "https://dvc.org/doc/command-reference/run", "status": "gone", "final_url": "",
                          "detail": "answers 404"}]


def test_a_minor_aside_alone_never_makes_a_claim_stale():
    aside = dict(RUN, id="wandb", terms=["wandb"], weight="minor", cited=[])
    v = judge_cell("dvc", "pipelines", claim(REPRO, aside), docs("dvc repro reruns stages."))
    assert v.verdict == "holds"
    assert "minor:" in v.deciding


def test_an_absence_the_docs_now_contradict_is_stale():
    absent = {"id": "no-registry", "says": "DVC does not handle models.", "kind": "absent",
              "terms": ["model registry"], "facts": {"feature": ["model-registry"]}}
    v = judge_cell("dvc", "serving", claim(absent, criterion="serving"),
                   docs(("The model registry keeps model versions.", {"serving": 0.8}, set())))
    assert v.verdict == "stale"
    assert judge_cell("dvc", "serving", claim(absent, criterion="serving"),
                      docs("Data files only.")).verdict == "holds"


def test_a_stated_limit_that_changed_is_stale_and_the_same_number_holds():
    limit = {"id": "team", "says": "Free for up to 5 members.", "kind": "limit", "value": "5",
             "pattern": "\\b(?:up to|can have)\\s+(\\d+|two|five)\\s+(?:members|collaborators)\\b",
             "context": ["free", "plan"]}
    changed = judge_cell("dvc", "costs", claim(limit, criterion="costs"),
                         docs("Teams on the Free plan can have two collaborators."))
    assert changed.verdict == "stale" and "now say 2" in changed.deciding
    same = judge_cell("dvc", "costs", claim(limit, criterion="costs"), docs("The free plan: up to 5 members."))
    assert same.verdict == "holds"


def test_an_exhaustive_list_that_grew_is_stale_a_partial_list_that_grew_is_extended():
    passages = [(f"Store artifacts on Azure, page {n}.", {"storage": 0.9},
                 {("storage", "storage_backend", "azure-blob"), ("storage", "storage_backend", "s3")})
                for n in range(2)]
    listed = {"id": "backends", "says": "Local or S3.", "kind": "list", "facts": {"storage_backend": ["local", "s3"]}}
    closed = judge_cell("dvc", "storage", claim(dict(listed, exhaustive=True), criterion="storage"), docs(*passages))
    assert closed.verdict == "stale" and "+azure-blob (2 passages)" in closed.deciding
    open_ = judge_cell("dvc", "storage", claim(listed, criterion="storage"), docs(*passages))
    assert open_.verdict == "extended"
    assert [a.text for a in open_.decided_by] == ["storage backend azure-blob"]
    # One passing mention does not grow a list.
    once = judge_cell("dvc", "storage", claim(dict(listed, exhaustive=True), criterion="storage"), docs(passages[0]))
    assert once.verdict == "holds"


def test_new_evidence_needs_two_passages_and_values_the_claim_names_are_not_new():
    one = [("Queue experiments.", {"tracking": 0.7}, {("tracking", "feature", "experiment-queue")})]
    c = claim(REPRO, criterion="tracking")
    assert judge_cell("dvc", "tracking", c, docs(*one, "dvc repro")).verdict == "holds"
    two = one + [("Queue more experiments.", {"tracking": 0.7}, {("tracking", "feature", "experiment-queue")})]
    assert judge_cell("dvc", "tracking", c, docs(*two, "dvc repro")).verdict == "extended"
    named = claim(REPRO, criterion="tracking", facts={"feature": ("experiment-queue",)})
    assert judge_cell("dvc", "tracking", named, docs(*two, "dvc repro")).verdict == "holds"


def test_enumerated_components_beyond_the_study_list_are_stale():
    listed = {"id": "components", "says": "Four components.", "kind": "list",
              "items": ["Tracking", "Projects", "Models", "Model Registry"], "items_context": "\\bcomponents?\\b",
              "exhaustive": True}
    text = "Core components:\nTracking: runs.\nModel Registry: models.\nEvaluate: compare models.\nProjects: code."
    v = judge_cell("dvc", "general", claim(listed, criterion="general"), docs((text, {"general": 0.9}, set())))
    assert v.verdict == "stale" and "+Evaluate" in v.deciding
    same = "Core components:\nTracking: runs.\nModels: packaging.\nModel Registry: models.\nProjects: code."
    assert judge_cell("dvc", "general", claim(listed, criterion="general"),
                      docs((same, {"general": 0.9}, set()))).verdict == "holds"


def test_no_finding_and_no_crawl():
    v = judge_cell("dvc", "hpc", claim(status="work_in_progress", criterion="hpc"),
                   docs(("Share a cache on an NFS server.", {"hpc": 0.8}, set())))
    assert v.verdict == "no-claim" and v.passages and "no finding" in v.deciding
    assert judge_cell("dvc", "pipelines", claim(RUN), None).verdict == "holds"
    assert judge_cell("kedro", "pipelines", None, docs("x")).verdict == "no-claim"


def test_no_mention_is_not_gone_when_the_crawl_left_part_of_the_docs_out():
    partial = docs("Then dvc repro.")
    partial.left_out = "its doc variants (r docs under /v/r/)"
    v = judge_cell("dvc", "pipelines", claim(RUN, REPRO), partial)
    assert v.verdict == "holds"
    [run] = [a for a in v.assertions if a.key.endswith("dvc-run")]
    assert run.status == "contradicted" and run.strength < 0.5 and "leaves out its doc variants" in run.reason
    # ... unless the study's own citation for it is gone as well.
    url = "https://dvc.org/doc/command-reference/run"
    gone = docs("Then dvc repro.", cited={url: CitedPage(url, "gone", detail="answers 404")})
    gone.left_out = partial.left_out
    assert judge_cell("dvc", "pipelines", claim(RUN, REPRO), gone).verdict == "stale"


def test_a_citation_that_now_redirects_to_a_page_not_mentioning_it_counts_as_lost():
    url = "https://dvc.org/doc/command-reference/run"
    cited = {url: CitedPage(url, "redirected", "http://docs.test/p0")}
    v = judge_cell("dvc", "pipelines", claim(RUN, REPRO), docs("Then dvc repro.", cited=cited))
    [run] = [a for a in v.assertions if a.key.endswith("dvc-run")]
    assert run.strength == 0.85 and "now redirects to http://docs.test/p0, which does not mention it" in run.reason
    # Redirected to a page that still documents it: the statement is supported, nothing lost.
    kept = judge_cell("dvc", "pipelines", claim(RUN, REPRO), docs("Use dvc run here.", "dvc repro", cited=cited))
    assert [a.status for a in kept.assertions if a.key.endswith("dvc-run")] == ["supported"]
