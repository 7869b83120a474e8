"""The same store operations on real PostgreSQL: migrations, ingestion, de-duplication,
detection opening and escalating one incident, and rebuilding after a restart."""

from __future__ import annotations

from datetime import timedelta

import orjson
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from firebreak import incidents
from firebreak.detection.engine import DetectionEngine
from firebreak.signals.ingest import Ingestor
from tests.signals.helpers import T0, burst, storm_trigger

pytestmark = pytest.mark.postgres


def test_ingestion_on_postgres(pg_engine: Engine) -> None:
    launched: list[int] = []

    def ingestor() -> Ingestor:
        return Ingestor(pg_engine, DetectionEngine({"storm": storm_trigger()}), launched.append)

    first = ingestor()
    # A sender's clock a century ahead must not push the real signals out of the rebuilt window.
    (future,) = burst(1, prefix="future", brand="globex", start=T0.replace(year=2199))
    body = orjson.dumps([future, *burst(25), {"text": ""}, burst(1)[0]])
    result = first.ingest_body(body, "application/json")
    assert (result.accepted, result.duplicates) == (26, 1)
    assert [r["index"] for r in result.rejected] == [26]
    assert len(result.incidents_opened) == 1 and launched == result.incidents_opened

    restarted = ingestor()
    assert restarted.rebuild_detection() == 25
    wave = burst(30, prefix="b", start=T0 + timedelta(minutes=40), reach=20_000)
    later = restarted.ingest_body(orjson.dumps(wave), "application/json")
    assert later.incidents_escalated == launched and later.incidents_opened == []
    with Session(pg_engine) as session:
        # The database is shared by the run's PostgreSQL tests: look at this playbook's only.
        (incident,) = [i for i in incidents.list_incidents(session) if i.playbook == "storm"]
        assert incident.severity == "sev1"
        kinds = [e.kind for e in incidents.timeline(session, launched[0])]
    assert kinds == ["incident.detected", "severity.raised"]
