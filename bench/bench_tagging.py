"""Benchmark: criterion tagging quality per era and criterion, held out by era, and its speed.

Reads the gold sections of three eras in place (`/work/shared/gold/{era-2022-09-01,dev,era-2025-06-01}
-sections.jsonl`, never copied) and scores each section's (text, heading path) directly:

* leave one era out (LOEO): the model is refitted (`bench/train_tagger.py`'s `fit`, same features,
  same parameters) on the other two eras and scores the held-out one. Nothing it uses is fitted on
  the scored era: weights, vocabulary and thresholds come from the other two; the rule files are
  shared by all (written on the dev snapshot before this round, see docs/tagging.md for what was
  added since and from where).
* within era: the model fitted on half of one era's pages (sections of one page stay together),
  scored on the other half, both ways, pooled over `SPLIT_SEEDS` splits.
* the rules on their own (rule score >= `thresholds` of config.json, i.e. today's design) and a
  plain keyword baseline, on the same sections.
* the shipped model (trained on all three eras), in-sample: an optimistic figure, for reference only.

Then speed (tagging per passage, and per real corpus page with the extractor) and, with
`--facts-sample N`, N facts drawn at random from corpus pages, with their sentence, to check by hand.

    python bench/bench_tagging.py [--gold-dir DIR] [--pages 1000] [--errors CRIT --era ERA]
                                  [--facts-sample 50] [--calibrate]
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from extractors.linear import LinearModel  # noqa: E402
from extractors.tagger import get_tagger  # noqa: E402
from knowledge.domain.checklist import criterion_ids  # noqa: E402
from train_tagger import ERAS, GOLD_DIR, fit, load_gold  # noqa: E402

CORPUS = Path("/tmp/corpus")
SPEED_SNAPSHOT = "dev-2024-03-01"
SPLIT_SEEDS = 3          # random page splits pooled in the within-era figure
PASSAGES_PER_PAGE = 20   # "page-equivalent" for the per-passage speed figure

# The baseline: a criterion is tagged when any of these obvious words occurs (lowercase substring)
# in the heading path or the text. Deliberately plain: it is the yardstick, not a competitor.
BASELINE = {
    "general": ["overview", "introduction", "what is", "concept"],
    "versioning": ["version", "reproducib", "git", "conda"],
    "tracking": ["experiment", "metric", "param", "tracking"],
    "pipelines": ["pipeline", "workflow", "dag", "stage"],
    "scaling": ["kubernetes", "batch", "cluster", "scale", "parallel"],
    "hpc": ["slurm", "hpc", "mpi", "cluster"],
    "storage": ["storage", "s3", "remote", "bucket"],
    "logging": ["log", "debug", "resume", "checkpoint"],
    "visualization": ["plot", "dashboard", " ui", "visualiz"],
    "collaboration": ["share", "team", "collaborat"],
    "compatibility": ["pytorch", "tensorflow", "language", "integration"],
    "serving": ["serve", "serving", "deploy"],
    "open_source": ["open source", "open-source", "license", "contribut"],
    "costs": ["price", "pricing", "cost", "free"],
    "real_world": ["tutorial", "example", "case study"],
}


def baseline_tags(text: str, heading_path: list[str]) -> set[str]:
    low = (" ".join(heading_path) + " " + text).lower()
    return {c for c, words in BASELINE.items() if any(w in low for w in words)}


def prf(pred: list[set[str]], gold: list[set[str]], crit: str) -> tuple[float, float, float, int]:
    tp = sum(1 for p, g in zip(pred, gold) if crit in p and crit in g)
    fp = sum(1 for p, g in zip(pred, gold) if crit in p and crit not in g)
    fn = sum(1 for p, g in zip(pred, gold) if crit not in p and crit in g)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1, tp + fn


def macro(pred: list[set[str]], gold: list[set[str]], min_support: int = 1) -> tuple[float, float]:
    """(macro-F1 over criteria with >= min_support positives, lowest F1 among criteria with >= 10)."""
    per = [prf(pred, gold, c) for c in criterion_ids()]
    f1s = [f for _, _, f, s in per if s >= min_support]
    big = [f for _, _, f, s in per if s >= 10]
    return (sum(f1s) / len(f1s) if f1s else 0.0), (min(big) if big else float("nan"))


def predict(model: LinearModel, feats) -> list[set[str]]:
    out = []
    for rule_scores, words in feats:
        probs = model.score(rule_scores, model.rows_of(words))[0]
        out.append({c for c, p in probs.items() if p >= model.thresholds[c]})
    return out


def fitted(idx: list[int], feats, rows) -> LinearModel:
    return LinearModel.from_dict(fit([feats[i] for i in idx], [set(rows[i]["criteria"]) for i in idx],
                                     list(criterion_ids())))


def fit_threshold(scores: list[float], gold: list[bool], default: float) -> float:
    """The score threshold with the best F1 on these sections (default when there are no positives)."""
    if not any(gold):
        return default
    best = (-1.0, default)
    for step in range(1, 100):
        th = step / 100
        tp = sum(1 for s, g in zip(scores, gold) if s >= th and g)
        fp = sum(1 for s, g in zip(scores, gold) if s >= th and not g)
        fn = sum(1 for s, g in zip(scores, gold) if s < th and g)
        f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        best = max(best, (f1, -th))
    return -best[1] if best[0] > 0 else default


def table(title: str, gold: list[set[str]], columns: dict[str, list[set[str]]]) -> None:
    """Per criterion: P/R/F1 of the first column, F1 of the others."""
    names = list(columns)
    first = names[0]
    print(f"\n{title} ({len(gold)} sections)")
    print(f"{'criterion':<14} {'supp':>4} | {first + ' P':>9} {'R':>5} {'F1':>5} | "
          + " ".join(f"{n + ' F1':>10}" for n in names[1:]))
    for c in criterion_ids():
        p, r, f, s = prf(columns[first], gold, c)
        if not s:
            print(f"{c:<14} {s:>4} | (no positives)")
            continue
        others = " ".join(f"{prf(columns[n], gold, c)[2]:>10.3f}" for n in names[1:])
        flag = "  < 0.5" if s >= 10 and f < 0.5 else ""
        print(f"{c:<14} {s:>4} | {p:>9.3f} {r:>5.3f} {f:>5.3f} | {others}{flag}")
    print(f"{'macro-F1':<14} {'':>4} | {'':>9} {'':>5} {macro(columns[first], gold)[0]:>5.3f} | "
          + " ".join(f"{macro(columns[n], gold)[0]:>10.3f}" for n in names[1:]))


def page_speed(tagger, max_pages: int) -> None:
    """Real pages: passages from extractors.passages, then tag_many per page (CPU time)."""
    from extractors.passages import extract_passages
    from knowledge.domain.sources import load_sources

    root = CORPUS / SPEED_SNAPSHOT
    if not root.is_dir():
        print(f"\npage speed: {root} not found, skipped")
        return
    sources = {k: v.to_dict() for k, v in load_sources().items()}
    pages = [(tool, f) for tool in sorted(sources) if (root / tool).is_dir()
             for f in sorted((root / tool).rglob("*.html"))][:max_pages]
    extract_s = tag_s = 0.0
    n_passages = 0
    for tool, f in pages:
        html = f.read_bytes()
        t0 = time.process_time()
        passages = extract_passages(html, str(f), content=sources[tool].get("content", ()),
                                    drop=sources[tool].get("drop", ()))
        t1 = time.process_time()
        tagger.tag_many([(p.text, p.heading_path) for p in passages])
        t2 = time.process_time()
        extract_s, tag_s, n_passages = extract_s + t1 - t0, tag_s + t2 - t1, n_passages + len(passages)
    n = max(1, len(pages))
    print(f"page speed on {len(pages)} pages of {root} (CPU): {n_passages / n:.1f} passages/page; "
          f"tagging {tag_s * 1000 / n:.2f} ms/page; extraction {extract_s * 1000 / n:.2f} ms/page; "
          f"extract + tag {(tag_s + extract_s) * 1000 / n:.2f} ms/page")


def facts_sample(tagger, n: int, seed: int = 13) -> None:
    """n facts drawn at random from the tagged passages of the speed snapshot, to check by hand."""
    from extractors.passages import extract_passages
    from knowledge.domain.sources import load_sources

    root = CORPUS / SPEED_SNAPSHOT
    sources = {k: v.to_dict() for k, v in load_sources().items()}
    found = []
    for tool in sorted(sources):
        for f in sorted((root / tool).rglob("*.html")):
            ps = extract_passages(f.read_bytes(), str(f.relative_to(root)), content=sources[tool].get("content", ()),
                                  drop=sources[tool].get("drop", ()))
            for p, (_, facts) in zip(ps, tagger.tag_many([(p.text, p.heading_path) for p in ps])):
                found += [(tool, p, fact) for fact in facts]
    print(f"\nfacts: {len(found)} on {root}; a random sample of {n} (seed {seed}) to check by hand:")
    for tool, p, fact in random.Random(seed).sample(found, min(n, len(found))):
        i = p.text.lower().find(fact.term.lower())
        context = p.text[max(0, i - 90): i + len(fact.term) + 90].replace("\n", " ")
        print(f"- {fact.category}={fact.value} [{fact.criterion}] '{fact.term}' {tool} {p.citation}\n    ...{context}...")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold-dir", type=Path, default=GOLD_DIR, help="folder of <era>-sections.jsonl (read in place)")
    ap.add_argument("--pages", type=int, default=1000, help="corpus pages for the per-page speed (0 = skip)")
    ap.add_argument("--errors", default="", help="print the held-out false positives/negatives of this criterion")
    ap.add_argument("--era", default="", help="with --errors: only this era")
    ap.add_argument("--facts-sample", type=int, default=0, help="print this many random facts to check by hand")
    ap.add_argument("--calibrate", action="store_true",
                    help="print the rules' own thresholds fitted on all eras (config.json \"thresholds\")")
    args = ap.parse_args()

    rows = load_gold(args.gold_dir, ERAS)
    t0 = time.perf_counter()
    tagger = get_tagger()
    build_ms = (time.perf_counter() - t0) * 1000
    shipped = tagger.model
    items = [(r["text"], tuple(r["heading_path"])) for r in rows]
    gold = [set(r["criteria"]) for r in rows]
    feats = tagger.features_many(items)
    rule_scores = [f[0] for f in feats]
    if args.calibrate:
        print(json.dumps({"thresholds": {c: fit_threshold([s.get(c, 0.0) for s in rule_scores], [c in g for g in gold],
                                                          tagger.rule_thresholds[c]) for c in criterion_ids()}}, indent=2))
        return
    rules = [{c for c, s in sc.items() if s >= tagger.rule_thresholds[c]} for sc in rule_scores]
    base = [baseline_tags(r["text"], r["heading_path"]) for r in rows]
    in_sample = predict(shipped, feats)

    loeo: list[set[str]] = [set() for _ in rows]
    for era in ERAS:
        train = [i for i, r in enumerate(rows) if r["era"] != era]
        test = [i for i, r in enumerate(rows) if r["era"] == era]
        for i, p in zip(test, predict(fitted(train, feats, rows), [feats[i] for i in test])):
            loeo[i] = p

    within: dict[str, tuple[list[set[str]], list[set[str]]]] = {}
    for era in ERAS:
        idx = [i for i, r in enumerate(rows) if r["era"] == era]
        pages = sorted({(rows[i]["tool"], rows[i]["url"]) for i in idx})
        g_out, p_out = [], []
        for seed in range(SPLIT_SEEDS):
            shuffled = pages[:]
            random.Random(seed).shuffle(shuffled)
            first = set(shuffled[: len(shuffled) // 2])
            halves = ([i for i in idx if (rows[i]["tool"], rows[i]["url"]) in first],
                      [i for i in idx if (rows[i]["tool"], rows[i]["url"]) not in first])
            for train, test in (halves, halves[::-1]):
                p_out += predict(fitted(train, feats, rows), [feats[i] for i in test])
                g_out += [gold[i] for i in test]
        within[era] = (g_out, p_out)

    for era in ERAS:
        idx = [i for i, r in enumerate(rows) if r["era"] == era]
        pick = lambda xs: [xs[i] for i in idx]  # noqa: E731
        table(f"Era {era}: model fitted on the other two eras (LOEO) vs the rules alone and the keyword baseline",
              pick(gold), {"LOEO": pick(loeo), "rules": pick(rules), "keywords": pick(base),
                           "in-sample": pick(in_sample)})

    print("\nSummary: macro-F1 over criteria with positives (lowest criterion F1 with >= 10 positives); "
          "LOEO>=10: macro-F1 over criteria with >= 10 positives only")
    print(f"{'era':<16} {'sections':>8} {'LOEO':>13} {'LOEO>=10':>9} {'within-era':>13} {'rules alone':>13} "
          f"{'keywords':>13} {'in-sample':>13}")
    for era in ERAS:
        idx = [i for i, r in enumerate(rows) if r["era"] == era]
        cells = [macro([col[i] for i in idx], [gold[i] for i in idx]) for col in (loeo,)]
        big = macro([loeo[i] for i in idx], [gold[i] for i in idx], min_support=10)[0]
        cells.append(macro(within[era][1], within[era][0]))
        cells += [macro([col[i] for i in idx], [gold[i] for i in idx]) for col in (rules, base, in_sample)]
        text = [f"{m:>6.3f} ({lo:.2f})" for m, lo in cells]
        print(f"{era:<16} {len(idx):>8} {text[0]} {big:>9.3f} " + " ".join(text[1:]))

    tagger.tag_many(items[:20])   # warm-up
    best = float("inf")
    for _ in range(3):   # CPU time, best of 3: wall time is unreliable on a shared machine
        t0 = time.process_time()
        tagger.tag_many(items)
        best = min(best, time.process_time() - t0)
    per_passage = best * 1000 / len(items)
    print(f"\nspeed: build {build_ms:.0f} ms once; tag_many {per_passage:.3f} ms/passage (CPU), "
          f"{per_passage * PASSAGES_PER_PAGE:.2f} ms per {PASSAGES_PER_PAGE}-passage page-equivalent; "
          f"mean section {sum(len(r['text'].split()) for r in rows) / len(rows):.0f} words")
    if args.pages:
        page_speed(tagger, args.pages)
    if args.facts_sample:
        facts_sample(tagger, args.facts_sample)

    if args.errors:
        c = args.errors
        for i, r in enumerate(rows):
            if args.era and r["era"] != args.era:
                continue
            kind = "FP" if c in loeo[i] and c not in gold[i] else "FN" if c not in loeo[i] and c in gold[i] else ""
            if kind:
                print(f"\n[{kind}] {r['era']} {r['tool']} {' > '.join(r['heading_path'])} gold={sorted(gold[i])} "
                      f"rule score={rule_scores[i].get(c, 0.0):.2f}")
                print("   ", r["text"][:300].replace("\n", " "))


if __name__ == "__main__":
    main()
