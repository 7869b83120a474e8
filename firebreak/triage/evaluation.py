"""Scoring a labelled set: accuracy and per-class F1. Shared by bench/triage_eval.py and the
regression test, so the figure in docs/triage.md is the figure the test guards."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
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
    precision: dict[str, float] = field(default_factory=dict)  # per class
    recall: dict[str, float] = field(default_factory=dict)  # per class

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
    precision: dict[str, float] = {}
    recall: dict[str, float] = {}
    for cls in classes:
        tp = sum(g == cls and p == cls for g, p in pairs)
        fp = sum(g != cls and p == cls for g, p in pairs)
        fn = sum(g == cls and p != cls for g, p in pairs)
        f1[cls] = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
        precision[cls] = tp / (tp + fp) if tp else 0.0
        recall[cls] = tp / (tp + fn) if tp else 0.0
    return Report(correct / len(pairs) if pairs else 0.0, f1, len(pairs), precision, recall)


def label_from_compound(compound: float) -> str:
    """VADER's documented thresholds for its compound score."""
    if compound >= 0.05:
        return "positive"
    if compound <= -0.05:
        return "negative"
    return "neutral"


def predict(examples: Sequence[Example], scorer: Callable[[str], tuple[str, str]]) -> list:
    return [scorer(example.text) for example in examples]


@dataclass(frozen=True, slots=True)
class CategoryExample:
    text: str
    category: str  # one of categories.CATEGORIES, or "none" for a post that is no complaint
    kind: str


_DATA = Path(__file__).resolve().parents[2] / "tests" / "data"


def category_examples(data: Path = _DATA) -> dict[str, list[CategoryExample]]:
    """The two category sets: posts written and labelled by the team
    (`triage_categories.csv`), and negative Sanders posts labelled by the team, stored as the
    sha256 prefix of each text so the corpus's texts stay out of the repository
    (`triage_categories_sanders.csv`; empty when ../shared is absent)."""
    from firebreak.triage import corpora

    with (data / "triage_categories.csv").open(newline="", encoding="utf-8") as handle:
        ours = [
            CategoryExample(row["text"], row["category"], row["kind"])
            for row in csv.DictReader(handle)
        ]
    sanders: list[CategoryExample] = []
    if corpora.available():
        import hashlib

        split = corpora.sanders()
        texts = {
            hashlib.sha256(post.text.encode("utf-8")).hexdigest()[:12]: post.text
            for post in split.train + split.held_out
        }
        with (data / "triage_categories_sanders.csv").open(newline="", encoding="utf-8") as f:
            for row in csv.DictReader(f):
                text = texts[row["text_sha256_prefix"]]
                kind = row["kind"] if row["kind"] in ("complaint", "venting") else ""
                sanders.append(CategoryExample(text, row["category"], kind))
    return {"ours (written by the team)": ours, "Sanders negatives (labelled by the team)": sanders}
