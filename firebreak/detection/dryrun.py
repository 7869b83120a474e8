"""A dry run of ingestion's detection: the alerts a stream would raise, with nothing stored.

`firebreak detect` must alert exactly where `firebreak replay` (or the API) would open or
escalate incidents, so it goes through ingestion's own steps rather than a copy of them: the
`Preparer` (validated fields, triage: label, kind, priority, sentiment), the same
de-duplication by (source, source_id), and the same per-batch time ordering
(`detection_order`). Only the store is missing: it starts empty, as for a first replay.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from firebreak.detection.engine import Alert, DetectionEngine
from firebreak.detection.spec import Trigger
from firebreak.signals.ingest import detection_order, first_seen
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
