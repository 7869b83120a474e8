"""The learned half of the scorer: a multinomial logistic model over a post's words and word
pairs plus the cue features the lexicon computes (see `scorer.Reading.cues`). Trained offline by
`bench/triage_train.py`; the weights ship as `model.json` beside this file and are read once per
process. Inference is pure Python: one dict lookup per word and per word pair.

Each weight is stored relative to the neutral class, as a complex number (real part: negative
minus neutral; imaginary part: positive minus neutral), so scoring a post is one `sum()` of
complex numbers instead of three sums; softmax is unchanged by the shift."""

from __future__ import annotations

import json
import math
from functools import cache
from importlib import resources
from itertools import pairwise
from operator import mul
from typing import Any

from firebreak.triage.result import Label

# Names of the lexicon's cue features, in the order `Reading.cues` lists them.
CUE_NAMES: tuple[str, ...] = (
    "lexicon_sentiment",
    "positive_valence",
    "negative_valence",
    "complaint",
    "venting",
    "praise",
    "sarcasm",
    "harm",
    "question",
    "exclamation",
    "resolved",
    "asks_info",
)
CLASSES = ("negative", "neutral", "positive")
MODEL_FILE = "model.json"


def word_keys(tokens: list[str]) -> list[str]:
    """The sparse features of a post: its tokens and its adjacent token pairs."""
    return [*tokens, *map(" ".join, pairwise(tokens))]


class LinearModel:
    def __init__(self, data: dict[str, Any]) -> None:
        # the file is written with sorted keys: compare the cue names as a set
        if tuple(data["classes"]) != CLASSES or set(data["cues"]) != set(CUE_NAMES):
            raise ValueError("model.json was trained for other classes or cue features")
        self.bias = complex(*data["bias"])
        self.cue_weights = tuple(complex(*data["cues"][name]) for name in CUE_NAMES)
        self.words = {key: complex(a, b) for key, (a, b) in data["words"].items()}
        # Added to the negative logit when deciding the label: a missed complaint costs more than
        # a false alarm, so training picks the margin at which out-of-fold negative recall on the
        # training parts reaches its target (see training.choose_margin).
        self.negative_margin = float(data.get("negative_margin", 0.0))
        self.meta = {k: v for k, v in data.items() if k not in ("words", "cues", "bias")}

    def logit(self, tokens: list[str], cues: tuple[float, ...]) -> complex:
        get = self.words.get
        pairs = map(" ".join, pairwise(tokens))
        return (
            self.bias
            + sum(map(mul, self.cue_weights, cues))
            + sum(filter(None, map(get, tokens)))
            + sum(filter(None, map(get, pairs)))
        )

    def label(self, logit: complex) -> Label:
        return decide(logit, self.negative_margin)


def decide(logit: complex, negative_margin: float = 0.0) -> Label:
    """The label of a post from its neutral-relative logits, negative favoured by the margin."""
    negative = logit.real + negative_margin
    if negative > 0.0 and negative >= logit.imag:
        return "negative"
    return "positive" if logit.imag > 0.0 else "neutral"


def probabilities(logit: complex) -> tuple[float, float, float]:
    """(negative, neutral, positive) from the neutral-relative logits."""
    top = max(logit.real, logit.imag, 0.0)
    neg, neu, pos = math.exp(logit.real - top), math.exp(-top), math.exp(logit.imag - top)
    total = neg + neu + pos
    return neg / total, neu / total, pos / total


@cache
def shipped_model() -> LinearModel | None:
    """The weights in the package, loaded once per process; None if the file is absent."""
    try:
        text = resources.files("firebreak.triage").joinpath(MODEL_FILE).read_text("utf-8")
    except FileNotFoundError:
        return None
    return LinearModel(json.loads(text))
