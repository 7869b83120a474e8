"""The outcome of scoring one text: what ingestion stores and detection filters on."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

Label = Literal["negative", "neutral", "positive"]
Kind = Literal["complaint", "venting", "praise", "question", "other"]

LABELS: tuple[Label, ...] = ("negative", "neutral", "positive")
KINDS: tuple[Kind, ...] = ("complaint", "venting", "praise", "question", "other")


class TriageResult(NamedTuple):
    """Immutable; a NamedTuple because one is built per ingested post."""

    sentiment: float  # in [-1, 1]
    label: Label
    kind: Kind
    priority: float  # in [0, 1]
    # what a complaint or venting post is about (see categories.py); None for the other kinds
    category: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return self._asdict()
