"""The run bookkeeping on real PostgreSQL: the 0002 migration, finding an interrupted run, and a
claim won once (the compare-and-set reads back the heartbeat it compares)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from firebreak import incidents
from firebreak.playbook import runs
from firebreak.store.models import PlaybookRun, utcnow

pytestmark = pytest.mark.postgres


def test_an_interrupted_run_is_found_and_claimed_once_on_postgres(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        incident, _ = incidents.open_or_escalate(
            session, title="t", playbook="p", scope="resume-pg", severity="sev2"
        )
        assert incident.id is not None
        incidents.append_event(session, incident.id, "playbook.started", "started")
        stale = utcnow() - timedelta(minutes=5)
        session.add(PlaybookRun(incident_id=incident.id, owner="gone:1", heartbeat_at=stale))
        session.commit()
        assert runs.interrupted_runs(session) == [incident.id]
        (seen,) = runs.check_runs(session, [incident.id])

    outcomes = []
    for owner in ("a:1", "b:2"):
        with Session(pg_engine) as session:
            outcomes.append(runs.claim_interrupted(session, seen, owner=owner, max_resumes=3))
            session.commit()

    assert [c.outcome for c in outcomes] == ["resume", "taken"]
    with Session(pg_engine) as session:
        assert runs.interrupted_runs(session) == []  # a:1's fresh heartbeat: alive elsewhere
