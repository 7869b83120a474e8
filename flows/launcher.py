"""Starting a playbook run for an incident, in the foreground (CLI, demo) or the background (API).

With `PREFECT_API_URL` pointing at a server, runs still execute in this process and report to that
server; a deployment (`prefect.yaml`) lets workers run them elsewhere.
"""

from __future__ import annotations

import threading

from sqlmodel import Session

from firebreak import incidents
from firebreak.settings import get_settings
from firebreak.store.db import engine_for


def _record_crash(incident_id: int, message: str) -> None:
    db = engine_for(get_settings().effective_database_url)
    with Session(db) as session:
        incidents.append_event(
            session, incident_id, "playbook.crashed", f"The playbook run stopped: {message}"
        )
        session.commit()


def run_incident_flow(incident_id: int) -> str:
    """Run the incident's playbook to its end; returns the run's final status."""
    from flows.playbook_run import run_playbook

    state = run_playbook(incident_id, return_state=True)
    if state.is_completed():
        return str(state.result())
    try:
        state.result()
    except Exception as exc:  # the run failed before the engine could record why
        _record_crash(incident_id, str(exc) or type(exc).__name__)
        return f"crashed: {exc}"
    return state.name or "unknown"


def launch_incident(incident_id: int) -> threading.Thread:
    """Start the playbook run without waiting for it (the API answers at once)."""
    thread = threading.Thread(
        target=run_incident_flow, args=(incident_id,), name=f"incident-{incident_id}", daemon=True
    )
    thread.start()
    return thread
