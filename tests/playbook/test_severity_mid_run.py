"""A lead who changes severity during a run: the steps not yet run see the new severity."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session

from firebreak import controls, incidents
from firebreak.playbook.store_runtime import StoreIncident
from firebreak.store.db import engine_for
from firebreak.store.models import Incident


def test_the_running_playbook_sees_a_severity_a_lead_set(tmp_path: Path) -> None:
    engine = engine_for(f"sqlite:///{tmp_path / 'fb.db'}")
    with Session(engine, expire_on_commit=False) as session:
        row, _ = incidents.open_or_escalate(
            session, title="Outage", playbook="storm", scope="acme", severity="sev2"
        )
        session.commit()
    seen_by_run = StoreIncident(engine, row)
    assert seen_by_run.severity == "sev2"
    with Session(engine) as session:
        controls.set_severity(session, row.id or 0, actor="lena", severity="sev1", reason="press")
        session.commit()
    assert seen_by_run.severity == "sev1"
    seen_by_run.set_severity("sev3")  # a playbook step's own change is written through
    with Session(engine) as session:
        stored = session.get(Incident, row.id)
        assert stored is not None and stored.severity == "sev3"
    assert seen_by_run.severity == "sev3"
