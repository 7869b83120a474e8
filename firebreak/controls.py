"""Crisis controls a person applies to an incident: resolve, reopen, severity, notes.

Every control names who applied it on the timeline and refuses what would change nothing (a
409 at the API), so a lead never gets a success that did nothing.
"""

from __future__ import annotations

from sqlmodel import Session

from firebreak.incidents import (
    SEVERITIES,
    append_event,
    open_incident_for_scope,
    severity_rank,
)
from firebreak.store.models import Incident, IncidentStatus, utcnow

MAX_TEXT = 4000


class ControlError(ValueError):
    """A control that cannot apply to the incident as it is; the message says why."""


class IncidentNotFound(ControlError):
    pass


class InvalidControl(ControlError):
    """The request itself is wrong (empty reason, unknown severity), whatever the incident."""


def _incident(session: Session, incident_id: int) -> Incident:
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise IncidentNotFound(f"No incident with id {incident_id}")
    return incident


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidControl(f"{what} is empty: say it in a few words.")
    if len(text) > MAX_TEXT:
        raise InvalidControl(f"{what} is {len(text)} characters; at most {MAX_TEXT}.")
    return text


def resolve(session: Session, incident_id: int, *, actor: str, summary: str) -> Incident:
    incident = _incident(session, incident_id)
    summary = _text(summary, "The summary")
    if incident.status == IncidentStatus.resolved:
        raise ControlError(f"Incident {incident_id} is already resolved.")
    incident.status = IncidentStatus.resolved
    incident.resolved_at = utcnow()
    session.add(incident)
    append_event(
        session, incident_id, "incident.resolved", f"Resolved by {actor}: {summary}",
        actor=actor, data={"summary": summary},
    )  # fmt: skip
    return incident


def reopen(session: Session, incident_id: int, *, actor: str, reason: str) -> Incident:
    incident = _incident(session, incident_id)
    reason = _text(reason, "The reason")
    if incident.status != IncidentStatus.resolved:
        raise ControlError(f"Incident {incident_id} is open: nothing to reopen.")
    other = open_incident_for_scope(session, incident.scope)
    if other is not None:
        raise ControlError(
            f"Incident {other.id} is open for scope {incident.scope!r}: a scope has one open "
            "incident; add to that one instead."
        )
    incident.status = IncidentStatus.open
    incident.resolved_at = None
    session.add(incident)
    append_event(
        session, incident_id, "incident.reopened", f"Reopened by {actor}: {reason}",
        actor=actor, data={"reason": reason},
    )  # fmt: skip
    return incident


def set_severity(
    session: Session, incident_id: int, *, actor: str, severity: str, reason: str
) -> Incident:
    incident = _incident(session, incident_id)
    if severity not in SEVERITIES:
        raise InvalidControl(f"Severity {severity!r} is not one of {', '.join(SEVERITIES)}.")
    reason = _text(reason, "The reason")
    if incident.status != IncidentStatus.open:
        raise ControlError(f"Incident {incident_id} is resolved: reopen it first.")
    before = incident.severity
    if severity == before:
        raise ControlError(f"Incident {incident_id} is already {severity}: nothing changed.")
    raised = severity_rank(severity) < severity_rank(before)
    incident.severity = severity
    session.add(incident)
    kind, verb = ("severity.raised", "raised") if raised else ("severity.lowered", "lowered")
    summary = f"{actor} {verb} severity from {before} to {severity}: {reason}"
    append_event(
        session, incident_id, kind, summary, actor=actor,
        data={"from": before, "to": severity, "reason": reason},
    )  # fmt: skip
    return incident


def add_note(session: Session, incident_id: int, *, actor: str, text: str) -> Incident:
    incident = _incident(session, incident_id)
    text = _text(text, "The note")
    append_event(session, incident_id, "note", text, actor=actor, data={"note": text})
    return incident
