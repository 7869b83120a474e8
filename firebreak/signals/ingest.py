"""The ingestion pipeline: validate -> triage -> de-duplicate -> store -> detect -> incidents.

One `Ingestor` per process holds the detection state. A batch is stored in one transaction with
a Core executemany; incidents are opened (or escalated) in the same transaction, and the flow
launcher is called after the commit, only for incidents that are new.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Table, func, insert, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from firebreak.incidents import append_event, open_or_escalate
from firebreak.signals.parsing import ParsedBatch
from firebreak.signals.prepare import (
    PreparedBatch,
    Preparer,
    PrepareWorker,
    TriagePort,
    default_triager,
)
from firebreak.signals.schema import SignalIn
from firebreak.store.models import Incident, Signal

log = logging.getLogger(__name__)

SIGNAL_TABLE: Table = Signal.__table__  # type: ignore[attr-defined]
# Comfortably under every backend's bound-parameter limit (SQLite's default is 32766).
LOOKUP_CHUNK = 500
# The author history keeps at most 100,000 authors; this many recent posts refill it.
HISTORY_REBUILD_POSTS = 500_000
HISTORY_CHUNK = 10_000
NEGATIVE_KINDS = frozenset({"complaint", "venting"})  # what the triager counts against an author
# How far back the detectors' state reaches when none is declared by the engine.
DEFAULT_HORIZON = timedelta(days=8)
# Signals dated further ahead than this do not set the end of the detection horizon on restart.
FUTURE_TOLERANCE = timedelta(days=1)

IncidentCallback = Callable[[int], object]


class DetectionPort(Protocol):
    def feed(self, signals: Iterable[dict[str, Any]]) -> list[Any]: ...

    def rebuild(
        self,
        signals: Iterable[dict[str, Any]],
        last_alerts: Mapping[tuple[str, str], datetime] | None = None,
    ) -> Any: ...


@dataclass(slots=True)
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    alerts: int = 0
    incidents_opened: list[int] = field(default_factory=list)
    incidents_escalated: list[int] = field(default_factory=list)

    def add(self, other: IngestResult) -> None:
        self.accepted += other.accepted
        self.duplicates += other.duplicates
        self.rejected.extend(other.rejected)
        self.alerts += other.alerts
        self.incidents_opened.extend(other.incidents_opened)
        self.incidents_escalated.extend(
            i for i in other.incidents_escalated if i not in self.incidents_escalated
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "alerts": self.alerts,
            "incidents_opened": self.incidents_opened,
            "incidents_escalated": self.incidents_escalated,
        }


# -- seams to the parts built alongside: triage, detection, playbooks ----------------------------


def load_triggers(playbooks_dir: Path) -> dict[str, Any]:
    """Playbook name -> its trigger, for every valid playbook that has one.

    An invalid playbook is skipped with a warning: one bad file must not stop ingestion.
    """
    try:
        from firebreak.playbook.catalog import available
        from firebreak.playbook.loader import load_playbook
    except ImportError:
        log.warning("firebreak.playbook is not available: no triggers, no detection")
        return {}
    triggers: dict[str, Any] = {}
    for name in available(Path(playbooks_dir)):
        path = Path(playbooks_dir) / f"{name}.yaml"
        try:
            playbook = load_playbook(path)
        except Exception as exc:
            log.warning("Skipping playbook %s for detection: %s", path.name, exc)
            continue
        if getattr(playbook, "trigger", None) is not None:
            triggers[playbook.name] = playbook.trigger
    return triggers


def build_detection(triggers: Mapping[str, Any]) -> DetectionPort | None:
    if not triggers:
        return None
    try:
        from firebreak.detection.engine import DetectionEngine
    except ImportError:
        log.warning("firebreak.detection.DetectionEngine is not available: no detection")
        return None
    engine: DetectionPort = DetectionEngine(dict(triggers))
    return engine


# -- the pipeline --------------------------------------------------------------------------------


class Ingestor:
    def __init__(
        self,
        engine: Engine,
        detection: DetectionPort | None = None,
        on_incident_opened: IncidentCallback | None = None,
        *,
        triager: TriagePort | bool | None = True,
        worker: bool = False,
    ) -> None:
        self.engine = engine
        self.detection = detection
        self.on_incident_opened = on_incident_opened
        # `True` means "the real one"; tests of storage alone may pass None.
        self.preparer = Preparer(default_triager() if triager is True else triager or None)
        # API bodies are parsed and triaged in a worker process when asked (see prepare.py); the
        # worker has its own triager, so one Ingestor must use one or the other for bodies.
        self._worker = (
            PrepareWorker(self.preparer, on_fallback=self.rebuild_history)
            if worker and triager is True
            else None
        )
        # One batch at a time: the detectors' state and the duplicate check assume it.
        self._lock = threading.Lock()
        self._insert = _inserter(engine)

    def start(self) -> None:
        """Start the worker process, if any, before the first batch arrives."""
        if self._worker is not None:
            self._worker.start()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()

    # Entry points ----------------------------------------------------------------------------

    def ingest_body(self, body: bytes, content_type: str | None = None) -> IngestResult:
        """Parse and ingest an API body; raises `BodyError` when the body as a whole is unusable."""
        preparer = self._worker or self.preparer
        return self._ingest_prepared(preparer.body(body, content_type))

    def ingest_batch(self, batch: ParsedBatch) -> IngestResult:
        prepared = PreparedBatch(
            rows=self.preparer.rows([s for _, s in batch.signals]),
            rejected=[r.as_dict() for r in batch.rejected],
        )
        return self._ingest_prepared(prepared)

    def ingest(self, signals: Sequence[SignalIn]) -> IngestResult:
        return self._ingest_prepared(PreparedBatch(rows=self.preparer.rows(signals)))

    def _ingest_prepared(self, prepared: PreparedBatch) -> IngestResult:
        with self._lock:
            result, opened = self._store_and_detect(prepared.rows)
        result.rejected = prepared.rejected
        self._launch(opened)
        return result

    def restore(self) -> tuple[int, int]:
        """After a (re)start: the detectors and the triager's author history from the store.
        Returns (signals replayed into detection, posts replayed into the author history)."""
        return self.rebuild_detection(), self.rebuild_history()

    def rebuild_history(self, limit: int = HISTORY_REBUILD_POSTS) -> int:
        """Replay the latest stored posts' authors into triage, so repeat complainers stay known.
        Streamed in chunks, oldest first: a restart on a large store stays within flat memory."""
        cols = SIGNAL_TABLE.c
        posts = select(cols.id).where(cols.author.is_not(None))
        seeder = self._worker or self.preparer
        seeded = 0
        with self.engine.connect() as conn:
            first = conn.execute(posts.order_by(cols.id.desc()).offset(limit - 1).limit(1)).scalar()
            query = (
                select(cols.author, cols.kind)
                .where(cols.author.is_not(None), cols.id >= (first or 0))
                .order_by(cols.id)
            )
            rows = conn.execution_options(yield_per=HISTORY_CHUNK).execute(query)
            for chunk in rows.partitions():
                seeded += seeder.seed_history(
                    [(author, kind in NEGATIVE_KINDS) for author, kind in chunk]
                )
        return seeded

    def rebuild_detection(self) -> int:
        """Restore the detectors from stored signals within their horizon; returns how many."""
        if self.detection is None:
            return 0
        horizon = getattr(self.detection, "horizon", None) or DEFAULT_HORIZON
        # The horizon ends at the newest signal, but not past tomorrow: one future-dated signal
        # (a sender's clock, a typo'd year) must not push every real one out of the window.
        ceiling = datetime.now(UTC) + FUTURE_TOLERANCE
        with self.engine.connect() as conn:
            latest = conn.execute(
                select(func.max(SIGNAL_TABLE.c.created_at)).where(
                    SIGNAL_TABLE.c.created_at <= ceiling
                )
            ).scalar()
        if latest is None:
            return 0
        count = 0

        # The rows as ingestion hands them to detection: every column but the id.
        names = [c.name for c in SIGNAL_TABLE.columns if c.name != "id"]
        cols = SIGNAL_TABLE.c

        def stored() -> Iterator[dict[str, Any]]:
            nonlocal count
            since = latest - horizon
            query = (
                select(*(cols[n] for n in names))
                .where(cols.created_at >= since, cols.created_at <= ceiling)
                .order_by(cols.created_at, cols.id)
            )
            with self.engine.connect() as conn:
                if conn.dialect.name == "sqlite":
                    # The driver's rows as stored, dates parsed here: SQLAlchemy's per-column
                    # result processing cost more than the detectors themselves.
                    rows: Iterable[Any] = conn.exec_driver_sql(
                        f"SELECT {', '.join(names)} FROM {SIGNAL_TABLE.name} "
                        "WHERE created_at >= ? AND created_at <= ? ORDER BY created_at, id",
                        (_sqlite_datetime(since), _sqlite_datetime(ceiling)),
                    )
                    parse = _from_sqlite
                else:
                    rows = conn.execution_options(yield_per=5000).execute(query).tuples()
                    parse = _utc
                for values in rows:
                    count += 1
                    row = dict(zip(names, values, strict=True))
                    row["created_at"] = parse(row["created_at"])
                    row["received_at"] = parse(row["received_at"])
                    yield row

        self.detection.rebuild(stored(), last_alerts=self._last_detections())
        return count

    def _last_detections(self) -> dict[tuple[str, str], datetime]:
        """(playbook, scope) -> when detection last opened an incident: cooldowns survive."""
        table: Table = Incident.__table__  # type: ignore[attr-defined]
        query = (
            select(table.c.playbook, table.c.scope, func.max(table.c.opened_at))
            .where(table.c.declared_by.is_(None))
            .group_by(table.c.playbook, table.c.scope)
        )
        with self.engine.connect() as conn:
            return {
                (playbook, scope): _utc(at) for playbook, scope, at in conn.execute(query) if at
            }

    # Steps -----------------------------------------------------------------------------------

    def _store_and_detect(self, rows: list[dict[str, Any]]) -> tuple[IngestResult, list[int]]:
        result = IngestResult()
        with self.engine.begin() as conn:
            fresh = _without_duplicates(conn, rows)
            result.duplicates = len(rows) - len(fresh)
            if fresh:
                self._insert(conn, fresh)
            result.accepted = len(fresh)
            alerts = self._detect(fresh)
            result.alerts = len(alerts)
            opened: list[int] = []
            if alerts:
                with Session(bind=conn) as session:
                    for alert in alerts:
                        incident, is_new = open_or_escalate(
                            session,
                            title=alert_title(alert),
                            playbook=str(alert.playbook),
                            scope=str(alert.scope),
                            severity=str(alert.severity),
                            trigger=alert_record(alert),
                            at=getattr(alert, "at", None),
                        )
                        assert incident.id is not None
                        if is_new:
                            opened.append(incident.id)
                        elif incident.id not in opened + result.incidents_escalated:
                            result.incidents_escalated.append(incident.id)
                    session.flush()
            result.incidents_opened = opened
        return result, opened

    def _detect(self, rows: list[dict[str, Any]]) -> list[Any]:
        if self.detection is None or not rows:
            return []
        return list(self.detection.feed(detection_order(rows)))

    def _launch(self, incident_ids: list[int]) -> None:
        if self.on_incident_opened is None:
            return
        for incident_id in incident_ids:
            try:
                self.on_incident_opened(incident_id)
            except Exception as exc:
                # The incident is open and stored; a failed launch is recorded, never lost.
                log.exception("Launching the playbook for incident %s failed", incident_id)
                with Session(self.engine) as session:
                    append_event(
                        session,
                        incident_id,
                        "playbook.launch_failed",
                        f"Playbook launch failed: {type(exc).__name__}: {exc}",
                    )
                    session.commit()


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; everything we store is UTC.
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _from_sqlite(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def detection_order(rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """A stored batch as detection sees it: in time order, times UTC-aware. `firebreak detect`
    feeds its dry run through here too, so it alerts exactly where ingestion would."""
    ordered = sorted(rows, key=lambda r: r["created_at"])
    return (_detection_view(r) for r in ordered)


def _detection_view(row: dict[str, Any]) -> dict[str, Any]:
    created = row["created_at"]
    if isinstance(created, datetime) and created.tzinfo is None:
        row = {**row, "created_at": _utc(created)}
    return row


def _without_duplicates(conn: Connection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop rows whose (source, source_id) is earlier in the batch or already stored."""
    seen: set[tuple[str, str]] = set()
    unique = first_seen(rows, seen)
    if not seen:
        return unique
    stored = _stored_keys(conn, seen)
    if not stored:
        return unique
    return [
        r for r in unique if r["source_id"] is None or (r["source"], r["source_id"]) not in stored
    ]


def first_seen(rows: list[dict[str, Any]], seen: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """The rows whose (source, source_id) is not in `seen` (nor earlier in `rows`), adding their
    keys to it; rows without a source id are always kept (nothing to de-duplicate them by)."""
    unique: list[dict[str, Any]] = []
    for row in rows:
        sid = row["source_id"]
        if sid is None:
            unique.append(row)
            continue
        key = (row["source"], sid)
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def _stored_keys(conn: Connection, keys: set[tuple[str, str]]) -> set[tuple[str, str]]:
    by_source: dict[str, list[str]] = defaultdict(list)
    for source, sid in keys:
        by_source[source].append(sid)
    found: set[tuple[str, str]] = set()
    cols = SIGNAL_TABLE.c
    for source, ids in by_source.items():
        for start in range(0, len(ids), LOOKUP_CHUNK):
            chunk = ids[start : start + LOOKUP_CHUNK]
            query = select(cols.source, cols.source_id).where(
                cols.source == source, cols.source_id.in_(chunk)
            )
            found.update((s, i) for s, i in conn.execute(query))
    return found


def _inserter(engine: Engine) -> Callable[[Connection, list[dict[str, Any]]], None]:
    """A bulk INSERT that skips a (source, source_id) another process stored meanwhile.

    On SQLite the rows go straight to the driver's executemany: SQLAlchemy's per-row parameter
    processing cost more than the insert itself (see bench/ingest_speed.py).
    """
    backend = engine.dialect.name
    if backend == "sqlite":
        names = [c.name for c in SIGNAL_TABLE.columns if c.name != "id"]
        sql = (
            f"INSERT OR IGNORE INTO {SIGNAL_TABLE.name} ({', '.join(names)}) "
            f"VALUES ({', '.join('?' * len(names))})"
        )
        values_of = itemgetter(*names)  # rows from `Preparer` carry every column
        created, received = names.index("created_at"), names.index("received_at")

        def insert_sqlite(conn: Connection, rows: list[dict[str, Any]]) -> None:
            params = []
            batch_received: Any = None
            received_text = ""
            for row in rows:
                values = list(values_of(row))
                values[created] = _sqlite_datetime(values[created])
                if values[received] is not batch_received:  # one datetime per batch
                    batch_received = values[received]
                    received_text = _sqlite_datetime(batch_received)
                values[received] = received_text
                params.append(tuple(values))
            conn.exec_driver_sql(sql, params)

        return insert_sqlite
    if backend == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(SIGNAL_TABLE).on_conflict_do_nothing(
            index_elements=[SIGNAL_TABLE.c.source, SIGNAL_TABLE.c.source_id]
        )
    else:
        statement = insert(SIGNAL_TABLE)

    def insert_core(conn: Connection, rows: list[dict[str, Any]]) -> None:
        conn.execute(statement, rows)

    return insert_core


def _sqlite_datetime(value: datetime) -> str:
    """SQLAlchemy's own SQLite storage format (naive UTC), so the ORM reads these rows back."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(" ", "microseconds")


# -- incidents from alerts -----------------------------------------------------------------------

RULE_TITLES = {
    "threshold": "Surge",
    "spike": "Spike",
    "reach": "High-reach wave",
    "negative_share": "Negative turn",
}


def alert_title(alert: Any) -> str:
    """`Spike on acme: 212 signals in 15 min (4.1x baseline)`: what a lead reads first."""
    window: Mapping[str, Any] = getattr(alert, "window", None) or {}
    rule = str(getattr(alert, "rule", "alert"))
    label = RULE_TITLES.get(rule, rule.replace("_", " ").capitalize())
    count = window.get("count", getattr(alert, "value", None))
    title = f"{label} on {alert.scope}"
    if isinstance(count, int | float):
        title += f": {count:g} signals"
    within = window.get("within")
    if isinstance(within, timedelta):
        within = within.total_seconds()
    if isinstance(within, int | float) and within > 0:
        title += f" in {_minutes(within)}"
    if rule == "negative_share" and isinstance(window.get("negative_share"), int | float):
        title += f" ({window['negative_share']:.0%} negative)"
    factor = window.get("factor")
    if rule == "spike" and isinstance(factor, int | float):
        title += f" ({factor:.1f}x baseline)"
    return title


def _minutes(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    return f"{seconds / 60:g} min"


def alert_record(alert: Any) -> dict[str, Any]:
    """The alert as JSON-safe data for the incident's `trigger` column and timeline."""
    record: dict[str, Any] = {}
    for name in ("rule", "value", "baseline", "at", "severity", "window"):
        record[name] = _jsonable(getattr(alert, name, None))
    return record


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)
