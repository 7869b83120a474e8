"""Starting a playbook run for an incident, in the foreground (CLI, demo) or the background (API),
and resuming the runs a crash interrupted.

With `PREFECT_API_URL` pointing at a server, runs still execute in this process and report to that
server; a deployment (`prefect.yaml`) lets workers run them elsewhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from firebreak import incidents
from firebreak.playbook import runs, runtime
from firebreak.settings import Settings, get_settings
from firebreak.store.db import engine_for, session_scope

log = logging.getLogger(__name__)

# The incidents whose run is alive in this process: a resume must never start a second one.
_alive: set[int] = set()
_alive_lock = threading.Lock()


def alive_incidents() -> set[int]:
    with _alive_lock:
        return set(_alive)


def _record_crash(incident_id: int, message: str) -> None:
    db = engine_for(get_settings().effective_database_url)
    with Session(db) as session:
        incidents.append_event(
            session, incident_id, "playbook.crashed", f"The playbook run stopped: {message}"
        )
        session.commit()


def _claim_start(incident_id: int) -> bool:
    db = engine_for(get_settings().effective_database_url)
    with session_scope(db) as session:
        return runs.claim_start(session, incident_id, runs.this_owner())


def run_incident_flow(incident_id: int, *, resume: bool = False, claimed: bool = False) -> str:
    """Run the incident's playbook to its end; returns the run's final status.

    `resume`: go on from an interrupted attempt this process has claimed. A first run claims
    the incident before the flow starts: if another process already runs it, nothing runs here.
    """
    from flows.playbook_run import run_playbook

    with _alive_lock:
        _alive.add(incident_id)
    try:
        if not resume and not claimed and not _claim_start(incident_id):
            log.info("incident %s: another process runs its playbook", incident_id)
            return "skipped: another process runs it"
        state = run_playbook(incident_id, resume=resume, return_state=True)
        if state.is_completed():
            return str(state.result())
        if runtime.stopping():  # a shutdown interrupted it: resumable, not crashed
            return "interrupted by a shutdown"
        try:
            state.result()
        except Exception as exc:  # the run failed before the engine could record why
            _record_crash(incident_id, str(exc) or type(exc).__name__)
            return f"crashed: {exc}"
        return state.name or "unknown"
    finally:
        with _alive_lock:
            _alive.discard(incident_id)


def launch_incident(
    incident_id: int, *, resume: bool = False, claimed: bool = False
) -> threading.Thread:
    """Start the playbook run without waiting for it (the API answers at once)."""
    with _alive_lock:  # alive from now: a resume racing the thread's start must see it
        _alive.add(incident_id)
    thread = threading.Thread(
        target=run_incident_flow,
        args=(incident_id,),
        kwargs={"resume": resume, "claimed": claimed},
        name=f"incident-{incident_id}",
        daemon=True,
    )
    thread.start()
    return thread


def stop_runs(grace_seconds: float, *, exiting: bool = True) -> list[int]:
    """On a graceful shutdown: let in-flight steps go on for up to `grace_seconds`; a run parks
    at its next wait (gate, timer, back-off) and is resumed by the next process. Returns the
    incidents whose runs are still alive (parked or busy) when the grace ends.

    `exiting=False` (an app stopped inside a longer-lived process, as in tests): waits on the
    clock work again afterwards for runs started later; the parked ones stay parked.
    """
    runtime.stop_waiting()
    try:
        return _wait_for_runs(grace_seconds)
    finally:
        if not exiting:
            runtime.resume_waiting()


def _wait_for_runs(grace_seconds: float) -> list[int]:
    deadline = time.monotonic() + grace_seconds
    while alive_incidents() and time.monotonic() < deadline:
        time.sleep(0.1)
    left = sorted(alive_incidents())
    if left:
        log.warning("shutting down: incidents %s will resume at the next start", left)
    return left


@dataclass
class Resumption:
    """What happened to one incident asked to resume."""

    incident_id: int
    outcome: str  # resumed | abandoned | skipped (not interrupted, or taken by another process)
    message: str
    status: str | None = None  # the run's final status, when it ran in the foreground
    thread: threading.Thread | None = None


def resume_interrupted(
    incident_ids: Sequence[int] | None = None,
    *,
    wait: bool = False,
    settings: Settings | None = None,
) -> list[Resumption]:
    """Resume the interrupted playbook runs and start the orphaned ones (all open incidents',
    or the ones named: then also a run that never started or was declared with `--no-run`).

    The API calls this on start-up and then periodically (runs go on in the background);
    `firebreak incident resume`
    calls it for a person (`wait=True`: each run to its end, one after the other). A run alive in
    this process or in another (fresh heartbeat) is left alone; past the resume limit a run is
    abandoned with one sentence on its timeline for a person to take over.
    """
    settings = settings or get_settings()
    db = engine_for(settings.effective_database_url)
    grace = timedelta(seconds=settings.resume_grace_seconds)
    with Session(db) as session:
        checks = runs.check_runs(
            session,
            list(incident_ids) if incident_ids else None,
            alive=alive_incidents(),
            grace=grace,
            # Named by a person: a run that never started starts now, even if held.
            orphan_grace=timedelta(0) if incident_ids else None,
            start_held=bool(incident_ids),
        )
    outcomes: list[Resumption] = []
    for check in checks:
        if not check.interrupted:
            if incident_ids:  # asked by name: say why not; a start-up sweep stays quiet
                outcomes.append(Resumption(check.incident_id, "skipped", check.reason))
            continue
        with session_scope(db) as session:
            claim = runs.claim_interrupted(
                session,
                check,
                owner=runs.this_owner(),
                max_resumes=settings.resume_max_attempts,
            )
        if claim.outcome == "taken":
            outcomes.append(
                Resumption(check.incident_id, "skipped", "another process resumed it a moment ago")
            )
            continue
        if claim.outcome == "abandoned":
            log.warning("incident %s: %s", check.incident_id, claim.summary)
            outcomes.append(Resumption(check.incident_id, "abandoned", claim.summary))
            continue
        if check.started:
            message = f"{check.reason}; resuming (attempt {claim.attempt})"
        else:
            message = f"{check.reason}; starting it"
        log.info("incident %s: %s", check.incident_id, message)
        # A run that never started starts afresh (its claim is this process's: begin_run keeps it).
        if wait:
            status = run_incident_flow(check.incident_id, resume=check.started, claimed=True)
            outcomes.append(Resumption(check.incident_id, "resumed", message, status=status))
        else:
            thread = launch_incident(check.incident_id, resume=check.started, claimed=True)
            outcomes.append(Resumption(check.incident_id, "resumed", message, thread=thread))
    return outcomes
