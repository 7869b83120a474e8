"""Incidents and their timeline: the queries and commands every edge goes through."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from firebreak.store.models import (
    Incident,
    IncidentStatus,
    StepRun,
    TimelineEvent,
    utcnow,
)

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")  # sev1 is the gravest


def severity_rank(severity: str) -> int:
    """Lower is graver; unknown severities sort last."""
    return SEVERITIES.index(severity) if severity in SEVERITIES else len(SEVERITIES)


def append_event(
    session: Session,
    incident_id: int,
    kind: str,
    summary: str,
    *,
    data: dict[str, Any] | None = None,
    actor: str = "firebreak",
    at: datetime | None = None,
) -> TimelineEvent:
    event = TimelineEvent(
        incident_id=incident_id,
        kind=kind,
        summary=summary,
        data=data or {},
        actor=actor,
        at=at or utcnow(),
    )
    session.add(event)
    session.flush()
    return event


def open_incident_for_scope(session: Session, scope: str) -> Incident | None:
    return session.exec(
        select(Incident).where(Incident.scope == scope, Incident.status == IncidentStatus.open)
    ).first()


def open_or_escalate(
    session: Session,
    *,
    title: str,
    playbook: str,
    scope: str,
    severity: str,
    trigger: dict[str, Any] | None = None,
    inputs: dict[str, Any] | None = None,
    declared_by: str | None = None,
    at: datetime | None = None,
) -> tuple[Incident, bool]:
    """Open an incident for `scope`, or raise the severity of the one already open there.

    Returns the incident and whether it is new: a scope never has two open incidents.
    """
    existing = open_incident_for_scope(session, scope)
    if existing is not None:
        assert existing.id is not None
        if severity_rank(severity) < severity_rank(existing.severity):
            before = existing.severity
            existing.severity = severity
            session.add(existing)
            append_event(
                session,
                existing.id,
                "severity.raised",
                f"Severity raised from {before} to {severity}",
                data={"from": before, "to": severity, "trigger": trigger or {}},
                at=at,
            )
        return existing, False
    incident = Incident(
        title=title,
        playbook=playbook,
        scope=scope,
        severity=severity,
        trigger=trigger,
        inputs=inputs or {},
        declared_by=declared_by,
        opened_at=at or utcnow(),
    )
    session.add(incident)
    session.flush()
    assert incident.id is not None
    if declared_by:
        append_event(
            session,
            incident.id,
            "incident.declared",
            f"Declared by {declared_by}: {title} ({severity}, playbook {playbook})",
            actor=declared_by,
            data={"inputs": inputs or {}},
            at=at,
        )
    else:
        append_event(
            session,
            incident.id,
            "incident.detected",
            f"Detected: {title} ({severity}, playbook {playbook})",
            data={"trigger": trigger or {}},
            at=at,
        )
    return incident, True


def resolve_incident(session: Session, incident: Incident, *, actor: str, reason: str) -> None:
    assert incident.id is not None
    incident.status = IncidentStatus.resolved
    incident.resolved_at = utcnow()
    session.add(incident)
    append_event(session, incident.id, "incident.resolved", f"Resolved: {reason}", actor=actor)


def list_incidents(
    session: Session, *, status: str | None = None, limit: int = 100
) -> Sequence[Incident]:
    query = select(Incident).order_by(col(Incident.id).desc()).limit(limit)
    if status:
        query = query.where(Incident.status == status)
    return session.exec(query).all()


def timeline(session: Session, incident_id: int) -> Sequence[TimelineEvent]:
    return session.exec(
        select(TimelineEvent)
        .where(TimelineEvent.incident_id == incident_id)
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
    ).all()


def step_runs(session: Session, incident_id: int) -> Sequence[StepRun]:
    return session.exec(
        select(StepRun).where(StepRun.incident_id == incident_id).order_by(col(StepRun.id))
    ).all()
