"""The expected volume for a time of day: a level times a daily-rhythm index.

A multiplicative Holt-Winters baseline without trend: the level is an EWMA over the trigger's
`baseline` horizon, the index of each hour-of-day slot an EWMA over several days. Inputs are
clipped at `clip` times the expectation first, so a crisis cannot drag the baseline up to meet it
(a lasting change of level is still learned, at most `clip`-fold per update).
"""

from __future__ import annotations

import math

SLOTS_PER_DAY = 24
RHYTHM_DAYS = 7.0
CLIP = 2.0


class SeasonalBaseline:
    """Expected window count at a given time; fed one observation per closed bucket."""

    __slots__ = (
        "_alpha",
        "_gamma",
        "_index",
        "_slot_seconds",
        "clip",
        "horizon_seconds",
        "level",
        "seen_seconds",
        "step_seconds",
    )

    def __init__(
        self,
        horizon_seconds: float,
        step_seconds: float,
        *,
        slots: int = SLOTS_PER_DAY,
        rhythm_days: float = RHYTHM_DAYS,
        clip: float = CLIP,
    ) -> None:
        self.horizon_seconds = horizon_seconds
        self.step_seconds = step_seconds
        self._alpha = 1.0 - math.exp(-step_seconds / horizon_seconds)
        self._slot_seconds = 86400.0 / slots
        updates_per_slot = max(1.0, rhythm_days * self._slot_seconds / step_seconds)
        self._gamma = 1.0 / updates_per_slot
        self._index = [1.0] * slots
        self.clip = clip
        self.level: float | None = None
        self.seen_seconds = 0.0

    @property
    def ready(self) -> bool:
        """True once a full horizon has been seen: before that nothing is compared with it."""
        return self.seen_seconds >= self.horizon_seconds

    def _slot(self, timestamp: float) -> int:
        return int(timestamp % 86400.0 // self._slot_seconds)

    def expected(self, timestamp: float) -> float:
        if self.level is None:
            return 0.0
        return self.level * self._index[self._slot(timestamp)]

    def update(self, timestamp: float, observed: float) -> None:
        """Learn from the window count `observed` for the window ending at `timestamp`."""
        slot = self._slot(timestamp)
        index = self._index[slot]
        level = self.level
        self.seen_seconds += self.step_seconds
        if level is None:
            self.level = observed
            return
        expected = level * index
        if expected > 0 and observed > self.clip * expected:
            observed = self.clip * expected
        # Until a horizon is seen the level is a running mean, so the first hours don't dominate.
        alpha = max(self._alpha, self.step_seconds / self.seen_seconds)
        level += alpha * (observed / index - level)
        self.level = level
        if level > 1e-9:
            index += self._gamma * (observed / level - index)
            self._index[slot] = min(max(index, 0.05), 20.0)
