"""Effects whose request reached the service but whose answer never came back are found, not
repeated: the sandbox stalls a request past the client's timeout and performs it anyway (as a
service does when the caller dies mid-request); the retried step searches before it creates.

Real engine, store, adapters and HTTP against the sandbox; assertions on its recordings.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from integrations.sandbox.slack import Channel

PLAYBOOK = """\
name: room-and-tasks
version: 1
description: A war room, an epic and its tasks, each retried.
roles:
  crisis-lead: Crisis lead on duty
  comms: Approves statements
steps:
  - id: war_room
    uses: slack.create_channel
    with: {name: "crisis-${{ incident.number }}", invite: [crisis-lead]}
    retry: {attempts: 3, backoff: 20m}
  - id: brief
    uses: slack.post
    needs: [war_room]
    with: {channel: "${{ steps.war_room.channel }}", text: "Briefing: what we know so far"}
    retry: {attempts: 3, backoff: 20m}
  - id: epic
    uses: jira.create_epic
    with: {summary: "Crisis ${{ incident.number }}: ${{ incident.title }}", labels: [crisis]}
    retry: {attempts: 3, backoff: 20m}
  - id: followups
    uses: jira.create_tasks
    needs: [epic]
    with:
      epic: "${{ steps.epic.key }}"
      tasks:
        - {summary: Reply to every customer}
        - {summary: Call back affected customers}
        - {summary: Root cause}
    retry: {attempts: 3, backoff: 20m}
"""
# The sandbox sits on a request for STALL seconds, then does it; the client gives up after 1 s.
# A step retries 20 playbook minutes later (2 s at 600x): after the stalled request was done,
# as after a crash, when the resumed run starts long after the dead process's last request.
STALL = 1.5


@pytest.fixture
def db(sandboxed) -> Engine:  # type: ignore[no-untyped-def]
    from firebreak.settings import get_settings
    from firebreak.store.db import engine_for

    return engine_for(get_settings().effective_database_url)


def run(db: Engine, tmp_path: Path, title: str = "Storm") -> tuple[int, str]:
    from firebreak import incidents
    from firebreak.playbook.engine import Engine as PlaybookEngine
    from firebreak.playbook.loader import load_playbook
    from firebreak.playbook.runtime import SystemClock
    from firebreak.playbook.store_runtime import StoreRuntime
    from firebreak.roles import RoleBindings
    from firebreak.settings import get_settings
    from integrations.factory import build_integrations
    from integrations.policy import RetryPolicy

    path = tmp_path / "room-and-tasks.yaml"
    path.write_text(PLAYBOOK, encoding="utf-8")
    playbook = load_playbook(path)
    with Session(db, expire_on_commit=False) as session:
        incident, _ = incidents.open_or_escalate(
            session, title=title, playbook=playbook.name, scope=f"t:{title}", severity="sev2"
        )
        session.commit()
    assert incident.id is not None
    settings = get_settings()
    runtime = StoreRuntime(
        db,
        incident.id,
        # The adapters give up after 1 s and do not retry themselves: the step's retry does.
        integrations=build_integrations(
            settings, policy=RetryPolicy(retries=0, max_delay=0.05, timeout=1.0)
        ),
        roles=RoleBindings.load(settings.roles_file),
        clock=SystemClock(time_scale=600, poll_interval=300),
    )
    result = PlaybookEngine(playbook, runtime).run()
    with Session(db) as session:
        said = [e.summary for e in incidents.timeline(session, incident.id)]
    return incident.id, f"{result.status}: " + " | ".join(said)


def test_a_war_room_and_issues_made_during_a_lost_answer_are_adopted(
    sandboxed, db: Engine, tmp_path: Path
) -> None:
    sandboxed.slow("slack", r"conversations\.create", seconds=STALL, times=1)
    sandboxed.slow("slack", r"chat\.postMessage", seconds=STALL, times=1)
    # The epic's request, then (its retry finds it without a request) the first task's.
    sandboxed.slow("jira", r"POST /rest/api/2/issue$", seconds=STALL, times=2)

    incident_id, said = run(db, tmp_path)

    assert said.startswith("succeeded"), said
    assert said.count("already done before the interruption") == 4, said
    slack = sandboxed.requests("slack")
    assert sum(r.path.endswith("conversations.create") for r in slack) == 1
    rooms = [c for c in sandboxed.state("slack")["channels"] if c["name"].startswith("crisis-1-")]
    assert len(rooms) == 1 and "firebreak-" in rooms[0]["purpose"]["value"], rooms
    briefs = [m for m in sandboxed.state("slack")["messages"] if m["text"].startswith("Briefing")]
    assert len(briefs) == 1, briefs
    created = [r.body["fields"] for r in sandboxed.requests("jira") if r.method == "POST"]
    summaries = Counter(f["summary"] for f in created if "summary" in f)
    assert summaries == Counter(
        {
            f"Crisis {incident_id}: Storm": 1,
            "Reply to every customer": 1,
            "Call back affected customers": 1,
            "Root cause": 1,
        }
    ), summaries
    issues = sandboxed.state("jira")["issues"]
    assert len(issues) == 4


def test_war_rooms_are_named_per_installation_and_never_adopt_anothers(
    sandboxed, db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from firebreak.settings import get_settings

    # An archived war room of an earlier life, and a second environment's room for incident 2.
    sandboxed.slack.channels["C9ARCHIVE"] = Channel(
        "C9ARCHIVE", "crisis-1", False, 0, is_archived=True
    )
    sandboxed.slack.channels["C9STAGING"] = Channel(
        "C9STAGING", "ops-crisis-2-staging", False, 0, purpose="Firebreak war room (other)"
    )
    monkeypatch.setenv("FIREBREAK_WAR_ROOM_PREFIX", "ops-")
    monkeypatch.setenv("FIREBREAK_INSTALLATION_ID", "prod")
    get_settings.cache_clear()
    _, first = run(db, tmp_path, "Storm")
    monkeypatch.setenv("FIREBREAK_INSTALLATION_ID", "staging")
    get_settings.cache_clear()
    _, second = run(db, tmp_path, "Outage")

    assert first.startswith("succeeded") and "#ops-crisis-1-prod" in first, first
    # The name is taken by a room that is not this incident's: said once, never adopted.
    assert second.startswith("failed"), second
    assert "#ops-crisis-2-staging exists and is not this incident's war room" in second
    assert "FIREBREAK_WAR_ROOM_PREFIX" in second
