"""The runtime a real playbook run uses: everything it does lands in the database.

Step runs, timeline entries, gates and effects are rows, so the API, the CLI and reviewers see a
run as it happens, and a restarted run finds what was already done (effects by idempotency key,
gates by step) instead of doing it twice.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session, select

from firebreak import gates, incidents
from firebreak.playbook.engine import SUCCEEDED, StepResult
from firebreak.playbook.runtime import Clock, Decision
from firebreak.ports import Integrations
from firebreak.roles import RoleBindings
from firebreak.store.db import session_scope
from firebreak.store.models import Effect, Gate, GateStatus, Incident, StepRun, utcnow


def intent_key(key: str) -> str:
    """Where the intent of the effect `key` is kept (not a key any effect ends in)."""
    return f"{key}#intent"


class StoreIncident:
    """The incident as the engine sees it; changes are written through at once."""

    def __init__(self, engine: Engine, incident: Incident) -> None:
        assert incident.id is not None
        self._engine = engine
        self.id: int = incident.id
        self.title = incident.title
        self._severity = incident.severity
        self.scope = incident.scope
        self.playbook = incident.playbook
        self.opened_at: datetime = incident.opened_at
        self.inputs: dict[str, Any] = dict(incident.inputs or {})

    @property
    def severity(self) -> str:
        """Read at each use: a lead who raises severity mid-run is seen by the steps not yet run."""
        try:
            with Session(self._engine) as session:
                row = session.get(Incident, self.id)
                if row is not None:
                    self._severity = row.severity
        except SQLAlchemyError:  # a busy database must not fail a step: the last one known
            pass
        return self._severity

    def set_severity(self, severity: str) -> None:
        with session_scope(self._engine) as session:
            row = session.get(Incident, self.id)
            assert row is not None
            before, row.severity = row.severity, severity
            session.add(row)
            incidents.append_event(
                session,
                self.id,
                "severity.changed",
                f"Severity changed from {before} to {severity}",
                data={"from": before, "to": severity},
            )
        self._severity = severity

    def resolve(self, reason: str) -> None:
        with session_scope(self._engine) as session:
            row = session.get(Incident, self.id)
            assert row is not None
            incidents.resolve_incident(session, row, actor="playbook", reason=reason)


class StoreRuntime:
    def __init__(
        self,
        engine: Engine,
        incident_id: int,
        *,
        integrations: Integrations,
        roles: RoleBindings,
        clock: Clock,
    ) -> None:
        self._engine = engine
        with Session(engine) as session:
            row = session.get(Incident, incident_id)
            if row is None:
                raise LookupError(f"no incident {incident_id}")
            self.incident = StoreIncident(engine, row)
        self.integrations = integrations
        self.roles = roles
        self.clock = clock

    def record(
        self, kind: str, summary: str, data: dict[str, Any] | None = None, actor: str = "firebreak"
    ) -> None:
        with session_scope(self._engine) as session:
            incidents.append_event(session, self.incident.id, kind, summary, data=data, actor=actor)

    def _step_row(self, session: Session, step_id: str, action: str) -> StepRun:
        row = session.exec(
            select(StepRun).where(
                StepRun.incident_id == self.incident.id, StepRun.step_id == step_id
            )
        ).first()
        return row or StepRun(incident_id=self.incident.id, step_id=step_id, action=action)

    def succeeded_steps(self) -> dict[str, StepResult]:
        """The steps an earlier attempt of this run finished well: a resumed run keeps them."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(StepRun).where(
                    StepRun.incident_id == self.incident.id, StepRun.status == SUCCEEDED
                )
            ).all()
        return {
            row.step_id: StepResult(
                SUCCEEDED,
                dict(row.outputs or {}),
                attempts=row.attempts,
                started_at=row.started_at,
                finished_at=row.finished_at,
            )
            for row in rows
        }

    def step_started(self, step_id: str, action: str) -> None:
        with session_scope(self._engine) as session:
            row = self._step_row(session, step_id, action)
            row.status = "running"
            row.started_at = row.started_at or utcnow()
            session.add(row)

    def step_finished(
        self,
        step_id: str,
        action: str,
        status: str,
        outputs: dict[str, Any] | None = None,
        error: str | None = None,
        attempts: int = 1,
    ) -> None:
        with session_scope(self._engine) as session:
            row = self._step_row(session, step_id, action)
            row.status = status
            row.outputs = outputs or {}
            row.error = error
            row.attempts = attempts
            row.finished_at = utcnow()
            session.add(row)

    def effect(
        self,
        key: str,
        fn: Callable[[], dict[str, Any]],
        find: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        with session_scope(self._engine) as session:
            done = session.get(Effect, key)
            if done is not None:
                return dict(done.result)
            # The intent is committed before the call: a process killed during it leaves this
            # row, and the next attempt reconciles with the service instead of calling blindly.
            interrupted = session.get(Effect, intent_key(key)) is not None
            if not interrupted:
                session.add(
                    Effect(
                        key=intent_key(key),
                        incident_id=self.incident.id,
                        action="intent",
                        result={"at": utcnow().isoformat()},
                    )
                )
        found = find() if find is not None and interrupted else None
        if found is not None:
            self.record(
                "effect.reconciled",
                f"Found {key.split(':', 1)[-1]} already done before the interruption; kept it",
                {"effect": key},
            )
        result = found if found is not None else fn()
        with session_scope(self._engine) as session:
            session.add(
                Effect(
                    key=key,
                    incident_id=self.incident.id,
                    action=key.rsplit(":", 1)[-1],
                    result=result,
                )
            )
        return result

    def open_gate(
        self,
        step_id: str,
        kind: str,
        audience: str | None,
        subject: dict[str, Any],
        due_at: datetime | None,
    ) -> int:
        with session_scope(self._engine) as session:
            gate = gates.open_gate(
                session,
                incident_id=self.incident.id,
                step_id=step_id,
                kind=kind,
                audience=audience,
                subject=subject,
                due_at=due_at,
            )
            assert gate.id is not None
            return gate.id

    def gate_due(self, gate_id: int) -> datetime | None:
        with Session(self._engine) as session:
            gate = session.get(Gate, gate_id)
            if gate is None or gate.due_at is None:
                return None
            due = gate.due_at
            return due.replace(tzinfo=UTC) if due.tzinfo is None else due  # SQLite: naive UTC

    def poll_gate(self, gate_id: int) -> Decision | None:
        with Session(self._engine) as session:
            gate = session.get(Gate, gate_id)
            if gate is None or gate.status in (GateStatus.pending, GateStatus.timed_out):
                return None
            return Decision(outcome=gate.status, by=gate.decided_by or "?", comment=gate.comment)

    def close_gate(self, gate_id: int, status: str) -> None:
        with session_scope(self._engine) as session:
            gate = session.get(Gate, gate_id)
            if gate is None:
                return
            if status == GateStatus.timed_out:
                gates.time_out(session, gate)
            elif gate.status == GateStatus.pending:
                gate.status = status
                gate.decided_at = utcnow()
                session.add(gate)
