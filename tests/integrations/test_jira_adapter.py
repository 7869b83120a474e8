"""JiraTracker against the loopback Jira emulator, through the real `jira` client, in both flavours.

Cloud and Data Center refuse different things (see integrations/sandbox/jira.py); each test that
uses the `tracker` fixture runs against both.
"""

from __future__ import annotations

import base64

import pytest
import requests

from firebreak.ports import IntegrationError, TaskSpec
from integrations.jira import JiraTracker, shorten_summary
from integrations.policy import RetryPolicy
from integrations.sandbox import Sandbox
from integrations.sandbox.jira import EPIC_NAME_FIELD
from integrations.sandbox.jira_jql import EPIC_LINK_FIELD
from tests.integrations.conftest import FAST, closed_port


def _issues(sb: Sandbox) -> dict[str, dict]:  # type: ignore[type-arg]
    return {i["key"]: i for i in sb.state("jira")["issues"]}


def test_data_center_links_tasks_by_epic_link_names_epics_and_authenticates_by_bearer(
    sb: Sandbox, tracker: JiraTracker, flavour: str
) -> None:
    if flavour != "datacenter":
        pytest.skip("Data Center's rules")
    epic = tracker.create_epic("Storm on #acme", "Negative spike", labels=["crisis"])
    tasks = tracker.create_tasks(
        epic.key,
        [
            TaskSpec("Draft holding statement", due="2026-12-01", assignee="comms.lead"),
            TaskSpec("Brief support"),
        ],
    )

    assert epic.key == "CRISIS-1" and epic.url == f"{sb.url('jira')}/browse/CRISIS-1"
    assert [t.key for t in tasks] == ["CRISIS-2", "CRISIS-3"]
    calls = [(r.method, r.path) for r in sb.requests("jira")]
    assert calls == [
        ("GET", "/rest/api/2/project/CRISIS"),
        ("GET", "/rest/api/2/field"),  # Epic Link and Epic Name found once by their schema type
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue"),
    ]
    posts = [r.body["fields"] for r in sb.requests("jira") if r.method == "POST"]
    assert posts[0] == {
        "project": {"id": "10000"},
        "issuetype": {"id": "10000"},
        "summary": "Storm on #acme",
        "description": "Negative spike",
        "labels": ["crisis"],
        EPIC_NAME_FIELD: "Storm on #acme",
    }
    assert "parent" not in posts[1] and posts[1][EPIC_LINK_FIELD] == "CRISIS-1"
    assert posts[1]["assignee"] == {"name": "comms.lead"}
    issues = _issues(sb)
    assert issues["CRISIS-3"]["fields"][EPIC_LINK_FIELD] == "CRISIS-1"
    assert issues["CRISIS-2"]["fields"]["assignee"]["name"] == "comms.lead"
    assert issues["CRISIS-1"]["fields"]["issuetype"]["name"] == "Epic"
    assert {r.headers["authorization"] for r in sb.requests("jira")} == {f"Bearer {sb.jira_token}"}


def test_cloud_puts_tasks_under_the_epic_by_parent_and_assigns_by_account_id(
    sb: Sandbox, tracker: JiraTracker, flavour: str
) -> None:
    if flavour != "cloud":
        pytest.skip("Cloud's rules")
    epic = tracker.create_epic("Storm on #acme", labels=["crisis"])
    (task,) = tracker.create_tasks(
        epic.key, [TaskSpec("Draft holding statement", assignee="5f1a00000000000000000002")]
    )

    assert [(r.method, r.path) for r in sb.requests("jira")] == [
        ("GET", "/rest/api/2/project/CRISIS"),
        ("POST", "/rest/api/2/issue"),
        ("POST", "/rest/api/2/issue"),
    ]
    sent = sb.requests("jira")[2].body["fields"]
    assert sent["parent"] == {"key": epic.key}
    assert sent["assignee"] == {"accountId": "5f1a00000000000000000002"}
    fields = _issues(sb)[task.key]["fields"]
    assert fields["parent"] == {"key": epic.key}
    assert fields["assignee"]["accountId"] == "5f1a00000000000000000002"
    user, _, token = (
        base64.b64decode(sb.requests("jira")[1].headers["authorization"][6:])
        .decode()
        .partition(":")
    )
    assert (user, token) == (sb.jira_user, sb.jira_token)


def test_the_emulator_refuses_the_other_flavours_requests(sb: Sandbox) -> None:
    """What the adapter used to send, refused as the real services refuse it."""
    sb.jira_flavour = "datacenter"
    basic = JiraTracker(
        sb.url("jira"), sb.jira_user, sb.jira_token, project="CRISIS", flavour="cloud", policy=FAST
    )
    with pytest.raises(IntegrationError) as caught:
        basic.create_epic("Storm")
    assert "HTTP 401" in caught.value.message
    assert "a self-hosted Jira needs FIREBREAK_JIRA_FLAVOUR=datacenter" in caught.value.message
    assert sb.jira_token not in str(caught.value)

    dc = JiraTracker(
        sb.url("jira"), None, sb.jira_token, project="CRISIS", flavour="datacenter", policy=FAST
    )
    epic = dc.create_epic("Storm")
    bearer = {"Authorization": f"Bearer {sb.jira_token}"}
    task = {"project": {"id": "10000"}, "issuetype": {"id": "10001"}, "summary": "Task"}
    refused = requests.post(
        f"{sb.url('jira')}/rest/api/2/issue",
        json={"fields": {**task, "parent": {"key": epic.key}}},
        headers=bearer,
        timeout=5,
    )
    assert refused.status_code == 400
    assert refused.json()["errors"] == {
        "parent": "Field 'parent' cannot be set. It is not on the appropriate screen, or unknown."
    }
    nameless = requests.post(
        f"{sb.url('jira')}/rest/api/2/issue",
        json={"fields": {**task, "issuetype": {"id": "10000"}}},
        headers=bearer,
        timeout=5,
    )
    assert nameless.json()["errors"] == {EPIC_NAME_FIELD: "Epic Name is required."}

    sb.jira_flavour = "cloud"
    auth = (sb.jira_user, sb.jira_token)
    gone = requests.get(
        f"{sb.url('jira')}/rest/api/2/search", params={"jql": "project = CRISIS"}, auth=auth
    )
    assert gone.status_code == 410 and "/rest/api/3/search/jql" in gone.text
    requests.post(
        f"{sb.url('jira')}/rest/api/2/issue",
        json={"fields": {**task, "issuetype": {"id": "10000"}}},
        auth=auth,
        timeout=5,
    ).raise_for_status()
    by_name = requests.post(
        f"{sb.url('jira')}/rest/api/2/issue",
        json={"fields": {**task, "assignee": {"name": "comms.lead"}}},
        auth=auth,
        timeout=5,
    )
    # Cloud takes the request and ignores the name: the task is nobody's.
    assert by_name.status_code == 201
    assert _issues(sb)[by_name.json()["key"]]["fields"]["assignee"] is None
    pat = requests.get(f"{sb.url('jira')}/rest/api/2/myself", headers=bearer, timeout=5)
    assert pat.status_code == 401


def test_a_long_summary_is_shortened_with_the_whole_text_in_the_description(
    sb: Sandbox, tracker: JiraTracker
) -> None:
    title = "Storm 🌩 " + "very angry customers " * 20  # the emoji counts twice, as in Java
    epic = tracker.create_epic(title, "Negative spike")
    (task,) = tracker.create_tasks(epic.key, [TaskSpec(title)])

    for key in (epic.key, task.key):
        fields = _issues(sb)[key]["fields"]
        assert fields["summary"].endswith("…")
        assert len(fields["summary"].encode("utf-16-le")) // 2 == 255
        assert fields["summary"][:-1].rstrip() in title
        assert fields["description"].startswith(title)
    assert _issues(sb)[epic.key]["fields"]["description"] == f"{title}\n\nNegative spike"
    assert shorten_summary("short") == "short"


def test_comment_transition_and_open_tasks(sb: Sandbox, tracker: JiraTracker, flavour: str) -> None:
    epic = tracker.create_epic("Storm")
    first, second = tracker.create_tasks(epic.key, [TaskSpec("a"), TaskSpec("b")])
    tracker.comment(first.key, "Statement published")
    tracker.transition(first.key, "Done")

    assert tracker.open_tasks(epic.key) == [second.key]
    issues = _issues(sb)
    assert issues[first.key]["fields"]["status"]["name"] == "Done"
    assert issues[first.key]["fields"]["comment"]["comments"][0]["body"] == "Statement published"
    searches = [r for r in sb.requests("jira") if "/search" in r.path]
    if flavour == "cloud":  # GET /rest/api/2/search is gone from Cloud
        assert [r.path for r in searches] == ["/rest/api/2/search/jql"]
        assert searches[0].query["jql"] == f"parent = {epic.key} AND status != Done"
    else:
        assert [r.path for r in searches] == ["/rest/api/2/search"]
        assert searches[0].query["jql"] == f'"Epic Link" = {epic.key} AND status != Done'


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


def test_a_bad_due_date_is_refused_naming_the_field(tracker: JiraTracker) -> None:
    epic = tracker.create_epic("Storm")
    with pytest.raises(IntegrationError, match="duedate: Error parsing date string: tomorrow"):
        tracker.create_tasks(epic.key, [TaskSpec("a", due="tomorrow")])


def test_comment_on_missing_issue(tracker: JiraTracker) -> None:
    with pytest.raises(IntegrationError) as caught:
        tracker.comment("CRISIS-404", "hello")
    assert caught.value.message.startswith("Jira refused to comment on CRISIS-404: HTTP 404")


def test_check_verifies_the_flavour_against_the_server(sb: Sandbox, flavour: str) -> None:
    other = "cloud" if flavour == "datacenter" else "datacenter"
    right = JiraTracker(
        sb.url("jira"), sb.jira_user, sb.jira_token, project="CRISIS", flavour=flavour, policy=FAST
    )
    assert right.check()
    sb.jira_flavour = other  # the same URL now answers as the other flavour
    wrong = JiraTracker(
        sb.url("jira"), sb.jira_user, sb.jira_token, project="CRISIS", flavour=flavour, policy=FAST
    )
    with pytest.raises(IntegrationError) as caught:
        wrong.check()
    # The other flavour's credentials are refused before anything else: the hint says why.
    assert "HTTP 401" in caught.value.message
    assert f"needs FIREBREAK_JIRA_FLAVOUR={other}" in caught.value.message


def test_data_center_without_an_epic_link_field_says_which_setting(sb: Sandbox) -> None:
    sb.jira_flavour = "datacenter"
    sb.jira.fields = lambda: []  # type: ignore[method-assign]  # a Jira without Jira Software
    try:
        tracker = JiraTracker(
            sb.url("jira"), None, sb.jira_token, project="CRISIS", flavour="datacenter", policy=FAST
        )
        with pytest.raises(IntegrationError, match="set FIREBREAK_JIRA_EPIC_LINK_FIELD"):
            tracker.create_tasks("CRISIS-1", [TaskSpec("a")])
    finally:
        del sb.jira.fields


def test_configured_epic_fields_skip_the_lookup(sb: Sandbox) -> None:
    sb.jira_flavour = "datacenter"
    tracker = JiraTracker(
        sb.url("jira"),
        None,
        sb.jira_token,
        project="CRISIS",
        flavour="datacenter",
        epic_link_field=EPIC_LINK_FIELD,
        epic_name_field=EPIC_NAME_FIELD,
        policy=FAST,
    )
    epic = tracker.create_epic("Storm")
    tracker.create_tasks(epic.key, [TaskSpec("a")])
    assert "/rest/api/2/field" not in [r.path for r in sb.requests("jira")]


def test_rate_limit_is_retried_then_succeeds(sb: Sandbox, tracker: JiraTracker) -> None:
    sb.fail("jira", r"POST /rest/api/2/issue$", status=429, retry_after=0, times=1)
    epic = tracker.create_epic("Storm")
    posts = [r.fault for r in sb.requests("jira") if r.method == "POST"]
    assert posts == ["429", None]
    assert [i["key"] for i in sb.state("jira")["issues"]] == [epic.key]


def test_a_long_retry_after_is_not_cut_short_but_left_to_the_playbook(
    sb: Sandbox, tracker: JiraTracker
) -> None:
    sb.fail("jira", r"POST /rest/api/2/issue$", status=429, retry_after=10, times=1)
    with pytest.raises(IntegrationError) as caught:
        tracker.create_epic("Storm")
    # The Jira client alone would have come back within its 5 s cap; nothing is asked again here.
    assert [r.fault for r in sb.requests("jira") if r.method == "POST"] == ["429"]
    assert caught.value.retryable and caught.value.retry_after == 10
    assert sb.state("jira")["issues"] == []


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


def test_wrong_credentials_are_refused_without_revealing_the_token(
    sb: Sandbox, flavour: str
) -> None:
    wrong = JiraTracker(
        sb.url("jira"), sb.jira_user, "bad-token", project="CRISIS", flavour=flavour, policy=FAST
    )
    with pytest.raises(IntegrationError) as caught:
        wrong.create_epic("Storm")
    assert "HTTP 401" in caught.value.message
    assert "bad-token" not in str(caught.value)


def test_unreachable_jira_fails_fast_and_clearly() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    dead = JiraTracker(
        url,
        "u",
        "t",
        project="CRISIS",
        flavour="cloud",
        policy=RetryPolicy(retries=1, max_delay=0.01),
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
        flavour=sb.jira_flavour,
        policy=RetryPolicy(retries=0, max_delay=0.01, timeout=0.2),
    )
    sb.slow("jira", "GET /rest/api/2/project", seconds=0.5, times=1)
    with pytest.raises(IntegrationError) as caught:
        impatient.create_epic("Storm")
    assert caught.value.message == f"Jira at {sb.url('jira')} did not answer in time"
    assert caught.value.retryable
