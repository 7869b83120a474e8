"""The tables. Every change here needs an Alembic migration (`firebreak/store/migrations`)."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class SignalType(StrEnum):
    mention = "mention"  # a social post, review, message: has text and an author
    volume = "volume"  # a contact-centre count per interval (calls or tickets on a queue)


class Signal(SQLModel, table=True):
    __tablename__ = "signal"
    __table_args__ = (
        UniqueConstraint("source", "source_id", name="uq_signal_source_id"),
        Index("ix_signal_created_at", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    type: str = Field(default=SignalType.mention, max_length=16)
    source: str = Field(default="api", max_length=64)  # twitter, instagram, contact-centre...
    source_id: str | None = Field(default=None, max_length=128)
    channel: str | None = Field(default=None, max_length=128)  # queue name for volume signals
    author: str | None = Field(default=None, max_length=256)
    author_reach: int = 0
    text: str | None = None
    language: str | None = Field(default=None, max_length=16)
    url: str | None = None
    brand: str | None = Field(default=None, max_length=128)
    topic: str | None = Field(default=None, max_length=128)
    value: float = 1.0  # 1 for a mention; the count for a volume signal
    interval_seconds: int | None = None
    created_at: datetime
    received_at: datetime = Field(default_factory=utcnow)
    # Triage, filled on ingestion.
    sentiment: float | None = None
    label: str | None = Field(default=None, max_length=16)
    kind: str | None = Field(default=None, max_length=16)
    priority: float | None = None
    # What a complaint or venting post is about (firebreak/triage/categories.py); else None.
    category: str | None = Field(default=None, max_length=32)


class IncidentStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class Incident(SQLModel, table=True):
    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_scope_status", "scope", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    title: str
    playbook: str = Field(max_length=128)
    scope: str = Field(default="default", max_length=256)  # one open incident per scope
    severity: str = Field(default="sev3", max_length=8)
    status: str = Field(default=IncidentStatus.open, max_length=16)
    declared_by: str | None = Field(default=None, max_length=128)  # None: opened by detection
    opened_at: datetime = Field(default_factory=utcnow)
    resolved_at: datetime | None = None
    inputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    trigger: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    flow_run_id: str | None = Field(default=None, max_length=64)


class StepStatus(StrEnum):
    pending = "pending"
    running = "running"
    waiting = "waiting"  # for a person or a timer
    succeeded = "succeeded"
    failed = "failed"
    skipped = "skipped"


class StepRun(SQLModel, table=True):
    __tablename__ = "step_run"
    __table_args__ = (UniqueConstraint("incident_id", "step_id", name="uq_step_run_step"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    step_id: str = Field(max_length=128)
    action: str = Field(max_length=64)
    status: str = Field(default=StepStatus.pending, max_length=16)
    attempts: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    outputs: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    error: str | None = None


class TimelineEvent(SQLModel, table=True):
    """One entry of an incident's timeline. Append-only: reviewers replay it after the crisis."""

    __tablename__ = "timeline_event"

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    at: datetime = Field(default_factory=utcnow)
    kind: str = Field(max_length=32)  # detection, declared, step.started, step.succeeded, ...
    actor: str = Field(default="firebreak", max_length=128)
    summary: str
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class GateStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    timed_out = "timed_out"
    acknowledged = "acknowledged"


class Gate(SQLModel, table=True):
    """A step waiting for a person: an approval or an acknowledgement."""

    __tablename__ = "gate"
    __table_args__ = (UniqueConstraint("incident_id", "step_id", name="uq_gate_step"),)

    id: int | None = Field(default=None, primary_key=True)
    incident_id: int = Field(foreign_key="incident.id", index=True)
    step_id: str = Field(max_length=128)
    kind: str = Field(max_length=16)  # approval | ack
    status: str = Field(default=GateStatus.pending, max_length=16)
    audience: str | None = Field(default=None, max_length=128)  # the role asked
    subject: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    requested_at: datetime = Field(default_factory=utcnow)
    due_at: datetime | None = None
    decided_at: datetime | None = None
    decided_by: str | None = Field(default=None, max_length=128)
    comment: str | None = None


class Effect(SQLModel, table=True):
    """The outbox's memory: a side effect done once under its idempotency key.

    A retried step or a restarted flow finds the key and reuses the result instead of
    posting, paging or filing twice.
    """

    __tablename__ = "effect"

    key: str = Field(primary_key=True, max_length=256)
    incident_id: int | None = Field(default=None, foreign_key="incident.id", index=True)
    action: str = Field(max_length=64)
    result: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    at: datetime = Field(default_factory=utcnow)


class PlaybookRun(SQLModel, table=True):
    """Who is running an incident's playbook, and proof of life while it runs.

    The run refreshes `heartbeat_at` every few seconds; a run whose heartbeat is stale (or whose
    owner process is gone) was interrupted and may be resumed. `attempt` counts the starts: 1 for
    the first run, one more per resume.
    """

    __tablename__ = "playbook_run"

    incident_id: int = Field(foreign_key="incident.id", primary_key=True)
    owner: str = Field(max_length=256)  # hostname:pid of the process running it
    attempt: int = 1
    started_at: datetime = Field(default_factory=utcnow)
    heartbeat_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class User(SQLModel, table=True):
    """A person (or, with role `ingest`, a signal source) who signs in and acts on Firebreak."""

    __tablename__ = "app_user"  # `user` is reserved in PostgreSQL

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=64, unique=True, index=True)
    display_name: str | None = Field(default=None, max_length=128)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    password_hash: str | None = Field(default=None, max_length=256)  # argon2id; None: tokens only
    # The Slack user id this person clicks as: one person across Slack, the web and the API.
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True, index=True)
    disabled: bool = False
    must_change_password: bool = False
    created_at: datetime = Field(default_factory=utcnow)


class ApiToken(SQLModel, table=True):
    """A bearer token held by a user, or by a service (roles of its own). Only its hash is kept."""

    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True, index=True)  # sha256 hex of the token
    user_id: int | None = Field(default=None, foreign_key="app_user.id", index=True)
    service: str | None = Field(default=None, max_length=64)
    roles: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    label: str | None = Field(default=None, max_length=128)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
