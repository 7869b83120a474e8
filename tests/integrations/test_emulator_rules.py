"""The emulators refuse what the real services refuse, with their wording: requests sent raw,
so the rules are seen even where our adapters never break them."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from integrations.sandbox import Sandbox
from integrations.sandbox.jira import CANNOT_SET

GOOD = {"summary": "Storm", "source": "firebreak", "severity": "critical"}


def _enqueue(sb: Sandbox, event: dict[str, Any]) -> requests.Response:
    return requests.post(
        f"{sb.url('pagerduty')}/v2/enqueue", json=event, verify=str(sb.ca_file), timeout=5
    )


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"event_action": "escalate"}, "'event_action' is invalid"),
        ({"routing_key": "k" * 31}, "Length of 'routing_key' is incorrect"),
        ({"routing_key": None}, "'routing_key' is missing or blank"),
        ({"dedup_key": "d" * 256}, "'dedup_key' must be a string of at most 255 characters"),
        ({"payload": {**GOOD, "summary": "s" * 1025}}, "longer than 1024 characters"),
        ({"payload": {**GOOD, "severity": "sev1"}}, "'payload.severity' is invalid"),
        ({"payload": {**GOOD, "source": ""}}, "'payload.source' is missing or blank"),
        ({"payload": None}, "'payload' is missing or not an object"),
        ({"event_action": "resolve", "dedup_key": None}, "'dedup_key' is missing or blank"),
        ({"routing_key": "f" * 32}, "Invalid routing key"),
    ],
)
def test_pagerduty_refuses_malformed_events(
    sb: Sandbox, change: dict[str, Any], error: str
) -> None:
    event = {
        "routing_key": sb.routing_key,
        "event_action": "trigger",
        "dedup_key": "d-1",
        "payload": GOOD,
    }
    event.update(change)
    answer = _enqueue(sb, {k: v for k, v in event.items() if v is not None})
    assert answer.status_code == 400
    assert answer.json()["status"] == "invalid event"
    assert any(error in e for e in answer.json()["errors"]), answer.json()
    assert sb.state("pagerduty")["pages"] == []


def test_pagerduty_accepts_a_well_formed_event_at_the_limits(sb: Sandbox) -> None:
    event = {
        "routing_key": sb.routing_key,
        "event_action": "trigger",
        "dedup_key": "d" * 255,
        "payload": {**GOOD, "summary": "s" * 1024, "severity": "info"},
    }
    assert _enqueue(sb, event).status_code == 202
    assert len(sb.state("pagerduty")["pages"]) == 1


def _jira(sb: Sandbox, method: str, path: str, **kwargs: Any) -> requests.Response:
    auth: dict[str, Any] = (
        {"auth": (sb.jira_user, sb.jira_token)}
        if sb.jira_flavour == "cloud"
        else {"headers": {"Authorization": f"Bearer {sb.jira_token}"}}
    )
    return requests.request(method, f"{sb.url('jira')}{path}", timeout=5, **auth, **kwargs)


TASK = {"project": {"key": "CRISIS"}, "issuetype": {"name": "Task"}, "summary": "Task"}


@pytest.mark.parametrize("flavour", ["datacenter", "cloud"])
def test_jira_refuses_fields_the_create_screen_lacks_and_long_summaries(
    sb: Sandbox, flavour: str
) -> None:
    sb.jira_flavour = flavour
    answer = _jira(
        sb,
        "POST",
        "/rest/api/2/issue",
        json={"fields": {**TASK, "summary": "x" * 256, "priority": {"name": "High"}}},
    )
    assert answer.status_code == 400
    assert answer.json()["errors"] == {
        "summary": "Summary must be less than 255 characters.",
        "priority": CANNOT_SET.format(name="priority"),
    }
    emoji = _jira(sb, "POST", "/rest/api/2/issue", json={"fields": {**TASK, "summary": "🌩" * 128}})
    assert emoji.status_code == 400  # 256 UTF-16 units, as Java counts them
    other = "parent" if flavour == "datacenter" else "customfield_10014"
    linked = _jira(sb, "POST", "/rest/api/2/issue", json={"fields": {**TASK, other: "CRISIS-1"}})
    assert linked.status_code == 400 and other in linked.json()["errors"]
    assert sb.state("jira")["issues"] == []


def test_jira_data_center_wants_a_username_assignee_the_site_has(sb: Sandbox) -> None:
    sb.jira_flavour = "datacenter"
    by_id = _jira(
        sb, "POST", "/rest/api/2/issue", json={"fields": {**TASK, "assignee": {"accountId": "x"}}}
    )
    assert by_id.json()["errors"] == {"assignee": "expected Object containing a 'name' property"}
    stranger = _jira(
        sb, "POST", "/rest/api/2/issue", json={"fields": {**TASK, "assignee": {"name": "zed"}}}
    )
    assert stranger.json()["errors"] == {"assignee": "User 'zed' does not exist."}
    assert _jira(sb, "GET", "/rest/api/2/search/jql", params={"jql": "key = X"}).status_code == 404


def test_jira_cloud_refuses_unknown_accounts_and_unbounded_search(sb: Sandbox) -> None:
    sb.jira_flavour = "cloud"
    stranger = _jira(
        sb,
        "POST",
        "/rest/api/2/issue",
        json={"fields": {**TASK, "assignee": {"accountId": "5f1a0000000000000000dead"}}},
    )
    assert stranger.json()["errors"] == {
        "assignee": "Account ID 5f1a0000000000000000dead does not exist."
    }
    unbounded = _jira(sb, "GET", "/rest/api/3/search/jql", params={"jql": ""})
    assert unbounded.status_code == 400 and "Unbounded JQL" in unbounded.text
    assert _jira(sb, "GET", "/rest/api/2/search", params={"jql": "key = X"}).status_code == 410
