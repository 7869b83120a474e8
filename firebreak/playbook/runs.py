"""Playbook runs that outlive their process: who runs each one, proof of life, and resuming.

A run claims its incident in the `playbook_run` table (owner = hostname:pid) and refreshes
`heartbeat_at` while it is alive. A run whose latest `playbook.*` event is not terminal and whose
owner is gone (its process is dead on this host, or its heartbeat is older than a grace period)
was interrupted. Resuming it is safe: succeeded steps are restored from `step_run`, side effects
are deduplicated by the `effect` table and gates re-attach by step.

An open incident whose playbook never started (its process died between the incident's commit
and `playbook.started`, or its launch failed) is orphaned: it is started, once, by whoever claims
it. An incident declared with `--no-run` says so on its timeline (`playbook.held`) and is left for
a person.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType

from sqlalchemy import insert, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from firebreak.incidents import append_event
from firebreak.store.db import session_scope
from firebreak.store.models import (
    Incident,
    IncidentStatus,
    PlaybookRun,
    StepRun,
    StepStatus,
    TimelineEvent,
    utcnow,
)

log = logging.getLogger(__name__)

LIVE_KINDS = frozenset({"playbook.started", "playbook.resumed"})
"""A run whose latest playbook event is one of these has not ended."""

HELD_KIND = "playbook.held"
"""Recorded when an incident is opened deliberately without running its playbook (`--no-run`)."""

NOT_A_RUN_KINDS = ("playbook.launch_pending", "playbook.launch_failed")
"""Said about a launch that did not happen: the playbook still never started."""


def this_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_is_gone(owner: str) -> bool:
    """True when `owner` names a process of this host that no longer exists."""
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # someone else's process: alive
        return False
    return False


@dataclass(frozen=True)
class RunCheck:
    """Whether an incident's playbook run was interrupted, and why (or why not) in words."""

    incident_id: int
    interrupted: bool
    reason: str
    attempt: int = 0
    # The run as seen: a claim takes it over only if it is still so (compare-and-set).
    owner: str | None = None
    heartbeat_at: datetime | None = None
    # False: the playbook never started, so a claim starts it afresh rather than resuming it.
    started: bool = True


def _latest_playbook_events(
    session: Session, incident_ids: Sequence[int]
) -> dict[int, TimelineEvent]:
    latest: dict[int, TimelineEvent] = {}
    if not incident_ids:
        return latest
    rows = session.exec(
        select(TimelineEvent)
        .where(
            col(TimelineEvent.incident_id).in_(incident_ids),
            col(TimelineEvent.kind).startswith("playbook."),
            col(TimelineEvent.kind).not_in(NOT_A_RUN_KINDS),
        )
        .order_by(col(TimelineEvent.id))
    ).all()
    for event in rows:
        latest[event.incident_id] = event
    return latest


def _check(
    incident: Incident,
    event: TimelineEvent | None,
    run: PlaybookRun | None,
    *,
    alive: Collection[int],
    grace: timedelta,
    now: datetime,
    me: str,
    orphan_grace: timedelta,
    start_held: bool,
) -> RunCheck:
    assert incident.id is not None
    iid = incident.id
    never_started = event is None or (event.kind == HELD_KIND and start_held)

    def verdict(interrupted: bool, reason: str) -> RunCheck:
        started = not never_started
        if run is None:
            return RunCheck(iid, interrupted, reason, 1 if started else 0, started=started)
        return RunCheck(
            iid, interrupted, reason, run.attempt, run.owner, run.heartbeat_at, started=started
        )

    if incident.status != IncidentStatus.open:
        return verdict(False, f"incident {iid} is {incident.status}")
    if event is not None and event.kind == HELD_KIND and not start_held:
        return verdict(
            False,
            f"incident {iid} was declared without running its playbook; "
            f"`firebreak incident resume {iid}` starts it",
        )
    if event is not None and not never_started and event.kind not in LIVE_KINDS:
        return verdict(False, f"incident {iid}'s playbook already ended ({event.kind})")
    if iid in alive:
        return verdict(False, f"incident {iid}'s playbook is running in this process")
    if never_started and run is None:
        # Nobody ever claimed it: its launcher died (or failed) before the run began.
        if now - incident.opened_at >= orphan_grace:
            return verdict(True, f"incident {iid}'s playbook never started")
        return verdict(
            False,
            f"incident {iid} opened {incident.opened_at:%H:%M:%S}: its launch may be on the way",
        )
    if run is None:  # started before runs were recorded: only its age tells
        assert event is not None
        if now - event.at > grace:
            return verdict(
                True, f"incident {iid}'s run left no heartbeat since {event.at:%H:%M:%S}"
            )
        return verdict(
            False, f"incident {iid}'s playbook started {event.at:%H:%M:%S}, too recently"
        )
    if never_started and run.finished_at is not None:
        return verdict(True, f"incident {iid}'s playbook never started")
    silent = now - run.heartbeat_at
    if run.owner == me:
        return verdict(True, f"incident {iid}'s run belonged to an earlier process like this one")
    if _pid_is_gone(run.owner):
        return verdict(True, f"incident {iid}'s run died with its process {run.owner}")
    if silent > grace:
        return verdict(
            True,
            f"incident {iid}'s run in {run.owner} went silent {silent.total_seconds():.0f} s ago",
        )
    return verdict(
        False,
        f"incident {iid}'s playbook is running in {run.owner} "
        f"(heartbeat {silent.total_seconds():.0f} s ago)",
    )


def check_runs(
    session: Session,
    incident_ids: Sequence[int] | None = None,
    *,
    alive: Collection[int] = (),
    grace: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
    orphan_grace: timedelta | None = None,
    start_held: bool = False,
) -> list[RunCheck]:
    """Checks the open incidents (or the ones named) for an interrupted or orphaned run.

    `alive`: incidents whose run is alive in this process (the launcher knows its threads).
    `orphan_grace`: how old an unclaimed, never started incident must be to be started here
    (default `grace`: its own launcher may still be on the way). `start_held`: count incidents
    declared with `--no-run` as never started (a person asked for them by name).
    """
    query = select(Incident).order_by(col(Incident.id))
    if incident_ids is None:
        query = query.where(Incident.status == IncidentStatus.open)
    else:
        query = query.where(col(Incident.id).in_(incident_ids))
    found = session.exec(query).all()
    ids = [i.id for i in found if i.id is not None]
    events = _latest_playbook_events(session, ids)
    runs = {
        r.incident_id: r
        for r in session.exec(select(PlaybookRun).where(col(PlaybookRun.incident_id).in_(ids)))
    }
    when, me = now or utcnow(), this_owner()
    orphans = grace if orphan_grace is None else orphan_grace
    checks = {
        i.id: _check(
            i,
            events.get(i.id),
            runs.get(i.id),
            alive=alive,
            grace=grace,
            now=when,
            me=me,
            orphan_grace=orphans,
            start_held=start_held,
        )
        for i in found
        if i.id is not None
    }
    wanted = list(incident_ids) if incident_ids is not None else ids
    return [
        checks.get(iid) or RunCheck(iid, False, f"there is no incident {iid}") for iid in wanted
    ]


def interrupted_runs(
    session: Session,
    *,
    alive: Collection[int] = (),
    grace: timedelta = timedelta(seconds=60),
    now: datetime | None = None,
) -> list[int]:
    """Open incidents whose playbook run was interrupted and nobody runs any more."""
    return [
        c.incident_id
        for c in check_runs(session, alive=alive, grace=grace, now=now)
        if c.interrupted
    ]


# ------------------------------------------------------------------------------ the run's row


def begin_run(session: Session, incident_id: int, owner: str) -> None:
    """Claim a fresh run of the incident's playbook (attempt 1, or the attempt a claim by this
    process counted: a launch that keeps dying before it starts is abandoned in the end)."""
    now = utcnow()
    run = session.get(PlaybookRun, incident_id)
    if run is None or run.owner != owner or run.finished_at is not None:
        run = run or PlaybookRun(incident_id=incident_id, owner=owner)
        run.attempt = 1
    run.owner, run.started_at, run.heartbeat_at = owner, now, now
    run.finished_at = None
    session.add(run)
    session.flush()


def claim_start(session: Session, incident_id: int, owner: str) -> bool:
    """Claim the first run of a new incident's playbook; False when another process has it.

    The launcher claims before its (slow) flow starts, so a sweep elsewhere never starts it too.
    """
    now = utcnow()
    try:
        with session.begin_nested():
            session.execute(
                insert(PlaybookRun).values(
                    incident_id=incident_id,
                    owner=owner,
                    attempt=1,
                    heartbeat_at=now,
                    started_at=now,
                )
            )
        return True
    except IntegrityError:
        pass
    run = session.get(PlaybookRun, incident_id, populate_existing=True)
    return run is not None and run.owner == owner and run.finished_at is None


def finish_run(session: Session, incident_id: int, owner: str) -> None:
    session.execute(
        update(PlaybookRun)
        .where(col(PlaybookRun.incident_id) == incident_id, col(PlaybookRun.owner) == owner)
        .values(finished_at=utcnow(), heartbeat_at=utcnow())
    )


def beat(session: Session, incident_id: int, owner: str) -> bool:
    """Refresh the heartbeat; False when another process has taken the run over."""
    result = session.execute(
        update(PlaybookRun)
        .where(col(PlaybookRun.incident_id) == incident_id, col(PlaybookRun.owner) == owner)
        .values(heartbeat_at=utcnow())
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class Claim:
    incident_id: int
    outcome: str  # resume | abandoned | taken (another process claimed it first)
    attempt: int = 0  # the attempt this process now runs (resume)
    summary: str = ""


def claim_interrupted(session: Session, seen: RunCheck, *, owner: str, max_resumes: int) -> Claim:
    """Take over a run found interrupted, if it is still as `seen` (so once across processes).

    Past `max_resumes` resumes, the run is abandoned instead: `playbook.abandoned` on the
    timeline, and nothing more runs by itself.
    """
    now, incident_id, previous = utcnow(), seen.incident_id, seen.attempt
    if seen.owner is None:
        run = PlaybookRun(
            incident_id=incident_id, owner=owner, attempt=previous + 1, heartbeat_at=now
        )
        try:
            with session.begin_nested():
                session.add(run)
        except IntegrityError:
            return Claim(incident_id, "taken")
    else:
        taken = session.execute(
            update(PlaybookRun)
            .where(
                col(PlaybookRun.incident_id) == incident_id,
                col(PlaybookRun.owner) == seen.owner,
                col(PlaybookRun.heartbeat_at) == seen.heartbeat_at,
                col(PlaybookRun.attempt) == previous,
            )
            .values(owner=owner, attempt=previous + 1, heartbeat_at=now, started_at=now)
        )
        if not taken.rowcount:
            return Claim(incident_id, "taken")
    session.expire_all()
    resumes = previous - 1
    if resumes >= max_resumes and resumes >= 0:
        done = _succeeded_count(session, incident_id)
        summary = (
            f"Abandoned after {previous} interrupted runs ({resumes} automatic resumes): "
            f"nothing more runs by itself, so a person must take over from here "
            f"({done} of its steps had succeeded; the step runs show which)."
        )
        append_event(
            session,
            incident_id,
            "playbook.abandoned",
            summary,
            data={"attempts": previous, "resumes": resumes, "steps_done": done},
        )
        session.execute(
            update(PlaybookRun)
            .where(col(PlaybookRun.incident_id) == incident_id)
            .values(finished_at=now)
        )
        return Claim(incident_id, "abandoned", previous, summary)
    return Claim(incident_id, "resume", previous + 1)


def _succeeded_count(session: Session, incident_id: int) -> int:
    return len(
        session.exec(
            select(StepRun.id).where(
                StepRun.incident_id == incident_id, StepRun.status == StepStatus.succeeded
            )
        ).all()
    )


class Heartbeat:
    """Refreshes a run's heartbeat every `interval` seconds in a daemon thread while in use."""

    def __init__(self, engine: Engine, incident_id: int, owner: str, interval: float) -> None:
        self._engine, self._incident_id, self._owner = engine, incident_id, owner
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._loop, name=f"heartbeat-{incident_id}", daemon=True
        )

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                with session_scope(self._engine) as session:
                    if not beat(session, self._incident_id, self._owner):
                        log.warning(
                            "incident %s: another process took this playbook run over",
                            self._incident_id,
                        )
            except Exception:  # a busy database skips one beat; the grace period covers it
                log.warning("incident %s: heartbeat failed", self._incident_id, exc_info=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


__all__ = [
    "HELD_KIND",
    "Claim",
    "Heartbeat",
    "RunCheck",
    "beat",
    "begin_run",
    "check_runs",
    "claim_interrupted",
    "claim_start",
    "finish_run",
    "interrupted_runs",
    "this_owner",
]
