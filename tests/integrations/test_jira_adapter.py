"""JiraTracker against the loopback Jira emulator, through the real `jira` client."""

from __future__ import annotations

import base64

import pytest

from firebreak.ports import IntegrationError, TaskSpec
from integrations.jira import JiraTracker
from integrations.policy import RetryPolicy
from integrations.sandbox import Sandbox
from tests.integrations.conftest import FAST, closed_port


def test_epic_and_tasks_are_one_post_each_with_tasks_under_the_epic(
    sb: Sandbox, tracker: JiraTracker
) -> None:
    epic = tracker.create_epic("Storm on #acme", "Negative spike", labels=["crisis"])
    tasks = tracker.create_tasks(
        epic.key,
        [TaskSpec("Draft holding statement", due="2026-12-01"), TaskSpec("Brief support")],
    )

    assert epic.key == "CRISIS-1" and epic.url == f"{sb.url('jira')}/browse/CRISIS-1"
    assert [t.key for t in tasks] == ["CRISIS-2", "CRISIS-3"]
    calls = [(r.method, r.path) for r in sb.requests("jira")]
    assert calls == [
        ("GET", "/rest/api/2/project/CRISIS"),
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue"),
    ]
    epic_fields = sb.requests("jira")[1].body["fields"]
    assert epic_fields == {
        "project": {"id": "10000"},
        "issuetype": {"id": "10000"},
        "summary": "Storm on #acme",
        "description": "Negative spike",
        "labels": ["crisis"],
    }
    task_fields = sb.requests("jira")[2].body["fields"]
    assert task_fields["parent"] == {"key": "CRISIS-1"} and task_fields["duedate"] == "2026-12-01"
    issues = {i["key"]: i for i in sb.state("jira")["issues"]}
    assert issues["CRISIS-3"]["fields"]["parent"] == {"key": "CRISIS-1"}
    assert issues["CRISIS-1"]["fields"]["issuetype"]["name"] == "Epic"
    user, _, token = (
        base64.b64decode(sb.requests("jira")[1].headers["authorization"][6:])
        .decode()
        .partition(":")
    )
    assert (user, token) == (sb.jira_user, sb.jira_token)


def test_comment_transition_and_open_tasks(sb: Sandbox, tracker: JiraTracker) -> None:
    epic = tracker.create_epic("Storm")
    first, second = tracker.create_tasks(epic.key, [TaskSpec("a"), TaskSpec("b")])
    tracker.comment(first.key, "Statement published")
    tracker.transition(first.key, "Done")

    assert tracker.open_tasks(epic.key) == [second.key]
    issues = {i["key"]: i for i in sb.state("jira")["issues"]}
    assert issues[first.key]["fields"]["status"]["name"] == "Done"
    assert issues[first.key]["fields"]["comment"]["comments"][0]["body"] == "Statement published"
    search = [r for r in sb.requests("jira") if r.path == "/rest/api/2/search"]
    assert search[0].query["jql"] == f"parent = {epic.key} AND status != Done"


def test_unknown_transition_names_the_available_ones(tracker: JiraTracker) -> None:
    epic = tracker.create_epic("Storm")
    with pytest.raises(IntegrationError) as caught:
        tracker.transition(epic.key, "Archived")
    assert caught.value.message == (
        f"Jira issue {epic.key} cannot move to 'Archived'; "
        "available transitions: done, in progress, to do"
    )


def test_jira_validation_errors_are_reported_with_the_field(tracker: JiraTracker) -> None:
    with pytest.raises(IntegrationError) as caught:
        tracker.create_epic("   ")
    assert "HTTP 400" in caught.value.message
    assert "summary: You must specify a summary of the issue." in caught.value.message
    assert not caught.value.retryable


def test_task_under_a_missing_epic_is_refused(tracker: JiraTracker) -> None:
    tracker.create_epic("Storm")
    with pytest.raises(IntegrationError, match="Could not find epic 'CRISIS-99'"):
        tracker.create_tasks("CRISIS-99", [TaskSpec("orphan")])


def test_comment_on_missing_issue(tracker: JiraTracker) -> None:
    with pytest.raises(IntegrationError) as caught:
        tracker.comment("CRISIS-404", "hello")
    assert caught.value.message.startswith("Jira refused to comment on CRISIS-404: HTTP 404")


def test_rate_limit_is_retried_then_succeeds(sb: Sandbox, tracker: JiraTracker) -> None:
    sb.fail("jira", r"POST /rest/api/2/issue$", status=429, retry_after=0, times=1)
    epic = tracker.create_epic("Storm")
    posts = [r.fault for r in sb.requests("jira") if r.method == "POST"]
    assert posts == ["429", None]
    assert [i["key"] for i in sb.state("jira")["issues"]] == [epic.key]


def test_outage_exhausts_retries_into_a_clear_retryable_error(
    sb: Sandbox, tracker: JiraTracker
) -> None:
    sb.fail("jira", r"POST /rest/api/2/issue$", status=503, retry_after=0, times=None)
    with pytest.raises(IntegrationError) as caught:
        tracker.create_epic("Storm")
    assert caught.value.message == (
        "Jira refused to create issue 'Storm': HTTP 503: Service unavailable"
    )
    assert caught.value.retryable
    assert len([r for r in sb.requests("jira") if r.method == "POST"]) == 1 + FAST.retries


def test_wrong_credentials_are_refused_without_revealing_the_token(sb: Sandbox) -> None:
    wrong = JiraTracker(sb.url("jira"), "firebreak", "not-the-token", project="CRISIS", policy=FAST)
    with pytest.raises(IntegrationError) as caught:
        wrong.create_epic("Storm")
    assert "HTTP 401" in caught.value.message
    assert "not-the-token" not in str(caught.value)


def test_unreachable_jira_fails_fast_and_clearly() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    dead = JiraTracker(
        url, "u", "t", project="CRISIS", policy=RetryPolicy(retries=1, max_delay=0.01)
    )
    with pytest.raises(IntegrationError) as caught:
        dead.create_epic("Storm")
    assert caught.value.message == f"Jira at {url} is unreachable: connection refused"
    assert caught.value.retryable


def test_a_jira_that_answers_too_slowly_is_a_retryable_timeout(sb: Sandbox) -> None:
    impatient = JiraTracker(
        sb.url("jira"),
        sb.jira_user,
        sb.jira_token,
        project="CRISIS",
        policy=RetryPolicy(retries=0, max_delay=0.01, timeout=0.2),
    )
    sb.slow("jira", "GET /rest/api/2/project", seconds=0.5, times=1)
    with pytest.raises(IntegrationError) as caught:
        impatient.create_epic("Storm")
    assert caught.value.message == f"Jira at {sb.url('jira')} did not answer in time"
    assert caught.value.retryable
