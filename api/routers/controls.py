"""Crisis controls over HTTP: resolve, reopen, severity, notes. Rules in `firebreak.controls`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from fastapi import Path as PathParam
from pydantic import ConfigDict
from sqlmodel import Field, Session, SQLModel

from api.auth import Principal, require_roles
from api.deps import SessionDep
from api.openapi import errors
from api.schemas import IncidentPublic, Severity, Text
from firebreak import controls
from firebreak.store.models import Incident

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

Lead = Annotated[Principal, require_roles("lead", "admin")]
OnCall = Annotated[Principal, require_roles("lead", "comms", "responder", "admin")]
IncidentId = Annotated[int, PathParam(ge=1, le=2**31 - 1, description="An incident's id")]
Words = Annotated[Text, Field(min_length=1, max_length=controls.MAX_TEXT)]


class Resolve(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    summary: Words = Field(description="What happened and how it ended")


class Reopen(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    reason: Words


class SeverityChange(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    severity: Severity
    reason: Words


class Note(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]
    text: Words


def _apply(session: Session, control: Callable[[], Incident]) -> IncidentPublic:
    try:
        incident = control()
    except controls.IncidentNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    except controls.InvalidControl as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from None
    except controls.ControlError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    session.commit()
    return IncidentPublic.model_validate(incident, from_attributes=True)


CONFLICTS = errors(404, 409)


@router.post("/{incident_id}/resolve", response_model=IncidentPublic, responses=CONFLICTS)
def resolve(incident_id: IncidentId, body: Resolve, session: SessionDep, who: Lead) -> object:
    return _apply(
        session,
        lambda: controls.resolve(session, incident_id, actor=who.name, summary=body.summary),
    )


@router.post("/{incident_id}/reopen", response_model=IncidentPublic, responses=CONFLICTS)
def reopen(incident_id: IncidentId, body: Reopen, session: SessionDep, who: Lead) -> object:
    return _apply(
        session, lambda: controls.reopen(session, incident_id, actor=who.name, reason=body.reason)
    )


@router.post("/{incident_id}/severity", response_model=IncidentPublic, responses=CONFLICTS)
def set_severity(
    incident_id: IncidentId, body: SeverityChange, session: SessionDep, who: Lead
) -> object:
    return _apply(
        session,
        lambda: controls.set_severity(
            session, incident_id, actor=who.name, severity=body.severity, reason=body.reason
        ),
    )


@router.post(
    "/{incident_id}/notes",
    response_model=IncidentPublic,
    status_code=status.HTTP_201_CREATED,
    responses=errors(404),
)
def add_note(incident_id: IncidentId, body: Note, session: SessionDep, who: OnCall) -> object:
    return _apply(
        session, lambda: controls.add_note(session, incident_id, actor=who.name, text=body.text)
    )
