"""Scoring a labelled set: accuracy and per-class F1. Shared by bench/triage_eval.py and the
regression test, so the figure in docs/triage.md is the figure the test guards."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Example:
    text: str
    label: str
    kind: str
    domain: str


@dataclass(frozen=True, slots=True)
class Report:
    accuracy: float
    f1: dict[str, float]  # per class
    n: int

    @property
    def macro_f1(self) -> float:
        return sum(self.f1.values()) / len(self.f1) if self.f1 else 0.0


def load_examples(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Example(row["text"], row["label"], row["kind"], row.get("domain", ""))
            for row in csv.DictReader(handle)
        ]


def evaluate(gold: Sequence[str], predicted: Sequence[str], classes: Iterable[str]) -> Report:
    pairs = list(zip(gold, predicted, strict=True))
    correct = sum(g == p for g, p in pairs)
    f1: dict[str, float] = {}
    for cls in classes:
        tp = sum(g == cls and p == cls for g, p in pairs)
        fp = sum(g != cls and p == cls for g, p in pairs)
        fn = sum(g == cls and p != cls for g, p in pairs)
        f1[cls] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
    return Report(correct / len(pairs) if pairs else 0.0, f1, len(pairs))


def label_from_compound(compound: float) -> str:
    """VADER's documented thresholds for its compound score."""
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"


def predict(examples: Sequence[Example], scorer: Callable[[str], tuple[str, str]]) -> list:
    return [scorer(example.text) for example in examples]
