"""A dry run of ingestion's detection: the alerts a stream would raise, with nothing stored.

`firebreak detect` must alert exactly where `firebreak replay` (or the API) would open or
escalate incidents, so it goes through ingestion's own steps rather than a copy of them: the
`Preparer` (validated fields, triage: label, kind, priority, sentiment), the same
de-duplication by (source, source_id), and the same per-batch time ordering
(`detection_order`). Only the store is missing: it starts empty, as for a first replay.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from firebreak.detection.engine import Alert, DetectionEngine
from firebreak.detection.spec import Trigger
from firebreak.signals.ingest import detection_order, first_seen
from firebreak.signals.parsing import FileFormat, read_file
from firebreak.signals.prepare import Preparer, TriagePort, default_triager
from firebreak.signals.schema import SignalIn

# `firebreak replay` sends batches of this many signals by default; each batch is put in time
# order before detection, so a dry run in the same batches sees the same order.
REPLAY_BATCH = 1000


class DryRun:
    """Feed batches of validated signals; get the alerts ingestion would raise on them."""

    def __init__(
        self, triggers: Mapping[str, Trigger], *, triager: TriagePort | bool | None = True
    ) -> None:
        self.engine = DetectionEngine(triggers)
        self.preparer = Preparer(default_triager() if triager is True else triager or None)
        # Keys already "stored": a duplicate later in the file is dropped, as ingestion drops
        # one already in the database.
        self._seen: set[tuple[str, str]] = set()
        self.duplicates = 0

    def feed(self, signals: Sequence[SignalIn]) -> list[Alert]:
        rows: list[dict[str, Any]] = self.preparer.rows(signals)
        fresh = first_seen(rows, self._seen)
        self.duplicates += len(rows) - len(fresh)
        if not fresh:
            return []
        return self.engine.feed(detection_order(fresh))


def file_alerts(
    path: Path,
    fmt: FileFormat | None,
    run: DryRun,
    *,
    batch: int = REPLAY_BATCH,
    on_skip: Callable[[int, str], object] | None = None,
    on_disorder: Callable[[int], object] | None = None,
    **options: Any,
) -> Iterator[Alert]:
    """The alerts `run` raises on a file read as `firebreak replay` reads it (`options`: columns,
    source, channel), in batches of `batch`. `on_skip(line, reason)` hears each invalid row,
    `on_disorder(line)` each row earlier than the one before it. Raises `FileFormatError`."""
    pending: list[SignalIn] = []
    previous = None
    for row in read_file(path, fmt, **options):
        if row.signal is None:
            if on_skip is not None:
                on_skip(row.line, row.reason or "invalid")
            continue
        created = row.signal.created_at
        if previous is not None and created < previous and on_disorder is not None:
            on_disorder(row.line)
        previous = created
        pending.append(row.signal)
        if len(pending) >= batch:
            yield from run.feed(pending)
            pending.clear()
    yield from run.feed(pending)
