"""One live rule of a trigger for one scope: its window sums, its test, and its persistence streak.

`update` is called for every matching signal and does O(1) amortised work.
"""

from __future__ import annotations

import math

from firebreak.detection.baseline import SeasonalBaseline
from firebreak.detection.spec import (
    BurstRule,
    NegativeShareRule,
    ReachRule,
    SpikeRule,
    ThresholdRule,
)
from firebreak.detection.windows import BUCKETS_PER_WINDOW, WindowSums


class LiveRule:
    """Base: a window over `within`, a test on it, and the run of consecutive buckets above."""

    name = "rule"
    __slots__ = ("cooldown", "last_above", "persist", "streak", "sums")

    def __init__(self, within_seconds: float, buckets: int = BUCKETS_PER_WINDOW) -> None:
        self.sums = WindowSums(within_seconds, buckets)
        self.streak = 0
        self.last_above: int | None = None
        self.persist: int | None = None
        """Consecutive buckets above before firing; None: the trigger's `persist`."""
        self.cooldown: float | None = None
        """Seconds since the scope's last alert before this rule may fire; None: the trigger's."""

    def update(self, timestamp: float, weight: float, reach: float, negative: bool) -> bool:
        """Count the signal; True when the rule is above its line after it."""
        sums = self.sums
        index = int(timestamp // sums.bucket_seconds)
        if sums.head is None or index > sums.head:
            sums.advance(index)
        sums.add(index, weight, reach, negative)
        return self.above(timestamp)

    def persisted(self, above: bool) -> int:
        """Consecutive buckets (ending with the current one) in which the rule was seen above."""
        if not above:
            self.streak = 0
            self.last_above = None
            return 0
        head = self.sums.head
        if self.last_above != head:
            self.streak = self.streak + 1 if self.last_above == head - 1 else 1
            self.last_above = head
        return self.streak

    def above(self, timestamp: float) -> bool:
        raise NotImplementedError

    def reading(self, timestamp: float) -> tuple[float, float]:
        """(value, baseline): what crossed, and the line or expectation it is compared with."""
        raise NotImplementedError


class LiveThreshold(LiveRule):
    name = "threshold"
    __slots__ = ("limit",)

    def __init__(self, rule: ThresholdRule) -> None:
        super().__init__(rule.within.total_seconds())
        self.limit = rule.count

    def above(self, timestamp: float) -> bool:
        return self.sums.count >= self.limit

    def reading(self, timestamp: float) -> tuple[float, float]:
        return self.sums.count, self.limit


class LiveReach(LiveRule):
    name = "reach"
    __slots__ = ("limit",)

    def __init__(self, rule: ReachRule) -> None:
        super().__init__(rule.within.total_seconds())
        self.limit = rule.total

    def above(self, timestamp: float) -> bool:
        return self.sums.reach >= self.limit

    def reading(self, timestamp: float) -> tuple[float, float]:
        return self.sums.reach, self.limit


class LiveNegativeShare(LiveRule):
    name = "negative_share"
    __slots__ = ("min_count", "share")

    def __init__(self, rule: NegativeShareRule) -> None:
        super().__init__(rule.within.total_seconds())
        self.share = rule.share
        self.min_count = rule.min_count

    def above(self, timestamp: float) -> bool:
        sums = self.sums
        return sums.count >= self.min_count and sums.negatives >= self.share * sums.count

    def reading(self, timestamp: float) -> tuple[float, float]:
        return self.sums.negative_share, self.share


# Added to both sides of the log ratio so that 3 mentions against an expected 1 is not a "3x".
PSEUDO_COUNT = 10.0
# The usual deviation learns over about this many closed buckets, clipped like the baseline.
DEVIATION_MEMORY = 500.0
DEVIATION_CLIP = 3.0


class LiveSpike(LiveRule):
    """Window count at least `factor` times the seasonal baseline, at least `deviations` usual
    deviations above it (log scale), and at least `min_count`; or, with `sustained`, a lasting
    moderate excess whose CUSUM (in usual deviations, less `slack` per bucket) reaches it."""

    name = "spike"
    __slots__ = (
        "baseline",
        "deviation",
        "deviations",
        "excess",
        "factor",
        "min_count",
        "slack",
        "sustained",
    )

    def __init__(self, rule: SpikeRule | BurstRule) -> None:
        burst = isinstance(rule, BurstRule)
        super().__init__(rule.within.total_seconds(), rule.buckets if burst else BUCKETS_PER_WINDOW)
        self.factor = rule.factor
        self.min_count = rule.min_count
        self.deviations = rule.deviations
        self.deviation: float | None = None
        self.sustained = 0.0 if isinstance(rule, BurstRule) else rule.sustained
        self.slack = 1.0 if isinstance(rule, BurstRule) else rule.slack
        if isinstance(rule, BurstRule):
            self.persist = rule.persist
            if rule.cooldown is not None:
                self.cooldown = rule.cooldown.total_seconds()
        self.excess = 0.0
        self.baseline = SeasonalBaseline(
            rule.baseline.total_seconds(), step_seconds=self.sums.bucket_seconds
        )

    def _closed(self, bucket: int, count: float) -> None:
        end = (bucket + 1) * self.sums.bucket_seconds
        baseline = self.baseline
        if baseline.ready:
            signed = math.log((count + PSEUDO_COUNT) / (baseline.expected(end) + PSEUDO_COUNT))
            strays = abs(signed)
            usual = self.deviation
            if usual is None:
                self.deviation = strays
            else:
                if self.sustained and usual > 0:
                    # CUSUM of the excess in usual deviations: a rise too small for the spike
                    # line still adds up while it lasts; noise (under `slack`) drains it away.
                    self.excess = max(0.0, self.excess + signed / usual - self.slack)
                strays = min(strays, DEVIATION_CLIP * usual)
                self.deviation = usual + (strays - usual) / DEVIATION_MEMORY
        baseline.update(end, count)

    def update(self, timestamp: float, weight: float, reach: float, negative: bool) -> bool:
        sums = self.sums
        index = int(timestamp // sums.bucket_seconds)
        if sums.head is None or index > sums.head:
            sums.advance(index, self._closed)
        sums.add(index, weight, reach, negative)
        return self.above(timestamp)

    def above(self, timestamp: float) -> bool:
        count = self.sums.count
        if count < self.min_count or not self.baseline.ready:
            return False
        expected = self.baseline.expected(timestamp)
        if self.sustained and self.excess >= self.sustained and count > expected:
            return True
        if count < self.factor * expected:
            return False
        if self.deviations <= 0:
            return True
        usual = self.deviation
        if not usual:
            return False
        strays = math.log((count + PSEUDO_COUNT) / (expected + PSEUDO_COUNT))
        return strays >= self.deviations * usual

    def reading(self, timestamp: float) -> tuple[float, float]:
        return self.sums.count, self.baseline.expected(timestamp)


class LiveBurst(LiveSpike):
    """The spike test on a short window with its own persistence (see `BurstRule`)."""

    name = "burst"
    __slots__ = ()


def live_rules(rules: dict[str, object]) -> list[LiveRule]:
    """Fresh live state for a trigger's rules (one set per scope)."""
    makers = {
        "threshold": LiveThreshold,
        "spike": LiveSpike,
        "burst": LiveBurst,
        "reach": LiveReach,
        "negative_share": LiveNegativeShare,
    }
    return [makers[name](rule) for name, rule in rules.items()]
