"""Chasing follow-up issues until they are done.

`followup.schedule` records a `followup.scheduled` event; that event *is* the schedule (its id
names it), so there is no table to keep in step with the timeline. Each pass of the chaser asks
the tracker where every issue stands, comments on the ones still open and records one event:
`followup.chased` (the clock restarts), `followup.done` (all done: finished for good),
`followup.stopped` (`until_done: false` and the incident resolved: finished) or
`followup.chase_failed` (the tracker could not be asked: still due, chased next pass).

Comments are effects (`effect` table) keyed by schedule and pass, so a pass retried after a crash
or a failure half-way comments only on the issues it had not reached.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import Session, col, select

from firebreak import incidents
from firebreak.ports import ChatPort, IntegrationError, IssueStatus, TrackerPort
from firebreak.store.models import Effect, Incident, IncidentStatus, StepRun, TimelineEvent

SCHEDULED = "followup.scheduled"
CHASED = "followup.chased"
DONE = "followup.done"
STOPPED = "followup.stopped"
FAILED = "followup.chase_failed"
FINISHING = (DONE, STOPPED)
KINDS = (SCHEDULED, CHASED, DONE, STOPPED, FAILED)
ACTOR = "followup-chaser"
# A pass gives up on the tracker early (one retry, waits capped at 2 s): the schedule stays due
# and the next pass, minutes later, is the real retry. The edges build their adapters with these.
TRACKER_RETRIES = 1
TRACKER_MAX_DELAY = 2.0


@dataclass(frozen=True)
class Schedule:
    """One `followup.scheduled` event and what the chaser has done with it since."""

    id: int  # the followup.scheduled event's id
    incident_id: int
    incident_title: str
    incident_opened_at: datetime
    incident_status: str
    step: str | None
    issues: tuple[str, ...]
    every: timedelta
    until_done: bool
    scheduled_at: datetime
    last_chased_at: datetime | None = None
    chases: int = 0  # passes recorded as followup.chased
    still_open: tuple[str, ...] | None = None  # at the last chase; None before the first
    finished: str | None = None  # followup.done or followup.stopped once it is over

    @property
    def next_due(self) -> datetime:
        return (self.last_chased_at or self.scheduled_at) + self.every

    def due(self, now: datetime) -> bool:
        return self.finished is None and _aware(now) >= self.next_due


@dataclass(frozen=True)
class ChaseResult:
    """What one pass did for one schedule."""

    schedule: Schedule
    outcome: str  # chased | done | stopped | failed
    summary: str  # the timeline event's summary
    open: tuple[IssueStatus, ...] = ()
    done: tuple[IssueStatus, ...] = ()
    commented: tuple[str, ...] = ()  # issues commented on by this call (not found done earlier)
    error: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "schedule": self.schedule.id,
            "incident": self.schedule.incident_id,
            "outcome": self.outcome,
            "summary": self.summary,
            "open": [s.key for s in self.open],
            "done": [s.key for s in self.done],
            "commented": list(self.commented),
            "error": self.error,
        }


def schedules(session: Session, *, include_finished: bool = False) -> list[Schedule]:
    """Every schedule still running (or all of them), oldest first.

    Reads the few `followup.*` events and folds them in Python: JSON queries differ between
    SQLite and PostgreSQL, and schedules number in the tens, not millions.
    """
    rows = session.exec(
        select(TimelineEvent, Incident)
        .join(Incident, col(Incident.id) == col(TimelineEvent.incident_id))
        .where(col(TimelineEvent.kind).in_(KINDS))
        .order_by(col(TimelineEvent.at), col(TimelineEvent.id))
    ).all()
    found: dict[int, Schedule] = {}
    for event, incident in rows:
        if event.kind == SCHEDULED:
            schedule = _from_event(event, incident)
            if schedule is not None:
                found[schedule.id] = schedule
            continue
        ref = (event.data or {}).get("schedule")
        current = found.get(ref) if isinstance(ref, int) else None
        if current is None:
            continue
        if event.kind == CHASED:
            found[current.id] = replace(
                current,
                last_chased_at=_aware(event.at),
                chases=current.chases + 1,
                still_open=tuple(event.data.get("open", [])),
            )
        elif event.kind in FINISHING:
            found[current.id] = replace(current, finished=event.kind, still_open=())
    listed = sorted(found.values(), key=lambda s: (s.scheduled_at, s.id))
    return listed if include_finished else [s for s in listed if s.finished is None]


def chase_due(
    session: Session,
    tracker: TrackerPort,
    chat: ChatPort | None,
    now: datetime,
    *,
    force: bool = False,
) -> list[ChaseResult]:
    """One pass: chase every running schedule that is due (`force`: every running one).

    Commits as it goes (each comment's effect, each schedule's event), so a pass that dies
    half-way keeps what it did and the next one picks up the rest.
    """
    now = _aware(now)
    return [
        chase(session, schedule, tracker, chat, now)
        for schedule in schedules(session)
        if force or schedule.due(now)
    ]


def chase(
    session: Session,
    schedule: Schedule,
    tracker: TrackerPort,
    chat: ChatPort | None,
    now: datetime,
) -> ChaseResult:
    """Chase one schedule now and record the one event that says what happened."""
    total = len(schedule.issues)
    base = {"schedule": schedule.id, "pass": schedule.chases + 1, "issues": list(schedule.issues)}
    if not schedule.until_done and schedule.incident_status == IncidentStatus.resolved:
        summary = f"Incident {schedule.incident_id} is resolved: stopped chasing its follow-ups"
        _record(session, schedule, STOPPED, summary, base, now)
        return ChaseResult(schedule, "stopped", summary, data=base)

    try:
        statuses = [tracker.status(key) for key in schedule.issues]
    except IntegrationError as exc:
        summary = (
            f"Could not chase the {_count(total)} of incident {schedule.incident_id}: "
            f"{_sentence(exc.message)} They are chased again next pass."
        )
        data = {**base, "error": exc.message, "retryable": exc.retryable}
        _record(session, schedule, FAILED, summary, data, now)
        return ChaseResult(schedule, "failed", summary, error=exc.message, data=data)

    still_open = tuple(s for s in statuses if not s.done)
    done = tuple(s for s in statuses if s.done)
    data = {
        **base,
        "open": [s.key for s in still_open],
        "done": [s.key for s in done],
        "statuses": {s.key: {"name": s.name, "assignee": s.assignee} for s in statuses},
    }
    if not still_open:
        summary = f"All {_count(total)} done"
        data["war_room"] = _tell_war_room(session, schedule, chat, summary)
        _record(session, schedule, DONE, summary, data, now)
        return ChaseResult(schedule, "done", summary, done=done, data=data)

    commented: list[str] = []
    note = (
        f"Still open {_age(now - schedule.incident_opened_at)} after incident "
        f"{schedule.incident_id}; please update or close it."
    )
    for status in still_open:
        key = _effect_key(schedule, status.key)
        if session.get(Effect, key) is not None:
            continue  # this pass already commented here before it was interrupted
        try:
            tracker.comment(status.key, note)
        except IntegrationError as exc:
            reached = len(commented)
            summary = (
                f"Chased {reached} of the {len(still_open)} open follow-ups of incident "
                f"{schedule.incident_id}, then: {_sentence(exc.message)} "
                "The rest are chased again next pass."
            )
            data = {**data, "commented": commented, "error": exc.message}
            _record(session, schedule, FAILED, summary, data, now)
            return ChaseResult(
                schedule, "failed", summary, still_open, done, tuple(commented), exc.message, data
            )
        session.add(
            Effect(
                key=key,
                incident_id=schedule.incident_id,
                action="followup.chase",
                result={"issue": status.key},
                at=now,
            )
        )
        session.commit()
        commented.append(status.key)

    summary = (
        f"{len(still_open)} of {_count(total)} still open: {', '.join(s.key for s in still_open)}"
    )
    data["commented"] = commented
    data["war_room"] = _tell_war_room(session, schedule, chat, summary)
    _record(session, schedule, CHASED, summary, data, now)
    return ChaseResult(schedule, "chased", summary, still_open, done, tuple(commented), data=data)


# -- internals ----------------------------------------------------------------------------------
def _from_event(event: TimelineEvent, incident: Incident) -> Schedule | None:
    data = event.data or {}
    issues = data.get("issues")
    every = data.get("every_seconds")
    if not isinstance(issues, list) or not isinstance(every, int | float) or every <= 0:
        return None  # not a schedule this chaser understands; never guess
    assert event.id is not None and incident.id is not None
    return Schedule(
        id=event.id,
        incident_id=incident.id,
        incident_title=incident.title,
        incident_opened_at=_aware(incident.opened_at),
        incident_status=incident.status,
        step=data.get("step"),
        issues=tuple(str(i) for i in issues),
        every=timedelta(seconds=float(every)),
        until_done=bool(data.get("until_done", True)),
        scheduled_at=_aware(event.at),
    )


def _effect_key(schedule: Schedule, issue: str) -> str:
    return f"{schedule.incident_id}:followup:{schedule.id}:{schedule.chases + 1}:comment-{issue}"


def _record(
    session: Session,
    schedule: Schedule,
    kind: str,
    summary: str,
    data: dict[str, Any],
    now: datetime,
) -> None:
    incidents.append_event(
        session, schedule.incident_id, kind, summary, data=data, actor=ACTOR, at=now
    )
    session.commit()


def _tell_war_room(
    session: Session, schedule: Schedule, chat: ChatPort | None, summary: str
) -> str | None:
    """Post the pass's summary in the incident's war room, once per pass; never fails the pass."""
    if chat is None:
        return None
    channel = _war_room(session, schedule.incident_id)
    if channel is None:
        return None
    key = f"{schedule.incident_id}:followup:{schedule.id}:{schedule.chases + 1}:war-room"
    if session.get(Effect, key) is not None:
        return channel
    try:
        ref = chat.post(channel, f"Follow-ups of incident {schedule.incident_id}: {summary}")
    except IntegrationError as exc:
        return f"not told: {exc.message}"
    session.add(
        Effect(
            key=key,
            incident_id=schedule.incident_id,
            action="followup.chase",
            result={"channel": ref.channel, "ts": ref.ts},
        )
    )
    session.commit()
    return channel


def _war_room(session: Session, incident_id: int) -> str | None:
    runs: Sequence[StepRun] = session.exec(
        select(StepRun).where(
            StepRun.incident_id == incident_id, StepRun.action == "slack.create_channel"
        )
    ).all()
    for run in runs:
        channel = (run.outputs or {}).get("channel")
        if channel:
            return str(channel)
    return None


def _aware(value: datetime) -> datetime:
    """SQLite hands datetimes back without a zone; every time we store is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _count(n: int) -> str:
    return f"{n} follow-up" if n == 1 else f"{n} follow-ups"


def _age(elapsed: timedelta) -> str:
    seconds = max(0, int(elapsed.total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            n = seconds // size
            return f"{n} {unit}" + ("" if n == 1 else "s")
    return "less than a minute"


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."
