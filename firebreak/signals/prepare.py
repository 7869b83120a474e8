"""The CPU-bound half of ingestion: parse, validate and triage a batch into rows to store.

It needs no database, so the API runs it in one worker process (the machine's second core) while
the main process stores and detects the batch before: see `PrepareWorker`. One worker, never more:
the triager's author history must see every post, in order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from typing import Any, Protocol

from firebreak.lifeline import watch_parent
from firebreak.signals.parsing import parse_body
from firebreak.signals.schema import SignalIn
from firebreak.store.models import utcnow

log = logging.getLogger(__name__)

NEUTRAL_BAND = 0.05  # |sentiment| below this is neutral (VADER's convention)


class TriagePort(Protocol):
    def score(self, text: str, *, author: str | None = None, reach: int = 0) -> Any: ...


@dataclass(slots=True)
class PreparedBatch:
    rows: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)


def default_triager() -> TriagePort | None:
    try:
        from firebreak.triage import Triager
    except ImportError:
        log.warning("firebreak.triage is not available: signals are stored without triage")
        return None
    return Triager()


class Preparer:
    """Validated signals -> rows for the `signal` table, triaged (label, kind, priority,
    category)."""

    def __init__(self, triager: TriagePort | None) -> None:
        self.triager = triager

    def body(self, body: bytes, content_type: str | None = None) -> PreparedBatch:
        """An API body; raises `BodyError` when the body as a whole is unusable."""
        parsed = parse_body(body, content_type)
        return PreparedBatch(
            rows=self.rows([s for _, s in parsed.signals]),
            rejected=[r.as_dict() for r in parsed.rejected],
        )

    def rows(self, signals: Sequence[SignalIn]) -> list[dict[str, Any]]:
        now = utcnow()
        return [self._row(s, now) for s in signals]

    def seed_history(self, posts: Sequence[tuple[str, bool]]) -> int:
        """Replay stored (author, negative) posts, oldest first, into the triager's author
        history, so a restart does not forget who has been complaining."""
        history = getattr(self.triager, "history", None)
        if history is None:
            return 0
        for author, negative in posts:
            history.record(author, negative)
        return len(posts)

    def _row(self, signal: SignalIn, now: Any) -> dict[str, Any]:
        row = dict(signal.__dict__)  # the validated fields; a copy, cheaper than model_dump()
        row["received_at"] = now
        row["label"] = row["kind"] = row["priority"] = row["category"] = None
        given = signal.sentiment
        if self.triager is not None and signal.text:
            scored = self.triager.score(
                signal.text, author=signal.author, reach=signal.author_reach
            )
            row["kind"] = scored.kind
            row["priority"] = scored.priority
            row["category"] = scored.category
            # A sentiment sent by the client (its own model) wins over ours.
            row["sentiment"] = scored.sentiment if given is None else given
            row["label"] = scored.label if given is None else label_of(given)
        elif given is not None:
            row["label"] = label_of(given)
        return row


def label_of(sentiment: float) -> str:
    if sentiment <= -NEUTRAL_BAND:
        return "negative"
    if sentiment >= NEUTRAL_BAND:
        return "positive"
    return "neutral"


# -- the worker process ---------------------------------------------------------------------------

_worker_preparer: Preparer | None = None


def _start_worker() -> None:
    global _worker_preparer
    # The API may be SIGKILLed: the worker must not outlive it.
    watch_parent()
    _worker_preparer = Preparer(default_triager())


def _ready() -> bool:
    return True


def _seed_in_worker(posts: Sequence[tuple[str, bool]]) -> int:
    assert _worker_preparer is not None, "the worker was not initialised"
    return _worker_preparer.seed_history(posts)


def _prepare_in_worker(body: bytes, content_type: str | None) -> PreparedBatch:
    assert _worker_preparer is not None, "the worker was not initialised"
    return _worker_preparer.body(body, content_type)


class PrepareWorker:
    """Runs `Preparer.body` in one spawned worker process.

    Several API requests may wait on it at once; it prepares one batch while the caller stores
    the previous one. If the worker dies, batches are prepared in this process instead (logged
    once): a lost worker costs speed, never signals.
    """

    def __init__(
        self, fallback: Preparer, *, on_fallback: Callable[[], object] | None = None
    ) -> None:
        self._fallback = fallback
        # Called once when the worker dies: refill the fallback's author history (from the
        # store), rather than keeping a second copy of it up to date all along.
        self._on_fallback = on_fallback
        self._pool: ProcessPoolExecutor | None = None
        self._broken = False

    def start(self) -> None:
        """Start the worker now (it takes a second to import), rather than on the first batch."""
        if self._pool is None and not self._broken:
            # spawn, not fork: the API process has threads (uvicorn, Prefect), and a forked
            # child would inherit their locks.
            self._pool = ProcessPoolExecutor(
                max_workers=1, mp_context=get_context("spawn"), initializer=_start_worker
            )
            self._pool.submit(_ready)  # the process starts on the first task, not before

    def body(self, body: bytes, content_type: str | None = None) -> PreparedBatch:
        self.start()
        if self._pool is not None:
            try:
                return self._pool.submit(_prepare_in_worker, body, content_type).result()
            except BrokenProcessPool:
                log.error("The ingestion worker process died: preparing batches in-process")
                self._broken = True
                self._pool = None
                if self._on_fallback is not None:
                    self._on_fallback()
        return self._fallback.body(body, content_type)

    def seed_history(self, posts: Sequence[tuple[str, bool]]) -> int:
        """Seed the author history of whichever prepares the bodies: the worker, or the
        fallback once the worker is gone."""
        self.start()
        if self._pool is not None:
            try:
                return self._pool.submit(_seed_in_worker, posts).result()
            except BrokenProcessPool:
                pass  # the next body finds the pool broken, falls back and refills it
        return self._fallback.seed_history(posts)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
