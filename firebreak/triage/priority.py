"""How urgently a human should look at a post: what it says, who can hear it, and who says it."""

from __future__ import annotations

import math

from firebreak.triage.result import Kind

# What the post itself asks of us; praise needs no response however loud it is.
_KIND_CONCERN: dict[Kind, float] = {
    "complaint": 0.35,
    "venting": 0.25,
    "question": 0.10,
    "other": 0.05,
    "praise": 0.0,
}
_REACH_DECADES = 6.0  # a million followers counts as full reach
_HISTORY_FULL = 5  # this many earlier negative posts counts as a full repeat complainer


def reach_weight(reach: int) -> float:
    """0 for nobody, 1 for a million followers or more, log-scaled in between."""
    if reach <= 0:
        return 0.0
    return min(1.0, math.log10(1.0 + reach) / _REACH_DECADES)


def priority(kind: Kind, sentiment: float, *, harm: bool, reach: int, prior_negative: int) -> float:
    concern = _KIND_CONCERN[kind] + 0.2 * max(0.0, -sentiment) + (0.5 if harm else 0.0)
    if concern <= 0.0:
        return 0.0
    history = min(1.0, prior_negative / _HISTORY_FULL)
    amplification = 1.0 + reach_weight(reach) + 0.5 * history
    return round(min(1.0, concern * amplification), 3)
