"""Resuming an interrupted run: which runs count as interrupted, the claim and its limit, and the
engine going on from the steps an earlier attempt finished."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session

from firebreak import incidents
from firebreak.playbook import runs
from firebreak.playbook.engine import Engine, StepResult
from firebreak.playbook.model import Playbook, validation_context
from firebreak.playbook.rehearse import StubServices
from firebreak.playbook.runtime import (
    InMemoryRuntime,
    MemoryIncident,
    ScriptedAnswer,
    VirtualClock,
)
from firebreak.roles import RoleBindings
from firebreak.store.db import make_engine, upgrade
from firebreak.store.models import PlaybookRun, StepRun, utcnow

HOST = socket.gethostname()
GRACE = timedelta(seconds=60)
SCOPES = itertools.count()


@pytest.fixture
def db(tmp_path: Path) -> DbEngine:
    engine = make_engine(f"sqlite:///{tmp_path / 'runs.db'}")
    upgrade(engine)
    return engine


def dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def started(
    db: DbEngine,
    *,
    owner: str | None,
    heartbeat_age: float = 0.0,
    then: str | None = None,
    started_age: float = 0.0,
) -> int:
    """An open incident whose playbook started (and, with `then`, recorded that event after)."""
    with Session(db) as session:
        incident, _ = incidents.open_or_escalate(
            session, title="t", playbook="p", scope=f"s{next(SCOPES)}", severity="sev2"
        )
        assert incident.id is not None
        at = utcnow() - timedelta(seconds=started_age)
        incidents.append_event(session, incident.id, "playbook.started", "started", at=at)
        if then:
            incidents.append_event(session, incident.id, then, then)
        if owner:
            beat_at = utcnow() - timedelta(seconds=heartbeat_age)
            session.add(PlaybookRun(incident_id=incident.id, owner=owner, heartbeat_at=beat_at))
        session.commit()
        return incident.id


def checks(db: DbEngine, **kwargs: Any) -> dict[int, runs.RunCheck]:
    with Session(db) as session:
        return {c.incident_id: c for c in runs.check_runs(session, grace=GRACE, **kwargs)}


def test_interrupted_runs_are_the_open_ones_whose_owner_is_gone(db: DbEngine) -> None:
    dead = started(db, owner=f"{HOST}:{dead_pid()}")
    silent = started(db, owner="elsewhere:42", heartbeat_age=61)
    alive_elsewhere = started(db, owner="elsewhere:42", heartbeat_age=5)
    alive_here = started(db, owner=f"{HOST}:{os.getppid()}", heartbeat_age=5)
    finished = started(db, owner=f"{HOST}:{dead_pid()}", then="playbook.succeeded")
    abandoned = started(db, owner=f"{HOST}:{dead_pid()}", then="playbook.abandoned")
    resumed = started(db, owner="elsewhere:7", heartbeat_age=300, then="playbook.resumed")
    legacy_old = started(db, owner=None, started_age=120)
    legacy_new = started(db, owner=None, started_age=1)
    in_this_process = started(db, owner=f"{HOST}:{dead_pid()}")

    with Session(db) as session:
        found = runs.interrupted_runs(session, alive={in_this_process}, grace=GRACE)
    assert found == [dead, silent, resumed, legacy_old]

    said = checks(db, alive={in_this_process})
    assert "died with its process" in said[dead].reason
    assert "went silent" in said[silent].reason
    assert "running in elsewhere:42" in said[alive_elsewhere].reason
    assert not said[alive_here].interrupted
    assert "already ended (playbook.succeeded)" in said[finished].reason
    assert not said[abandoned].interrupted and not said[legacy_new].interrupted
    assert "running in this process" in said[in_this_process].reason


def test_a_resolved_incident_is_never_resumed(db: DbEngine) -> None:
    incident_id = started(db, owner="elsewhere:1", heartbeat_age=600)
    with Session(db) as session:
        incident = session.get(incidents.Incident, incident_id)
        assert incident is not None
        incidents.resolve_incident(session, incident, actor="lead", reason="over")
        session.commit()
        assert runs.interrupted_runs(session) == []
        (check,) = runs.check_runs(session, [incident_id, 999])[:1]
        assert check.reason == f"incident {incident_id} is resolved"
        assert runs.check_runs(session, [999])[0].reason == "there is no incident 999"


def seen(db: DbEngine, incident_id: int) -> runs.RunCheck:
    with Session(db) as session:
        (check,) = runs.check_runs(session, [incident_id])
    assert check.interrupted, check.reason
    return check


def claim(db: DbEngine, check: runs.RunCheck, owner: str, max_resumes: int = 3) -> runs.Claim:
    with Session(db) as session:
        result = runs.claim_interrupted(session, check, owner=owner, max_resumes=max_resumes)
        session.commit()
    return result


@pytest.mark.parametrize("owner", ["elsewhere:1", None])
def test_a_claim_is_won_once_and_counts_the_attempts(db: DbEngine, owner: str | None) -> None:
    incident_id = started(db, owner=owner, heartbeat_age=600, started_age=600)
    check = seen(db, incident_id)  # two processes start up and both see the same dead run

    won, lost = claim(db, check, "a:1"), claim(db, check, "b:2")

    assert (won.outcome, won.attempt) == ("resume", 2)
    assert lost.outcome == "taken"
    with Session(db) as session:
        run = session.get(PlaybookRun, incident_id)
        assert run is not None and (run.owner, run.attempt) == ("a:1", 2)


def test_past_the_limit_a_run_is_abandoned_for_a_person(db: DbEngine) -> None:
    incident_id = started(db, owner="elsewhere:1", heartbeat_age=600)
    with Session(db) as session:
        session.add(StepRun(incident_id=incident_id, step_id="a", action="x", status="succeeded"))
        session.commit()
    outcomes = []
    for n in range(3):
        later = utcnow() + timedelta(seconds=61)  # each resumed run died too
        with Session(db) as session:
            (check,) = runs.check_runs(session, [incident_id], now=later, grace=GRACE)
        outcomes.append(claim(db, check, f"p:{n}", max_resumes=2))
    assert [c.outcome for c in outcomes] == ["resume", "resume", "abandoned"]
    with Session(db) as session:
        last = incidents.timeline(session, incident_id)[-1]
        assert last.kind == "playbook.abandoned"
        assert last.summary == (
            "Abandoned after 3 interrupted runs (2 automatic resumes): nothing more runs by "
            "itself, so a person must take over from here (1 of its steps had succeeded; the "
            "step runs show which)."
        )
        assert runs.interrupted_runs(session, now=utcnow() + timedelta(hours=1)) == []


def test_a_heartbeat_keeps_a_run_alive_and_stops_when_taken_over(db: DbEngine) -> None:
    incident_id = started(db, owner="elsewhere:1", heartbeat_age=600)
    with Session(db) as session:
        runs.begin_run(session, incident_id, "me:1")
        session.commit()
        assert runs.beat(session, incident_id, "me:1")
        assert not runs.beat(session, incident_id, "someone-else:2")
        session.commit()
        assert runs.interrupted_runs(session, grace=GRACE) == []
        later = utcnow() + timedelta(seconds=61)
        assert runs.interrupted_runs(session, grace=GRACE, now=later) == [incident_id]


# ----------------------------------------------------------------------------- the engine

ROLES = RoleBindings.from_mapping(
    {
        "comms": {"slack_users": ["U1"], "slack_channel": "comms"},
        "contact-centre": {"slack_channel": "contact-centre"},
    }
)
STEPS: list[dict[str, Any]] = [
    {"id": "war_room", "uses": "slack.create_channel", "with": {"name": "crisis-7"}},
    {"id": "draft", "uses": "statement.draft", "with": {"template": "holding-statement.md.j2"}},
    {
        "id": "approve",
        "uses": "approval.request",
        "needs": ["draft"],
        "with": {"subject": "${{ steps.draft.text }}", "approvers": "comms", "timeout": "30m"},
        "on_approved": ["script"],
    },
    {
        "id": "script",
        "uses": "contact_centre.publish_script",
        "with": {
            "template": "contact-centre-script.md.j2",
            "statement": "${{ steps.draft.text }}",
            "tone": ["apologise"],
        },
    },
    {
        "id": "tell",
        "uses": "slack.post",
        "needs": ["war_room", "script"],
        "with": {
            "channel": "${{ steps.war_room.channel }}",
            "text": "v${{ steps.script.version }}",
        },
    },
]


def run_book(done: dict[str, StepResult] | None = None) -> tuple[Any, InMemoryRuntime, Any]:
    raw = {"name": "t", "version": 1, "roles": {"comms": "c", "contact-centre": "cc"}}
    raw["steps"] = STEPS
    raw["inputs"] = {"brand": {"type": "string", "default": "Acme"}, "topic": {"type": "string"}}
    book = Playbook.model_validate(raw, context=validation_context(raw))
    clock = VirtualClock()
    services = StubServices(clock)
    runtime = InMemoryRuntime(
        services.integrations(),
        ROLES,
        clock=clock,
        incident=MemoryIncident(id=7, opened_at=clock.now(), inputs={"topic": "delays"}),
        answers={"approve": ScriptedAnswer(outcome="approved", by="cora", after=60)},
    )
    return Engine(book, runtime, done=done).run(), runtime, services


def test_a_resumed_run_keeps_finished_steps_and_publishes_only_the_approved_statement() -> None:
    first, _, _ = run_book()
    assert first.status == "succeeded"
    # The process died after the approval: the script and the post were still to come.
    kept = {sid: first.steps[sid] for sid in ("war_room", "draft", "approve")}

    resumed, runtime, services = run_book(done=kept)

    assert resumed.status == "succeeded", resumed.steps
    assert resumed.steps["script"].outputs["text"] == first.steps["script"].outputs["text"]
    assert "delays" in resumed.steps["script"].outputs["text"]
    assert services.calls_to("chat.create_channel") == [] and runtime.gates == {}
    posts = services.calls_to("chat.post")
    assert [p.args["channel"] for p in posts] == [
        "contact-centre",
        first.steps["war_room"].outputs["channel"],
    ]
    assert posts[-1].args["text"] == "v1"
    assert "statement.drafted" not in runtime.kinds() and "gate.opened" not in runtime.kinds()
    assert set(runtime.steps) == {"script", "tell"}  # only these ran again


def test_without_its_approval_a_resumed_run_asks_again_before_publishing() -> None:
    first, _, _ = run_book()
    kept = {sid: first.steps[sid] for sid in ("war_room", "draft")}
    kept["gone_from_the_playbook"] = first.steps["draft"]

    resumed, runtime, _ = run_book(done=kept)

    assert resumed.status == "succeeded"
    assert runtime.kinds().count("gate.opened") == 1
    assert "gone_from_the_playbook" not in resumed.steps


def test_a_running_run_beats_until_it_ends(db: DbEngine) -> None:
    incident_id = started(db, owner=None)
    with Session(db) as session:
        runs.begin_run(session, incident_id, "me:1")
        session.commit()
        first = session.get(PlaybookRun, incident_id)
        assert first is not None
        began = first.heartbeat_at

    def heartbeat() -> Any:
        with Session(db) as session:
            row = session.get(PlaybookRun, incident_id)
            assert row is not None
            return row.heartbeat_at

    with runs.Heartbeat(db, incident_id, "me:1", interval=0.02):
        for _ in range(250):
            if heartbeat() > began:
                break
            threading.Event().wait(0.02)
    assert heartbeat() > began
    stopped_at = heartbeat()
    threading.Event().wait(0.1)
    assert heartbeat() == stopped_at  # no beat once the run has ended


def opened(db: DbEngine, *, age: float = 0.0, then: str | None = None) -> int:
    """An open incident whose playbook never started (with `then`: that event recorded)."""
    with Session(db) as session:
        incident, _ = incidents.open_or_escalate(
            session,
            title="t",
            playbook="p",
            scope=f"s{next(SCOPES)}",
            severity="sev2",
            at=utcnow() - timedelta(seconds=age),
        )
        assert incident.id is not None
        if then:
            incidents.append_event(session, incident.id, then, then)
        session.commit()
        return incident.id


def test_an_incident_whose_playbook_never_started_is_started_once(db: DbEngine) -> None:
    orphan = opened(db, age=120)
    failed_launch = opened(db, age=120, then="playbook.launch_failed")
    pending = opened(db, age=120, then="playbook.launch_pending")
    just_opened = opened(db, age=1)  # its own launcher may still be on the way
    held = opened(db, age=120, then=runs.HELD_KIND)  # declared with --no-run: a person's call

    with Session(db) as session:
        found = runs.interrupted_runs(session, grace=GRACE)
    assert found == [orphan, failed_launch, pending]
    said = checks(db)
    assert "never started" in said[orphan].reason and not said[orphan].started
    assert "declared without running its playbook" in said[held].reason
    assert not said[just_opened].interrupted

    # Two sweeping processes see the orphan; one claims it, as attempt 1 (a first run).
    check = said[orphan]
    won, lost = claim(db, check, "a:1"), claim(db, check, "b:2")
    assert (won.outcome, won.attempt, lost.outcome) == ("resume", 1, "taken")
    with Session(db) as session:  # the winner's launcher keeps its claim; the loser gets none
        assert runs.claim_start(session, orphan, "a:1")
        assert not runs.claim_start(session, orphan, "b:2")


def test_named_by_a_person_a_held_or_fresh_incident_is_started(db: DbEngine) -> None:
    held = opened(db, age=0, then=runs.HELD_KIND)
    fresh = opened(db, age=0)
    with Session(db) as session:
        named = runs.check_runs(
            session, [held, fresh], grace=GRACE, orphan_grace=timedelta(0), start_held=True
        )
    assert [(c.interrupted, c.started) for c in named] == [(True, False), (True, False)]


def test_a_launch_that_died_before_its_start_is_started_again(db: DbEngine) -> None:
    incident_id = opened(db, age=120)
    with Session(db) as session:
        assert runs.claim_start(session, incident_id, f"{HOST}:{dead_pid()}")
        session.commit()
    (check,) = checks(db).values()
    assert check.interrupted and not check.started
    assert "died with its process" in check.reason
    assert claim(db, check, "a:1").attempt == 2  # counted: one that always dies is abandoned
