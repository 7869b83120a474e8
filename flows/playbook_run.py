"""The flow that runs an incident's playbook: the engine, with each step a Prefect task."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.context import get_run_context
from sqlmodel import Session

from firebreak.incidents import append_event
from firebreak.playbook import runs
from firebreak.playbook.catalog import load_named
from firebreak.playbook.engine import Engine
from firebreak.playbook.runtime import SystemClock
from firebreak.playbook.store_runtime import StoreRuntime
from firebreak.roles import RoleBindings
from firebreak.settings import get_settings
from firebreak.store.db import engine_for, session_scope
from firebreak.store.models import Incident
from integrations.factory import NotConfiguredError, build_integrations

# A waiting gate is looked at twice a real second, whatever the time scale: one indexed read.
REAL_POLL_SECONDS = 0.5


@task(name="step", cache_policy=NO_CACHE, persist_result=False)
def _step_task(step_id: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    # Retries, timeouts and on_failure are the engine's (so rehearsals behave the same); the
    # task gives each step its own run, state and timing in Prefect's UI.
    return fn()


def _as_task(step: Any, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return _step_task.with_options(name=f"{step.id} ({step.uses})")(step.id, fn)


def _steps(n: int) -> str:
    return f"{n} step" if n == 1 else f"{n} steps"


@flow(name="run-playbook", flow_run_name="incident-{incident_id}", log_prints=False)
def run_playbook(incident_id: int, resume: bool = False) -> str:
    """Run the incident's playbook; `resume`: go on from an interrupted attempt, already
    claimed by this process (`runs.claim_interrupted`), keeping the steps it finished."""
    settings = get_settings()
    db = engine_for(settings.effective_database_url)
    with Session(db) as session:
        incident = session.get(Incident, incident_id)
        if incident is None:
            raise LookupError(f"no incident {incident_id}")
        incident.flow_run_id = str(get_run_context().flow_run.id)  # type: ignore[union-attr]
        session.add(incident)
        session.commit()
        playbook_name = incident.playbook
    playbook = load_named(settings.playbooks_dir, playbook_name)
    try:
        integrations = build_integrations(settings)
    except NotConfiguredError as exc:
        # A settings problem, not a crash: one sentence on the timeline, no traceback in the log.
        with Session(db) as session:
            summary = f"Playbook {playbook_name} cannot run: {exc}"
            append_event(session, incident_id, "playbook.failed", summary)
            session.commit()
        return "failed"  # as when the engine ends failed: the timeline says why
    runtime = StoreRuntime(
        db,
        incident_id,
        integrations=integrations,
        roles=RoleBindings.load(settings.roles_file),
        clock=SystemClock(
            time_scale=settings.time_scale,
            poll_interval=REAL_POLL_SECONDS * settings.time_scale,
        ),
    )
    owner = runs.this_owner()
    engine = Engine(
        playbook,
        runtime,
        step_wrapper=_as_task,
        done=runtime.succeeded_steps() if resume else None,
        fault_budget=settings.fault_budget_seconds,
    )
    if not resume:
        with session_scope(db) as session:
            runs.begin_run(session, incident_id, owner)
    with runs.Heartbeat(db, incident_id, owner, settings.run_heartbeat_seconds):
        if resume:
            done, total = len(engine.restored), len(engine.steps)
            runtime.record(
                "playbook.resumed",
                f"Resumed after an interruption: {_steps(done)} already done, {total - done} to go",
                {"done": sorted(engine.restored), "to_go": total - done},
            )
        else:
            runtime.record(
                "playbook.started", f"Playbook {playbook.name} v{playbook.version} started"
            )
        result = engine.run()
        runtime.record(
            f"playbook.{result.status}", f"Playbook {playbook.name} {result.status}", data={}
        )
    with session_scope(db) as session:
        runs.finish_run(session, incident_id, owner)
    get_run_logger().info("incident %s: playbook %s", incident_id, result.status)
    return str(result.status)
