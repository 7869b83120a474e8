"""Ingestion into a real SQLite store with the real detectors: one incident per burst and scope,
escalated (never duplicated), de-duplicated signals, and detection state surviving a restart."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from firebreak import incidents
from firebreak.detection.engine import DetectionEngine
from firebreak.signals.ingest import Ingestor
from firebreak.store.db import engine_for
from tests.signals.helpers import T0, burst, storm_trigger


@pytest.fixture
def db(tmp_path: Path) -> Engine:
    return engine_for(f"sqlite:///{tmp_path / 'fb.db'}")


def _ingestor(db: Engine, launched: list[int]) -> Ingestor:
    return Ingestor(db, DetectionEngine({"storm": storm_trigger()}), launched.append)


def _send(ingestor: Ingestor, items: list[dict[str, Any]]) -> Any:
    return ingestor.ingest_body(orjson.dumps(items), "application/json")


def test_burst_opens_exactly_one_incident_then_escalates(db: Engine) -> None:
    launched: list[int] = []
    ingestor = _ingestor(db, launched)
    quiet = _send(ingestor, burst(10))
    assert quiet.accepted == 10 and quiet.alerts == 0 and launched == []

    first = _send(ingestor, burst(40, prefix="a", start=T0 + timedelta(minutes=1)))
    assert len(first.incidents_opened) == 1 and launched == first.incidents_opened
    incident_id = first.incidents_opened[0]

    # Later, a wave from large accounts crosses again: same scope, graver, same incident.
    wave = burst(40, prefix="b", start=T0 + timedelta(minutes=40), reach=20_000)
    second = _send(ingestor, wave)
    assert second.alerts >= 1
    assert second.incidents_opened == [] and second.incidents_escalated == [incident_id]
    assert launched == [incident_id]  # the playbook is launched once

    with Session(db) as session:
        (incident,) = incidents.list_incidents(session)
        assert incident.severity == "sev1" and incident.scope == "acme"
        assert incident.title.startswith("Surge on acme: 20 signals in 15 min")
        kinds = [e.kind for e in incidents.timeline(session, incident_id)]
    assert kinds == ["incident.detected", "severity.raised"]


def test_scopes_are_separate_incidents(db: Engine) -> None:
    launched: list[int] = []
    ingestor = _ingestor(db, launched)
    result = _send(ingestor, burst(25, brand="acme") + burst(25, brand="globex", prefix="g"))
    assert len(result.incidents_opened) == 2 and len(launched) == 2


def test_duplicates_against_store_and_batch(db: Engine) -> None:
    ingestor = _ingestor(db, [])
    assert _send(ingestor, burst(5)).accepted == 5
    again = _send(ingestor, burst(7) + burst(2))
    assert (again.accepted, again.duplicates) == (2, 7)


def test_restart_neither_misses_nor_repeats(db: Engine) -> None:
    launched: list[int] = []
    before = _ingestor(db, launched)
    _send(before, burst(15))  # under the threshold
    after = _ingestor(db, launched)  # a new process: state rebuilt from the store
    assert after.rebuild_detection() == 15
    crossing = _send(after, burst(10, prefix="x", start=T0 + timedelta(seconds=80)))
    assert len(crossing.incidents_opened) == 1  # 15 stored + 10 new cross the 20 threshold

    again = _ingestor(db, launched)
    again.rebuild_detection()
    # Within the cooldown of the alert already raised: no new alert, no new incident.
    more = _send(again, burst(30, prefix="y", start=T0 + timedelta(minutes=3)))
    assert more.alerts == 0 and more.incidents_opened == []
    assert len(launched) == 1


def test_launch_failure_is_recorded_not_lost(db: Engine) -> None:
    def broken(_: int) -> None:
        raise RuntimeError("prefect is down")

    ingestor = Ingestor(db, DetectionEngine({"storm": storm_trigger()}), broken)
    result = _send(ingestor, burst(25))
    assert result.accepted == 25 and len(result.incidents_opened) == 1
    with Session(db) as session:
        events = incidents.timeline(session, result.incidents_opened[0])
    assert events[-1].kind == "playbook.launch_failed"
    assert "prefect is down" in events[-1].summary
