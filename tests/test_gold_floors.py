"""Quality floors on collector's own gold set (fixtures/gold/passages.jsonl).

The floors in fixtures/gold/floors.json are pinned a little below the measured figures (as
trafilatura does with its benchmark): a rule change that makes any criterion noticeably worse
fails here. To raise them after an improvement, run
`python -m tests.test_gold_floors` and copy the suggested values.
"""
from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources

from extractors.tagger import get_tagger
from knowledge.domain.checklist import criterion_ids

MARGIN = 0.05   # floors = measured - MARGIN, rounded down to 0.05


def _gold() -> list[dict]:
    text = (resources.files("fixtures") / "gold" / "passages.jsonl").read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _floors() -> dict[str, dict[str, float]]:
    return json.loads((resources.files("fixtures") / "gold" / "floors.json").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def measure() -> dict[str, dict[str, float]]:
    rows = _gold()
    results = get_tagger().tag_many([(r["text"], tuple(r["heading_path"])) for r in rows])
    pred = [{t.criterion for t in tags} for tags, _ in results]
    out = {}
    for c in criterion_ids():
        tp = sum(1 for p, r in zip(pred, rows) if c in p and c in r["criteria"])
        fp = sum(1 for p, r in zip(pred, rows) if c in p and c not in r["criteria"])
        fn = sum(1 for p, r in zip(pred, rows) if c not in p and c in r["criteria"])
        out[c] = {"precision": tp / (tp + fp) if tp + fp else 0.0, "recall": tp / (tp + fn) if tp + fn else 0.0}
    return out


def test_gold_set_is_well_formed():
    rows = _gold()
    ids = set(criterion_ids())
    for r in rows:
        assert set(r) == {"tool", "heading_path", "text", "criteria"}
        assert r["tool"] in {"metaflow", "mlflow", "dvc"} and r["text"].strip()
        assert set(r["criteria"]) <= ids
    for c in ids:
        assert sum(c in r["criteria"] for r in rows) >= 10, f"{c} needs at least 10 positives"
    assert sum(not r["criteria"] for r in rows) >= 30, "the gold set needs plenty of hard negatives"


def test_floors_cover_every_criterion():
    assert set(_floors()) == set(criterion_ids())


def test_per_criterion_precision_and_recall_stay_above_floors():
    measured, floors = measure(), _floors()
    failures = [f"{c} {k}: {measured[c][k]:.3f} < floor {floor:.2f}"
                for c, pair in floors.items() for k, floor in pair.items() if measured[c][k] < floor]
    assert not failures, "tagging quality fell below the pinned floors:\n" + "\n".join(failures)


def _suggest() -> dict[str, dict[str, float]]:
    return {c: {k: max(0.0, int((v - MARGIN) * 20) / 20) for k, v in pr.items()} for c, pr in measure().items()}


if __name__ == "__main__":
    for c, pr in measure().items():
        print(f"{c:14} P={pr['precision']:.3f} R={pr['recall']:.3f}")
    print(json.dumps(_suggest(), indent=1))
