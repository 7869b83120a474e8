"""Follow-ups filed and scheduled by a real playbook run against the sandbox.

`file_followups` runs a small playbook (war room, epic, four tasks, `followup.schedule`) through
the real engine, actions, adapters and store, without Prefect: the chaser is what is under test,
and the end-to-end test (test_e2e.py) covers the full social-media-storm run through Prefect.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

PLAYBOOK = """\
name: file-and-chase
version: 1
description: File four follow-ups under an epic and chase them daily.
roles:
  crisis-lead: Crisis lead on duty
  ereputation: Answers customers on social media
  comms: Approves statements
  contact-centre: Team leads
steps:
  - id: war_room
    uses: slack.create_channel
    with: {name: "crisis-${{ incident.number }}", invite: [crisis-lead]}
  - id: epic
    uses: jira.create_epic
    with: {summary: "Crisis ${{ incident.number }}: ${{ incident.title }}", labels: [crisis]}
  - id: followups
    uses: jira.create_tasks
    needs: [epic]
    with:
      epic: "${{ steps.epic.key }}"
      tasks:
        - {summary: Reply to every customer, assignee: ereputation, due: 1d}
        - {summary: Call back affected customers, assignee: contact-centre, due: 2d}
        - {summary: Root cause, assignee: crisis-lead, due: 5d}
        - {summary: Post-incident review, assignee: comms, due: 7d}
  - id: chase
    uses: followup.schedule
    needs: [followups]
    with: {issues: "${{ steps.followups.keys }}", every: 1d, until_done: true}
"""


@pytest.fixture
def db(sandboxed) -> Engine:  # type: ignore[no-untyped-def]
    from firebreak.settings import get_settings
    from firebreak.store.db import engine_for

    return engine_for(get_settings().effective_database_url)


@pytest.fixture
def file_followups(db: Engine, tmp_path: Path) -> Callable[..., int]:
    """Declare an incident and run the playbook; returns the incident id."""
    from firebreak import incidents
    from firebreak.playbook.engine import Engine as PlaybookEngine
    from firebreak.playbook.loader import load_playbook
    from firebreak.playbook.runtime import SystemClock
    from firebreak.playbook.store_runtime import StoreRuntime
    from firebreak.roles import RoleBindings
    from firebreak.settings import get_settings
    from integrations.factory import build_integrations

    path = tmp_path / "file-and-chase.yaml"

    def run(title: str = "Wheelchair lost on AC212", *, text: str = PLAYBOOK) -> int:
        path.write_text(text, encoding="utf-8")
        playbook = load_playbook(path)
        with Session(db, expire_on_commit=False) as session:
            incident, _ = incidents.open_or_escalate(
                session,
                title=title,
                playbook=playbook.name,
                scope=f"test:{title}",
                severity="sev2",
                declared_by="lead",
            )
            session.commit()
        assert incident.id is not None
        settings = get_settings()
        runtime = StoreRuntime(
            db,
            incident.id,
            integrations=build_integrations(settings),
            roles=RoleBindings.load(settings.roles_file),
            clock=SystemClock(time_scale=600, poll_interval=300),
        )
        result = PlaybookEngine(playbook, runtime).run()
        assert result.status == "succeeded", result
        return incident.id

    return run
