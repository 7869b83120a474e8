"""Sliding-window sums kept as a ring of time buckets: O(1) amortised work per signal.

The window ending now covers the current (partial) bucket and the `buckets - 1` before it, so it
spans between `within - bucket` and `within`: precision is one bucket (`within / buckets`).
"""

from __future__ import annotations

from collections.abc import Callable

BUCKETS_PER_WINDOW = 12
# Float sums drift when amounts are added and expired millions of times; a periodic exact
# re-sum (once per ring turn, so still O(1) amortised) keeps them honest.
_RESUM_EVERY = 1


class WindowSums:
    """Weighted count, reach and negative count of the signals in a sliding window."""

    __slots__ = (
        "_counts",
        "_negatives",
        "_reaches",
        "_turns",
        "bucket_seconds",
        "count",
        "head",
        "negatives",
        "reach",
        "size",
    )

    def __init__(self, within_seconds: float, buckets: int = BUCKETS_PER_WINDOW) -> None:
        self.size = buckets
        self.bucket_seconds = within_seconds / buckets
        self._counts = [0.0] * buckets
        self._reaches = [0.0] * buckets
        self._negatives = [0.0] * buckets
        self.count = 0.0
        self.reach = 0.0
        self.negatives = 0.0
        self.head: int | None = None
        self._turns = 0

    def bucket_of(self, timestamp: float) -> int:
        return int(timestamp // self.bucket_seconds)

    def advance(self, index: int, on_close: Callable[[int, float], None] | None = None) -> int:
        """Move the window's end to bucket `index`; returns how many buckets closed.

        `on_close(bucket, count)` hears the window count as each bucket closes (at most one
        ring's worth: after that the window is empty and the rest carry no signal).
        """
        head = self.head
        if head is None:
            self.head = index
            return 0
        steps = index - head
        if steps <= 0:
            return 0
        size = self.size
        counts, reaches, negatives = self._counts, self._reaches, self._negatives
        for step in range(min(steps, size)):
            if on_close is not None:
                on_close(head + step, self.count)
            slot = (head + step + 1) % size
            self.count -= counts[slot]
            self.reach -= reaches[slot]
            self.negatives -= negatives[slot]
            counts[slot] = reaches[slot] = negatives[slot] = 0.0
        self.head = index
        self._turns += min(steps, size)
        if self._turns >= size * _RESUM_EVERY:
            self._turns = 0
            self.count, self.reach, self.negatives = sum(counts), sum(reaches), sum(negatives)
        return steps

    def add(self, index: int, weight: float, reach: float, negative: bool) -> None:
        """Count one signal in bucket `index` (late signals still inside the window count too)."""
        head = self.head
        if head is not None and index <= head - self.size:
            return
        slot = index % self.size
        self._counts[slot] += weight
        self.count += weight
        if reach:
            self._reaches[slot] += reach
            self.reach += reach
        if negative:
            self._negatives[slot] += weight
            self.negatives += weight

    @property
    def negative_share(self) -> float:
        return self.negatives / self.count if self.count > 0 else 0.0
