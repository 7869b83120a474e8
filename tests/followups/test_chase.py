"""`firebreak followups chase|list` against the sandbox: what Jira, Slack and the timeline see."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session
from typer.testing import CliRunner

from cli.main import app
from firebreak import followups, incidents
from firebreak.settings import get_settings
from integrations.factory import build_integrations
from integrations.jira import JiraTracker
from integrations.sandbox import Sandbox
from tests.integrations.conftest import FAST, closed_port

runner = CliRunner()
TASKS = ["CRISIS-2", "CRISIS-3", "CRISIS-4", "CRISIS-5"]  # CRISIS-1 is the epic


def jira(sb: Sandbox) -> JiraTracker:
    return JiraTracker(
        sb.url("jira"),
        sb.jira_user,
        sb.jira_token,
        project=sb.jira_project,
        flavour=sb.jira_flavour,
        policy=FAST,
    )


def done(sb: Sandbox, *keys: str) -> None:
    """Someone closes issues in Jira: the real client, over the wire."""
    tracker = jira(sb)
    for key in keys:
        tracker.transition(key, "Done")


def chaser_comments(sb: Sandbox) -> dict[str, list[str]]:
    """Per issue, the comments other than the one `followup.schedule` left when scheduling."""
    issues = sb.state("jira")["issues"]
    return {
        i["key"]: [
            c["body"]
            for c in i["fields"]["comment"]["comments"]
            if not c["body"].startswith("Firebreak will chase")
        ]
        for i in issues
        if i["key"] in TASKS
    }


def events(db: Engine, incident_id: int, prefix: str = "followup.") -> list[Any]:
    with Session(db) as session:
        return [e for e in incidents.timeline(session, incident_id) if e.kind.startswith(prefix)]


def chase(*args: str) -> Any:
    result = runner.invoke(app, ["followups", "chase", *args])
    assert "Traceback" not in result.output
    return result


def test_open_issues_are_chased_until_all_are_done_then_never_again(
    sandboxed: Sandbox, db: Engine, file_followups
) -> None:
    incident = file_followups()
    assert [e.kind for e in events(db, incident)] == ["followup.scheduled"]
    done(sandboxed, "CRISIS-2", "CRISIS-4")

    first = chase("--now", "--json")
    assert first.exit_code == 0, first.output
    [result] = json.loads(first.output)
    assert result["outcome"] == "chased" and result["commented"] == ["CRISIS-3", "CRISIS-5"]

    note = f"Still open less than a minute after incident {incident}; please update or close it."
    assert chaser_comments(sandboxed) == {
        "CRISIS-2": [],
        "CRISIS-3": [note],
        "CRISIS-4": [],
        "CRISIS-5": [note],
    }
    chased = events(db, incident)[-1]
    assert chased.kind == "followup.chased"
    assert chased.summary == "2 of 4 follow-ups still open: CRISIS-3, CRISIS-5"
    assert chased.data["statuses"]["CRISIS-3"] == {
        "name": "To Do",
        "assignee": "contact.centre.lead",
    }
    # The war room hears it too.
    posts = [r.body for r in sandboxed.requests("slack") if r.path.endswith("chat.postMessage")]
    assert posts[-1]["text"] == (
        f"Follow-ups of incident {incident}: 2 of 4 follow-ups still open: CRISIS-3, CRISIS-5"
    )

    done(sandboxed, "CRISIS-3", "CRISIS-5")
    table = chase("--now")
    assert table.exit_code == 0, table.output
    # Rich wraps the table's cells at the runner's 80 columns; the timeline has the exact text.
    assert "done" in table.output and "All 4" in table.output
    assert [e.summary for e in events(db, incident)[1:]] == [
        "2 of 4 follow-ups still open: CRISIS-3, CRISIS-5",
        "All 4 follow-ups done",
    ]
    assert events(db, incident)[-1].kind == "followup.done"

    before = len(sandboxed.requests("jira"))
    again = chase("--now")
    assert again.exit_code == 0 and "Nothing to chase" in again.output
    assert len(sandboxed.requests("jira")) == before  # Jira is not even asked
    assert len(events(db, incident)) == 3
    assert chaser_comments(sandboxed)["CRISIS-3"] == [note]  # chased once, never again

    listed = runner.invoke(app, ["followups", "list", "--all", "--json"])
    [schedule] = json.loads(listed.output)
    assert schedule["finished"] == "followup.done" and schedule["chases"] == 1


def test_a_schedule_is_due_every_period_after_its_last_chase(
    sandboxed: Sandbox, db: Engine, file_followups
) -> None:
    incident = file_followups()
    not_yet = chase()
    assert not_yet.exit_code == 0
    assert "Nothing due: 1 schedule(s) running" in " ".join(not_yet.output.split())
    assert chaser_comments(sandboxed)["CRISIS-2"] == []

    [schedule] = json.loads(runner.invoke(app, ["followups", "list", "--json"]).output)
    scheduled_at = datetime.fromisoformat(schedule["scheduled_at"])
    assert datetime.fromisoformat(schedule["next_due"]) == scheduled_at + timedelta(days=1)
    assert schedule["issues"] == TASKS and schedule["still_open"] is None

    services = build_integrations(get_settings())
    a_day_later = scheduled_at + timedelta(days=1, minutes=1)
    with Session(db, expire_on_commit=False) as session:
        [result] = followups.chase_due(session, services.tracker, None, a_day_later)
        assert result.outcome == "chased" and result.commented == tuple(TASKS)
        # Chased a minute ago: not due again until a day after that chase.
        assert followups.chase_due(session, services.tracker, None, a_day_later) == []
        [later] = followups.chase_due(
            session, services.tracker, None, a_day_later + timedelta(days=1)
        )
    assert later.outcome == "chased"
    assert chaser_comments(sandboxed)["CRISIS-2"] == [
        f"Still open 1 day after incident {incident}; please update or close it.",
        f"Still open 2 days after incident {incident}; please update or close it.",
    ]
    table = runner.invoke(app, ["followups", "list"]).output
    assert "file-and-chase" not in table and "chase" in table and " 2 " in table


def test_unreachable_jira_is_one_clear_event_and_the_schedule_stays_due(
    sandboxed: Sandbox, db: Engine, file_followups, monkeypatch
) -> None:
    incident = file_followups()
    monkeypatch.setenv("FIREBREAK_JIRA_URL", f"http://127.0.0.1:{closed_port()}")
    get_settings.cache_clear()

    failed = chase("--now")
    assert failed.exit_code == 1
    assert "could not be chased" in " ".join(failed.output.split())
    event = events(db, incident)[-1]
    assert event.kind == "followup.chase_failed"
    assert event.summary.startswith(f"Could not chase the 4 follow-ups of incident {incident}: ")
    assert "is unreachable: connection refused." in event.summary
    assert event.summary.endswith("They are chased again next pass.")

    # Nothing lost: still running, and the next pass (Jira back) chases every open issue.
    [schedule] = json.loads(runner.invoke(app, ["followups", "list", "--json"]).output)
    assert schedule["finished"] is None and schedule["chases"] == 0
    monkeypatch.setenv("FIREBREAK_JIRA_URL", sandboxed.url("jira"))
    get_settings.cache_clear()
    ok = chase("--now")
    assert ok.exit_code == 0, ok.output
    assert all(len(c) == 1 for c in chaser_comments(sandboxed).values())
    assert events(db, incident)[-1].summary == (
        "4 of 4 follow-ups still open: CRISIS-2, CRISIS-3, CRISIS-4, CRISIS-5"
    )


def test_a_pass_retried_after_failing_half_way_never_comments_twice(
    sandboxed: Sandbox, db: Engine, file_followups
) -> None:
    incident = file_followups()
    sandboxed.fail("jira", r"POST /rest/api/2/issue/CRISIS-4/comment", status=400, times=1)

    first = chase("--now")
    assert first.exit_code == 1
    event = events(db, incident)[-1]
    assert event.kind == "followup.chase_failed"
    assert event.summary.startswith(
        f"Chased 2 of the 4 open follow-ups of incident {incident}, then: Jira refused"
    )
    assert [k for k, c in chaser_comments(sandboxed).items() if c] == ["CRISIS-2", "CRISIS-3"]

    second = chase("--now", "--json")
    assert second.exit_code == 0, second.output
    assert json.loads(second.output)[0]["commented"] == ["CRISIS-4", "CRISIS-5"]
    assert {k: len(c) for k, c in chaser_comments(sandboxed).items()} == dict.fromkeys(TASKS, 1)
    assert [e.kind for e in events(db, incident)] == [
        "followup.scheduled",
        "followup.chase_failed",
        "followup.chased",
    ]


def test_until_done_false_stops_when_the_incident_is_resolved(
    sandboxed: Sandbox, db: Engine, file_followups
) -> None:
    from tests.followups.conftest import PLAYBOOK

    incident = file_followups(text=PLAYBOOK.replace("until_done: true", "until_done: false"))
    with Session(db) as session:
        row = session.get(incidents.Incident, incident)
        assert row is not None
        incidents.resolve_incident(session, row, actor="lead", reason="calm again")
        session.commit()
    result = chase("--now")
    assert result.exit_code == 0
    assert events(db, incident)[-1].kind == "followup.stopped"
    assert chaser_comments(sandboxed) == {key: [] for key in TASKS}
    assert "No follow-up schedules are running" in runner.invoke(app, ["followups", "list"]).output


def test_chase_without_jira_settings_says_what_is_missing(
    sandboxed: Sandbox, db: Engine, file_followups, monkeypatch
) -> None:
    file_followups()
    monkeypatch.delenv("FIREBREAK_JIRA_TOKEN")
    get_settings.cache_clear()
    result = chase("--now")
    assert result.exit_code == 1
    assert "FIREBREAK_JIRA_TOKEN" in result.output and "Traceback" not in result.output


def test_nothing_scheduled_needs_no_settings(firebreak_home) -> None:
    result = chase("--now")
    assert result.exit_code == 0 and "Nothing to chase" in result.output
    assert "No follow-up schedules" in runner.invoke(app, ["followups", "list"]).output


def test_issue_status_reads_status_and_assignee_in_one_request(sandboxed: Sandbox) -> None:
    from firebreak.ports import IntegrationError, IssueStatus, TaskSpec

    tracker = jira(sandboxed)
    epic = tracker.create_epic("Storm")
    first, second = tracker.create_tasks(
        epic.key, [TaskSpec("a", assignee="comms.lead"), TaskSpec("b")]
    )
    tracker.transition(first.key, "In Progress")
    assert tracker.status(first.key) == IssueStatus(first.key, "In Progress", False, "comms.lead")
    tracker.transition(second.key, "Done")
    assert tracker.status(second.key) == IssueStatus(second.key, "Done", True, None)
    reads = [r for r in sandboxed.requests("jira") if r.path == f"/rest/api/2/issue/{first.key}"]
    assert [(r.method, r.query) for r in reads] == [("GET", {"fields": "status,assignee"})]
    try:
        tracker.status("CRISIS-99")
    except IntegrationError as exc:
        assert exc.message == (
            "Jira refused to read issue CRISIS-99: HTTP 404: "
            "Issue does not exist or you do not have permission to see it."
        )
    else:
        raise AssertionError("an unknown issue must raise IntegrationError")


def test_the_status_request_matches_the_jira_platform_spec(sandboxed: Sandbox) -> None:
    from firebreak.ports import TaskSpec
    from tests.integrations.test_contracts import _errors, _jira_request, _spec

    spec = _spec("jira-platform.openapi.json")
    tracker = jira(sandboxed)
    [task] = tracker.create_tasks(tracker.create_epic("Storm").key, [TaskSpec("a")])
    tracker.status(task.key)
    [read] = [r for r in sandboxed.requests("jira") if r.path == f"/rest/api/2/issue/{task.key}"]
    assert read.method == "GET" and read.query == {"fields": "status,assignee"}
    assert _errors(spec, _jira_request(read)) == []
