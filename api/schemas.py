"""Public response and request models of the JSON API (never the tables themselves)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

Severity = Literal["sev1", "sev2", "sev3", "sev4"]


class IngestRejection(SQLModel):
    index: int
    reason: str


class IngestResponse(SQLModel):
    accepted: int
    duplicates: int
    rejected: list[IngestRejection]
    alerts: int
    incidents_opened: list[int]
    incidents_escalated: list[int]


class IncidentPublic(SQLModel):
    id: int
    title: str
    playbook: str
    scope: str
    severity: str
    status: str
    declared_by: str | None
    opened_at: datetime
    resolved_at: datetime | None
    inputs: dict[str, Any]
    trigger: dict[str, Any] | None
    flow_run_id: str | None


class StepRunPublic(SQLModel):
    step_id: str
    action: str
    status: str
    attempts: int
    started_at: datetime | None
    finished_at: datetime | None
    outputs: dict[str, Any]
    error: str | None


class GatePublic(SQLModel):
    step_id: str
    kind: str
    status: str
    audience: str | None
    requested_at: datetime
    due_at: datetime | None
    decided_at: datetime | None
    decided_by: str | None
    comment: str | None


class IncidentDetail(IncidentPublic):
    steps: list[StepRunPublic]
    gates: list[GatePublic]


class TimelineEventPublic(SQLModel):
    at: datetime
    kind: str
    actor: str
    summary: str
    data: dict[str, Any]


class TimelinePublic(SQLModel):
    incident: IncidentPublic
    timeline: list[TimelineEventPublic]


class IncidentDeclare(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    playbook: str = Field(min_length=1, max_length=128, description="A playbook's name")
    title: str | None = Field(default=None, max_length=500)
    severity: Severity = "sev2"
    scope: str | None = Field(
        default=None, max_length=256, description="Brand or topic; default: the playbook name"
    )
    inputs: dict[str, Any] = Field(default_factory=dict)


class DeclareResponse(SQLModel):
    created: bool
    incident: IncidentPublic


class GateDecision(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    decision: Literal["approve", "reject", "acknowledge"]
    comment: str | None = Field(default=None, max_length=2000)
    by: str | None = Field(
        default=None, max_length=64, description="Who decides (recorded with the token's roles)"
    )
