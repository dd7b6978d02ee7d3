"""Train the tagger's linear model on the labelled gold sections and write it into the package.

    pip install '.[train]'                # scikit-learn, for training only (not needed at run time)
    python bench/train_tagger.py          # all three eras -> extractors/trained/criteria_model.json
    python bench/train_tagger.py --eras dev,era-2022-09-01 --out /tmp/model.json

Reads the gold sections in place (`/work/shared/gold/<era>-sections.jsonl`, never copied), computes
the features with the tagger itself (rule scores + word keys, `Tagger.features_many`, so training
and tagging read passages the same way), fits one L2-regularised logistic regression per criterion
(scikit-learn, lbfgs; a criterion's positives weigh as much as its negatives together, so that a
rare criterion is not simply never tagged, with the operating point at probability 0.5) and writes
every weight as plain JSON.

Reproducible: the fit is deterministic (lbfgs, no sampling; `SEED` is passed all the same) and the
weights are rounded to 4 decimals, so the same gold files, rules and library versions give the same
file byte for byte (`--check` says whether the shipped file is what this command produces). Another
scikit-learn/numpy version may move the 4th decimal of a few weights; tags do not change in practice.

Retrain after any change to the rules (`extractors/patterns/criteria.jsonl`, `config.json`): the
model reads the rule scores, so a rule change without retraining shifts what its weights mean.
`bench/bench_tagging.py` reports the model fitted on two eras and scored on the third.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extractors.linear import MODEL_FILE  # noqa: E402

GOLD_DIR = Path("/work/shared/gold")
ERAS = ("era-2022-09-01", "dev", "era-2025-06-01")   # <era>-sections.jsonl in GOLD_DIR
OUT = ROOT / "extractors" / "trained" / MODEL_FILE
SEED = 13
C = 10.0          # inverse L2 strength; 1-30 measured within 0.01 macro-F1 of each other held out
MIN_DF = 2        # a word must occur in at least this many training sections to get a weight
DECIMALS = 4
BALANCE = 1.0     # positives weigh (negatives / positives) ** BALANCE; 0.5-0.75 trade recall on the
                  # generously labelled 2025 era for precision on the strict dev era, 1.0 is the middle


def load_gold(gold_dir: Path, eras: tuple[str, ...]) -> list[dict]:
    rows = []
    for era in eras:
        path = gold_dir / f"{era}-sections.jsonl"
        if not path.exists():
            raise SystemExit(f"Gold file not found: {path}. Pass --gold-dir DIR.")
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                row["era"] = era
                rows.append(row)
    return rows


def featurize(tagger, rows: list[dict]) -> list[tuple[dict[str, float], set[str]]]:
    return tagger.features_many([(r["text"], tuple(r["heading_path"])) for r in rows])


def _matrix(features, rules: list[str], vocab: dict[str, int]):
    from scipy import sparse

    r_, c_, v_ = [], [], []
    for i, (_, words) in enumerate(features):
        cols = sorted(vocab[w] for w in words if w in vocab)
        norm = 1.0 / np.sqrt(len(cols)) if cols else 0.0
        r_ += [i] * len(cols)
        c_ += cols
        v_ += [norm] * len(cols)
    bag = sparse.csr_matrix((v_, (r_, c_)), shape=(len(features), len(vocab)))
    rule = sparse.csr_matrix(np.array([[sc.get(c, 0.0) for c in rules] for sc, _ in features]))
    return sparse.hstack([rule, bag]).tocsr()


def fit(features, labels: list[set[str]], criteria: list[str], c: float = C, min_df: int = MIN_DF,
        balance: float = BALANCE) -> dict:
    """The model as the dict `extractors.linear.LinearModel.from_dict` reads."""
    from sklearn.linear_model import LogisticRegression

    df = Counter(w for _, words in features for w in words)
    vocab_keys = sorted(w for w, n in df.items() if n >= min_df)
    vocab = {w: i for i, w in enumerate(vocab_keys)}
    x = _matrix(features, criteria, vocab)
    n_rules = len(criteria)
    bias, rule_w, word_w = [], [], []
    for crit in criteria:
        y = np.array([crit in lab for lab in labels])
        if not y.any():   # no positives at all: never tag (a large negative bias)
            bias.append(-10.0)
            rule_w.append(np.zeros(n_rules))
            word_w.append(np.zeros(len(vocab)))
            continue
        # positives weigh (negatives / positives) ** balance: 1 = "balanced", 0 = unweighted
        weight = {True: float((len(y) - y.sum()) / y.sum()) ** balance, False: 1.0}
        clf = LogisticRegression(C=c, class_weight=weight, max_iter=5000, random_state=SEED)
        clf.fit(x, y)
        bias.append(float(clf.intercept_[0]))
        rule_w.append(clf.coef_[0][:n_rules])
        word_w.append(clf.coef_[0][n_rules:])
    rnd = lambda v: round(float(v), DECIMALS) + 0.0   # noqa: E731  (+ 0.0 turns -0.0 into 0.0)
    rule_m = np.array(rule_w).T            # (n_rules, n_criteria)
    word_m = np.array(word_w).T            # (n_words, n_criteria)
    words = {}
    for w, i in vocab.items():
        row = [rnd(v) for v in word_m[i]]
        if any(row):
            words[w] = row
    return {
        "criteria": list(criteria),
        "rules": list(criteria),
        "bias": [rnd(b) for b in bias],
        "rule_weights": [[rnd(v) for v in row] for row in rule_m],
        "thresholds": [0.5] * len(criteria),
        "words": words,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold-dir", type=Path, default=GOLD_DIR)
    ap.add_argument("--eras", default=",".join(ERAS), help="comma-separated eras to train on")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="train, compare with --out, write nothing")
    args = ap.parse_args()

    from extractors.tagger import Tagger
    from knowledge.domain.checklist import criterion_ids

    eras = tuple(e for e in args.eras.split(",") if e)
    rows = load_gold(args.gold_dir, eras)
    tagger = Tagger(trained=False)
    criteria = list(criterion_ids())
    model = fit(featurize(tagger, rows), [set(r["criteria"]) for r in rows], criteria)
    sources = []
    for era in eras:
        path = args.gold_dir / f"{era}-sections.jsonl"
        sources.append({"file": path.name, "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                        "sections": sum(1 for r in rows if r["era"] == era)})
    from extractors.version import pattern_digest

    out = {
        "_doc": "Trained by `python bench/train_tagger.py` (see extractors/linear.py for the formula). "
                "Do not edit by hand: retrain.",
        "trained_on": sources,
        "rules_digest": pattern_digest(),
        "params": {"C": C, "min_df": MIN_DF, "balance": BALANCE, "seed": SEED, "decimals": DECIMALS},
        **model,
    }
    # one line per word keeps the file diffable
    head = {k: v for k, v in out.items() if k != "words"}
    lines = [json.dumps(head, separators=(",", ":"))[:-1] + ',"words":{']
    items = sorted(out["words"].items())
    lines += [json.dumps(k) + ":" + json.dumps(v, separators=(",", ":")) + ("," if i < len(items) - 1 else "")
              for i, (k, v) in enumerate(items)]
    lines.append("}}")
    text = "\n".join(lines) + "\n"
    assert json.loads(text) == json.loads(json.dumps(out))
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    print(f"trained on {len(rows)} sections ({', '.join(eras)}); {len(out['words'])} words with weights; "
          f"{len(text) / 1024:.0f} KiB; sha256 {digest}")
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print("identical to" if same else "DIFFERS from", args.out)
        raise SystemExit(0 if same else 1)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
