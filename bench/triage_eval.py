"""Triage quality on held-out posts no training or tuning saw: TweetEval's test split, 30% of
Sanders (by hash), the team's held-out file; accuracy, macro-F1 and per-class precision/recall
for the shipped scorer (learned model + lexicon), the lexicon alone, VADER alone (the baseline,
same process) and the majority class. Then kind (venting vs complaint) and complaint category.

    .venv/bin/python bench/triage_eval.py            # all figures (corpora need ../shared)
    .venv/bin/python bench/triage_eval.py --errors   # misreadings on the team's DEV split only
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from firebreak.triage import KINDS, LABELS, Triager, corpora  # noqa: E402
from firebreak.triage.categories import CATEGORIES  # noqa: E402
from firebreak.triage.evaluation import (  # noqa: E402
    Report,
    category_examples,
    evaluate,
    label_from_compound,
)

TARGETS = {"tweeteval": "macro-F1 >= 0.65", "sanders": "accuracy >= 0.80"}


def _line(name: str, report: Report) -> str:
    per_class = "  ".join(
        f"{cls[:3]} P={report.precision[cls]:.2f} R={report.recall[cls]:.2f}" for cls in report.f1
    )
    return f"  {name:<16} acc={report.accuracy:6.1%}  macroF1={report.macro_f1:.3f}  {per_class}"


def _labels(name: str, posts: list[corpora.Post], vader: SentimentIntensityAnalyzer) -> None:
    gold = [p.label for p in posts]
    model, lexicon = Triager(), Triager(model=None)
    majority = Counter(gold).most_common(1)[0][0]
    rows = {
        "model+lexicon": [model.score(p.text).label for p in posts],
        "lexicon alone": [lexicon.score(p.text).label for p in posts],
        "VADER alone": [
            label_from_compound(vader.polarity_scores(p.text)["compound"]) for p in posts
        ],
        f"majority ({majority[:3]})": [majority] * len(posts),
    }
    print(
        f"{name}: {len(posts)} held-out posts"
        + (f"; target {TARGETS[name]}" if name in TARGETS else "")
    )
    reports = {row: evaluate(gold, predicted, LABELS) for row, predicted in rows.items()}
    for row, report in reports.items():
        print(_line(row, report))
    ours, vader_alone = reports["model+lexicon"], reports["VADER alone"]
    print(
        f"  ratio to VADER: accuracy {ours.accuracy / vader_alone.accuracy:.2f}x, "
        f"macro-F1 {ours.macro_f1 / vader_alone.macro_f1:.2f}x"
    )


def _kinds(split: corpora.Split) -> None:
    """Kind on the team's own posts (written and labelled by the team), and the venting vs
    complaint decision alone on the posts labelled one of the two."""
    triager = Triager()
    for part, posts in (("dev", split.train), ("held-out", split.held_out)):
        predicted = [triager.score(p.text).kind for p in posts]
        kind = evaluate([p.kind for p in posts], predicted, KINDS)
        scores = f"acc={kind.accuracy:6.1%}  macroF1={kind.macro_f1:.3f}"
        print(f"  kind, team {part} ({kind.n} posts):  {scores}")
        pairs = [
            (p.kind, k)
            for p, k in zip(posts, predicted, strict=True)
            if p.kind in ("complaint", "venting")
        ]
        sub = evaluate([g for g, _ in pairs], [k for _, k in pairs], ("complaint", "venting"))
        print(
            f"  venting vs complaint, team {part} ({sub.n} posts labelled one of the two): "
            f"acc={sub.accuracy:6.1%}  complaint R={sub.recall['complaint']:.2f}  "
            f"venting R={sub.recall['venting']:.2f}"
        )


def _categories() -> None:
    triager = Triager()
    for name, examples in category_examples().items():
        if not examples:
            print(f"  category, {name}: the corpus is absent, skipped")
            continue
        predicted = [triager.score(e.text).category or "none" for e in examples]
        report = evaluate([e.category for e in examples], predicted, (*CATEGORIES, "none"))
        present = {e.category for e in examples}
        per = "  ".join(f"{c[:8]} R={report.recall[c]:.2f}" for c in report.f1 if c in present)
        print(f"  category, {name} ({report.n} posts): acc={report.accuracy:6.1%}  {per}")
        kinds = [
            (e.kind, triager.score(e.text).kind)
            for e in examples
            if e.kind in ("complaint", "venting")
        ]
        if kinds:
            sub = evaluate([g for g, _ in kinds], [k for _, k in kinds], ("complaint", "venting"))
            print(f"  venting vs complaint, {name} ({sub.n} posts): acc={sub.accuracy:6.1%}")


def _errors(split: corpora.Split) -> None:
    triager = Triager()
    for post in split.train:
        result = triager.score(post.text)
        if (post.label, post.kind) != (result.label, result.kind):
            print(
                f"    want {post.label}/{post.kind} got {result.label}/{result.kind} "
                f"{result.sentiment:+.2f}: {post.text}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="list team DEV misreadings")
    args = parser.parse_args()
    vader = SentimentIntensityAnalyzer()
    team = corpora.team()
    if args.errors:
        _errors(team)
        return
    if corpora.available():
        for split in (corpora.tweeteval(), corpora.sanders()):
            _labels(split.name, split.held_out, vader)
    else:
        print(f"{corpora.SHARED} is absent: corpus figures skipped")
    _labels("team", team.held_out, vader)
    _kinds(team)
    _categories()


if __name__ == "__main__":
    main()
