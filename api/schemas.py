"""Public response and request models of the JSON API (never the tables themselves)."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import AfterValidator, ConfigDict
from sqlmodel import Field, SQLModel

Severity = Literal["sev1", "sev2", "sev3", "sev4"]

MAX_INPUTS_BYTES = 64 * 1024  # a playbook's inputs are a few names and numbers
MAX_INPUTS_DEPTH = 16  # lists and objects within inputs; deeper breaks JSON encoders (orjson: 255)
_INT64 = 2**63 - 1


def _no_nul(value: str) -> str:
    # PostgreSQL cannot store U+0000 in text: say so here rather than fail at the insert.
    if "\x00" in value:
        raise ValueError("contains a NUL character (\\u0000), which cannot be stored")
    return value


Text = Annotated[str, AfterValidator(_no_nul)]


def _check_json_value(value: Any, where: str, depth: int = 1) -> None:
    """Inputs are stored as JSON and read by other systems: 64-bit integers, finite numbers."""
    if depth > MAX_INPUTS_DEPTH:
        raise ValueError(f"{where}: nested more than {MAX_INPUTS_DEPTH} levels deep")
    if isinstance(value, bool) or value is None:
        return
    if isinstance(value, int):
        if not -_INT64 - 1 <= value <= _INT64:
            raise ValueError(f"{where}: integer out of range (at most 64 bits)")
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: must be a finite number")
    elif isinstance(value, str):
        _no_nul(value)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _check_json_value(item, f"{where}/{index}", depth + 1)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_json_value(key, where, depth + 1)
            _check_json_value(item, f"{where}/{key}", depth + 1)


def _checked_inputs(value: dict[str, Any]) -> dict[str, Any]:
    for key, item in value.items():
        _check_json_value(key, "inputs")
        _check_json_value(item, f"inputs/{key}")
    size = len(orjson.dumps(value))
    if size > MAX_INPUTS_BYTES:
        raise ValueError(f"inputs are {size} bytes as JSON; at most {MAX_INPUTS_BYTES}")
    return value


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

    playbook: Text = Field(min_length=1, max_length=128, description="A playbook's name")
    title: Text | None = Field(default=None, max_length=500)
    severity: Severity = "sev2"
    scope: Text | None = Field(
        default=None, max_length=256, description="Brand or topic; default: the playbook name"
    )
    inputs: Annotated[dict[str, Any], AfterValidator(_checked_inputs)] = Field(
        default_factory=dict,
        description=f"The playbook's inputs; integers of at most 64 bits, {MAX_INPUTS_BYTES} "
        "bytes in all",
    )


class DeclareResponse(SQLModel):
    created: bool
    incident: IncidentPublic


class GateDecision(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    decision: Literal["approve", "reject", "acknowledge"]
    comment: Text | None = Field(default=None, max_length=2000)
    by: Text | None = Field(
        default=None,
        max_length=64,
        description=(
            "Only for a shared automation token (FIREBREAK_API_TOKENS): the person using it, "
            "recorded beside the token. It never counts as another approver; a user's own "
            "token is recorded as that user"
        ),
    )


# -- errors ----------------------------------------------------------------------------------------


class ErrorItem(SQLModel):
    loc: list[str | int] = Field(
        description="Where: e.g. ['body', 'title'] or ['path', 'incident_id']"
    )
    msg: str = Field(description="What is wrong there")
    type: str = Field(description="A stable error kind, e.g. 'less_than_equal', 'missing'")


class ErrorBody(SQLModel):
    """Every error response of the API (4xx and 5xx) has this shape."""

    detail: str = Field(description="One sentence for a person: what is wrong, where, what to do")
    errors: list[ErrorItem] | None = Field(
        default=None, description="For a 422 on the request's fields: one entry per problem"
    )
