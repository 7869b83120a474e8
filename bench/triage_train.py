"""Retrain the learned triage scorer, reproducibly: the training parts of ../shared's corpora plus
the team's dev posts -> firebreak/triage/model.json and model.provenance.json (data files with
their sha256 and row counts, the split, the settings, out-of-fold figures on the training part).

    .venv/bin/pip install -e '.[train]'      # scikit-learn, numpy, scipy: training only
    .venv/bin/python bench/triage_train.py    # ~2 min on one core, single process

5-fold out-of-fold logits on the training part choose the negative margin (the largest that costs
at most 2 points of macro-F1 on any training corpus: a missed complaint is the costly error) and
give the figures recorded.

The held-out parts (TweetEval's test split, 30% of Sanders by hash, tests/data/
triage_eval_heldout.csv) are never read here: see firebreak/triage/corpora.py and
bench/triage_eval.py."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firebreak.triage import corpora  # noqa: E402
from firebreak.triage.evaluation import evaluate  # noqa: E402
from firebreak.triage.model import CLASSES  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "firebreak" / "triage", help="where to write"
    )
    args = parser.parse_args()
    if not corpora.available():
        sys.exit(f"the corpora are absent: {corpora.SHARED} (they ship beside the team checkout)")
    try:
        from firebreak.triage import training
    except ImportError as exc:
        sys.exit(f"training needs the 'train' extra (pip install -e '.[train]'): {exc}")

    config = training.Config()
    posts, splits = training.training_posts()
    weights = training.sample_weights(posts, config)
    # Out-of-fold logits on the training part choose the negative margin (no held-out post).
    logits = training.cross_validate(posts, weights, config)
    margin = training.choose_margin(posts, logits, config)
    figures: dict[str, dict[str, float]] = {}
    for at_margin in (0.0, margin):
        predicted = training.labels_at(logits, at_margin)
        for source in ("tweeteval", "sanders", "team"):
            at = [i for i, p in enumerate(posts) if p.source == source]
            report = evaluate([posts[i].label for i in at], [predicted[i] for i in at], CLASSES)
            name = f"cv5_{source}_margin_{at_margin:g}"
            figures[name] = {
                "accuracy": round(report.accuracy, 4),
                "macro_f1": round(report.macro_f1, 4),
                "negative_recall": round(report.recall["negative"], 4),
                "n": report.n,
            }
            print(f"5-fold on the training part, {name}: {figures[name]}")
    print(f"negative margin: {margin:g}")
    model = training.fit(training.featurise(posts), weights, config)
    model["negative_margin"] = margin
    record = training.provenance(splits, config, model, figures)
    weights_path, meta_path = training.write(model, record, args.out)
    size = weights_path.stat().st_size
    print(f"trained on {len(posts)} posts: {len(model['words'])} words and pairs, {size:,} bytes")
    print(f"wrote {weights_path.relative_to(ROOT)} and {meta_path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
