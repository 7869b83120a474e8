"""Offline training of the learned scorer (`model.py`): features from the lexicon's own pass,
a multinomial logistic regression from scikit-learn (a training-time dependency only: the
`train` extra), weights written as `model.json` with a provenance record beside it.

Run through `bench/triage_train.py`; it is deterministic (fixed seeds, sorted vocabulary)."""

from __future__ import annotations

import json
import platform
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from firebreak.triage import corpora
from firebreak.triage.evaluation import evaluate
from firebreak.triage.model import CLASSES, CUE_NAMES, LinearModel, decide, word_keys
from firebreak.triage.scorer import Triager

SEED = 13


@dataclass(frozen=True, slots=True)
class Config:
    """Every choice the training makes, recorded in the provenance file."""

    c: float = 0.5  # inverse L2 strength
    min_count: int = 2  # a word or pair seen in fewer training posts is dropped
    team_weight: float = 2.0  # each of our own posts counts this many times
    class_weight: str | None = "balanced"
    cue_scale: float = 3.0  # cue columns are multiplied by this, so L2 shrinks them less
    decimals: int = 3
    margin_cost: float = 0.02  # macro-F1 the negative margin may cost on any training corpus
    max_margin: float = 2.0

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Featurised:
    keys: list[list[str]]
    keys_tokens: list[list[str]]
    cues: np.ndarray
    labels: np.ndarray


def featurise(posts: Sequence[corpora.Post]) -> Featurised:
    lexicon = Triager(model=None)
    keys, tokens, cues = [], [], []
    for post in posts:
        reading = lexicon.read(post.text)
        keys.append(word_keys(reading.tokens))
        tokens.append(reading.tokens)
        cues.append(reading.cues)
    labels = np.array([CLASSES.index(p.label) for p in posts])
    return Featurised(keys, tokens, np.array(cues, dtype=float), labels)


def _vocabulary(keys: list[list[str]], min_count: int) -> dict[str, int]:
    counts = Counter(key for post in keys for key in set(post))
    kept = sorted(key for key, n in counts.items() if n >= min_count)
    return {key: i for i, key in enumerate(kept)}


def _matrix(data: Featurised, vocab: dict[str, int], config: Config) -> sparse.csr_matrix:
    rows, cols = [], []
    for i, post in enumerate(data.keys):
        for col in {vocab[k] for k in post if k in vocab}:
            rows.append(i)
            cols.append(col)
    words = sparse.csr_matrix(
        (np.ones(len(rows)), (rows, cols)), shape=(len(data.keys), len(vocab))
    )
    return sparse.hstack([words, sparse.csr_matrix(data.cues * config.cue_scale)]).tocsr()


def fit(data: Featurised, weights: np.ndarray, config: Config) -> dict[str, Any]:
    """Train on `data`; return the model as `model.json` holds it."""
    vocab = _vocabulary(data.keys, config.min_count)
    x = _matrix(data, vocab, config)
    classifier = LogisticRegression(
        C=config.c,
        class_weight=config.class_weight,
        max_iter=5000,
        random_state=SEED,
    )
    classifier.fit(x, data.labels, sample_weight=weights)
    coef = classifier.coef_  # rows in label order: negative, neutral, positive
    relative = np.stack([coef[0] - coef[1], coef[2] - coef[1]])
    bias = classifier.intercept_
    d = config.decimals
    words = {}
    for key, col in vocab.items():
        a, b = round(float(relative[0, col]), d), round(float(relative[1, col]), d)
        if a or b:
            words[key] = [a, b]
    offset = len(vocab)
    cues = {
        name: [
            round(float(relative[0, offset + i]) * config.cue_scale, 5),
            round(float(relative[1, offset + i]) * config.cue_scale, 5),
        ]
        for i, name in enumerate(CUE_NAMES)
    }
    return {
        "classes": list(CLASSES),
        "cues": cues,
        "bias": [round(float(bias[0] - bias[1]), 5), round(float(bias[2] - bias[1]), 5)],
        "words": words,
    }


def predict(model: LinearModel, texts: Sequence[str]) -> list[str]:
    triager = Triager(model=model)
    return [triager.score(text).label for text in texts]


def cross_validate(
    posts: Sequence[corpora.Post], weights: np.ndarray, config: Config, folds: int = 5
) -> list[complex]:
    """Out-of-fold logits for the training posts (for choosing the negative margin, never
    held-out data). Folds are stratified by source and label."""
    data = featurise(posts)
    strata = [f"{p.source}/{p.label}" for p in posts]
    logits = [0j] * len(posts)
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for train_at, test_at in splitter.split(np.zeros(len(posts)), strata):
        part = Featurised(
            [data.keys[i] for i in train_at],
            [data.keys_tokens[i] for i in train_at],
            data.cues[train_at],
            data.labels[train_at],
        )
        model = LinearModel(fit(part, weights[train_at], config))
        for i in test_at:
            logits[i] = model.logit(data.keys_tokens[i], tuple(data.cues[i]))
    return logits


def labels_at(logits: Sequence[complex], margin: float) -> list[str]:
    return [decide(logit, margin) for logit in logits]


def choose_margin(
    posts: Sequence[corpora.Post], logits: Sequence[complex], config: Config
) -> float:
    """The largest margin (steps of 0.05, up to `config.max_margin`) whose out-of-fold macro-F1
    stays within `config.margin_cost` of the unbiased model's on every training corpus: negative
    recall bought with at most that much of the rest."""
    sources = sorted({p.source for p in posts})
    gold = [p.label for p in posts]

    def macro_f1(margin: float) -> list[float]:
        predicted = labels_at(logits, margin)
        scores = []
        for source in sources:
            at = [i for i, p in enumerate(posts) if p.source == source]
            report = evaluate([gold[i] for i in at], [predicted[i] for i in at], CLASSES)
            scores.append(report.macro_f1)
        return scores

    base = macro_f1(0.0)
    chosen, margin = 0.0, 0.05
    while margin <= config.max_margin:
        if any(b - s > config.margin_cost for b, s in zip(base, macro_f1(margin), strict=True)):
            break
        chosen, margin = margin, round(margin + 0.05, 2)
    return chosen


def training_posts() -> tuple[list[corpora.Post], list[corpora.Split]]:
    splits = [corpora.tweeteval(), corpora.sanders(), corpora.team()]
    return [post for split in splits for post in split.train], splits


def sample_weights(posts: Sequence[corpora.Post], config: Config) -> np.ndarray:
    return np.array([config.team_weight if p.source == "team" else 1.0 for p in posts])


def provenance(
    splits: Sequence[corpora.Split], config: Config, model: dict[str, Any], figures: dict
) -> dict[str, Any]:
    import sklearn

    return {
        "trainer": "bench/triage_train.py (firebreak/triage/training.py)",
        "config": config.as_dict(),
        "seed": SEED,
        "data": [
            {
                "file": _shown(path),
                "sha256": corpora.sha256(path),
                "train_rows": len(split.train),
                "held_out_rows": len(split.held_out),
            }
            for split in splits
            for path in split.files
        ],
        "splits": {
            "tweeteval": "split column: val trains, test is held out",
            "sanders": (
                f"sha256(brand|created_at|text) in the lowest {corpora.SANDERS_HELD_OUT:.0%} "
                "is held out"
            ),
            "team": "tests/data/triage_eval_dev.csv trains, triage_eval_heldout.csv is held out",
        },
        "features": {"words_and_pairs": len(model["words"]), "cues": list(CUE_NAMES)},
        "figures": figures,
        "versions": {"python": platform.python_version(), "scikit-learn": sklearn.__version__},
    }


def _shown(path: Path) -> str:
    """A data file's path as the repository sees it (`tests/data/...`, `../shared/...`), so the
    record does not depend on where the checkout lives."""
    if path.is_relative_to(corpora.ROOT):
        return str(path.relative_to(corpora.ROOT))
    if path.is_relative_to(corpora.ROOT.parent):
        return f"../{path.relative_to(corpora.ROOT.parent)}"
    return str(path)


def write(model: dict[str, Any], record: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    weights = folder / "model.json"
    weights.write_text(json.dumps(model, separators=(",", ":"), sort_keys=True) + "\n")
    meta = folder / "model.provenance.json"
    meta.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return weights, meta
