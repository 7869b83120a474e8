"""Accuracy and per-class F1 of firebreak.triage on the labelled DEV and HELD-OUT splits, with
VADER alone measured on the same data in the same run as the baseline.

    .venv/bin/python bench/triage_eval.py            # figures
    .venv/bin/python bench/triage_eval.py --errors   # misreadings on DEV only (tune on DEV)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firebreak.triage import KINDS, LABELS, Triager  # noqa: E402
from firebreak.triage.evaluation import evaluate, label_from_compound, load_examples  # noqa: E402

SPLITS = {
    "dev": ROOT / "tests/data/triage_eval_dev.csv",
    "held-out": ROOT / "tests/data/triage_eval_heldout.csv",
}


def _row(name: str, report) -> str:
    per_class = "  ".join(f"{cls}={f1:.2f}" for cls, f1 in report.f1.items())
    return f"  {name:<6} acc={report.accuracy:6.1%}  macroF1={report.macro_f1:.2f}  {per_class}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list DEV misreadings")
    args = parser.parse_args()
    vader = SentimentIntensityAnalyzer()
    for split, path in SPLITS.items():
        examples = load_examples(path)
        triager = Triager()
        results = [triager.score(example.text) for example in examples]
        label = evaluate([e.label for e in examples], [r.label for r in results], LABELS)
        kind = evaluate([e.kind for e in examples], [r.kind for r in results], KINDS)
        baseline = evaluate(
            [e.label for e in examples],
            [label_from_compound(vader.polarity_scores(e.text)["compound"]) for e in examples],
            LABELS,
        )
        print(f"{split}: {len(examples)} posts ({path.relative_to(ROOT)})")
        print(_row("label", label))
        print(_row("kind", kind))
        print(_row("VADER", baseline))
        ratio = label.accuracy / baseline.accuracy if baseline.accuracy else float("inf")
        print(f"  label accuracy vs VADER alone: {ratio:.2f}x")
        if args.errors and split == "dev":
            for example, result in zip(examples, results, strict=True):
                if (example.label, example.kind) != (result.label, result.kind):
                    print(
                        f"    want {example.label}/{example.kind} got {result.label}/"
                        f"{result.kind} {result.sentiment:+.2f}: {example.text}"
                    )


if __name__ == "__main__":
    main()
