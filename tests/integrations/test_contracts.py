"""Every request the adapters send has the shape the real service documents.

PagerDuty and Jira requests recorded by the sandbox are validated with openapi-core against the
official OpenAPI descriptions in ../shared/specs (absent in a user's fresh clone: then these skip).
Slack publishes no maintained OpenAPI description, so its calls are checked against a small table
taken from the method documentation (required arguments, JSON or form body).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from firebreak.ports import TaskSpec
from integrations.jira import JiraTracker
from integrations.pagerduty import PagerDutyPager
from integrations.sandbox import Request, Sandbox
from integrations.slack import SlackChat
from tests.conftest import shared_or_skip

JIRA_HOST = "https://your-domain.atlassian.net"
PAGERDUTY_HOST = "https://events.pagerduty.com"


@cache
def _spec(name: str) -> OpenAPI:
    path: Path = shared_or_skip("specs", name)
    document = json.loads(path.read_text())
    # The Jira document does not pass strict spec validation itself (see specs/README.md).
    return OpenAPI.from_dict(document, config=Config(spec_validator_cls=None))


@dataclass
class _WireRequest:
    """A recorded request in the shape openapi-core reads."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


def _as_openapi(recorded: Request, host: str, path: str, query: dict[str, str]) -> _WireRequest:
    return _WireRequest(
        host_url=host,
        path=path,
        method=recorded.method.lower(),
        body=recorded.raw or None,
        content_type=recorded.headers.get("content-type", JSON),
        parameters=RequestParameters(
            query=ImmutableMultiDict(query),
            header=Headers(recorded.headers),
        ),
    )


def _errors(spec: OpenAPI, request: _WireRequest) -> list[str]:
    from openapi_core.validation.request.exceptions import SecurityValidationError

    errors = []
    for error in spec.iter_request_errors(request):
        if isinstance(error, SecurityValidationError):
            continue  # the spec's auth schemes are Cloud's; the sandbox checks Basic auth itself
        errors.append(f"{error}: {getattr(error, '__cause__', '')}")
    return errors


def _jira_request(recorded: Request) -> _WireRequest:
    """/rest/api/2 -> /rest/api/3, plus the differences real Jira accepts (specs/README.md)."""
    query = dict(recorded.query)
    if query.get("validateQuery") == "True":
        query["validateQuery"] = "strict"  # the client sends a boolean; v2 takes it as strict
    wire = _as_openapi(
        recorded, JIRA_HOST, recorded.path.replace("/rest/api/2/", "/rest/api/3/", 1), query
    )
    body = recorded.body
    transition = body.get("transition") if isinstance(body, dict) else None
    if isinstance(transition, dict) and isinstance(transition.get("id"), int):
        body = {**body, "transition": {**transition, "id": str(transition["id"])}}
        wire.body = json.dumps(body).encode()
    return wire


def _jira_resource(path: str) -> str:
    return re.sub(r"CRISIS-\d+", "{key}", path).replace("/project/CRISIS", "/project/{key}")


def test_every_pagerduty_request_matches_the_events_v2_spec(
    sb: Sandbox, pager: PagerDutyPager
) -> None:
    spec = _spec("pagerduty-events-v2.openapi.json")
    pager.trigger(
        "Storm on #acme",
        dedup_key="c-1",
        severity="warning",
        details={"mentions": 9},
        links=[{"href": "https://example.test/i/1", "text": "Incident"}],
    )
    pager.trigger("Minimal", dedup_key="c-2")
    pager.acknowledge("c-1")
    pager.resolve("c-1")
    recorded = sb.requests("pagerduty")
    assert len(recorded) == 4
    for request in recorded:
        wire = _as_openapi(request, PAGERDUTY_HOST, request.path, dict(request.query))
        assert _errors(spec, wire) == [], request.body


def test_the_pagerduty_spec_check_catches_a_malformed_event(sb: Sandbox) -> None:
    spec = _spec("pagerduty-events-v2.openapi.json")
    bad = Request(
        service="pagerduty",
        method="POST",
        path="/v2/enqueue",
        query={},
        headers={"content-type": "application/json"},
        body=None,
        raw=json.dumps({"routing_key": "k" * 32, "event_action": "explode"}).encode(),
        at=0.0,
    )
    assert _errors(spec, _as_openapi(bad, PAGERDUTY_HOST, bad.path, {})) != []


# Cloud's enhanced search (`/rest/api/{2,3}/search/jql`) came after the stored description
# (2024-03); its query parameters, from the REST reference ("Search for issues using JQL enhanced
# search (GET)"): `jql` is required, `startAt`/`validateQuery` of the removed search are not taken.
SEARCH_JQL_PARAMS = {
    "jql",
    "nextPageToken",
    "maxResults",
    "fields",
    "expand",
    "properties",
    "fieldsByKeys",
    "failFast",
    "reconcileIssues",
}


def _search_jql_problems(request: Request) -> list[str]:
    problems = [f"unknown parameter {p!r}" for p in sorted(set(request.query) - SEARCH_JQL_PARAMS)]
    if not request.query.get("jql"):
        problems.append("jql is required")
    if request.method != "GET" and request.method != "POST":
        problems.append(f"method {request.method}")
    return problems


def test_every_jira_request_matches_the_platform_spec(
    sb: Sandbox, tracker: JiraTracker, flavour: str
) -> None:
    spec = _spec("jira-platform.openapi.json")
    tracker.check()
    epic = tracker.create_epic("Storm", "Negative spike", labels=["crisis"])
    who = "5f1a00000000000000000001" if flavour == "cloud" else "crisis.lead"
    first, _ = tracker.create_tasks(
        epic.key, [TaskSpec("Statement", due="2026-12-01", assignee=who), TaskSpec("Brief")]
    )
    tracker.comment(first.key, "Published")
    tracker.transition(first.key, "In Progress")
    tracker.status(first.key)
    tracker.open_tasks(epic.key)
    tracker.person(who)
    recorded = sb.requests("jira")
    search = "/rest/api/2/search/jql" if flavour == "cloud" else "/rest/api/2/search"
    assert {(r.method, _jira_resource(r.path)) for r in recorded} == {
        ("GET", "/rest/api/2/serverInfo"),
        ("GET", "/rest/api/2/project/{key}"),
        ("POST", "/rest/api/2/issue"),
        ("GET", "/rest/api/2/issue/{key}"),
        ("POST", "/rest/api/2/issue/{key}/comment"),
        ("GET", "/rest/api/2/issue/{key}/transitions"),
        ("POST", "/rest/api/2/issue/{key}/transitions"),
        ("GET", "/rest/api/2/field"),
        ("GET", "/rest/api/2/user"),
        ("GET", search),
    }
    checked = 0
    for request in recorded:
        if request.path.endswith("/search/jql"):
            assert _search_jql_problems(request) == [], request.query
        else:
            assert _errors(spec, _jira_request(request)) == [], (request.method, request.path)
        checked += 1
    assert checked == len(recorded) >= 10
    # Every field sent on a create is one the flavour's create screen has (the emulator refuses
    # others); Cloud never gets Data Center's custom fields, Data Center never gets `parent`.
    sent = {
        name
        for r in recorded
        if r.method == "POST" and r.path.endswith("/issue")
        for name in r.body["fields"]
    }
    if flavour == "cloud":
        assert "parent" in sent and not any(n.startswith("customfield_") for n in sent)
    else:
        assert "parent" not in sent and {"customfield_10011", "customfield_10014"} <= sent


def test_the_search_jql_check_catches_the_removed_searchs_parameters() -> None:
    old = Request("jira", "GET", "/rest/api/2/search/jql", {"startAt": "0"}, {}, None, b"", 0.0)
    assert _search_jql_problems(old) == ["unknown parameter 'startAt'", "jql is required"]


# Slack: per method, the arguments its documentation marks required and the body it is sent as.
# https://api.slack.com/methods/<method>: "JSON-encoded bodies" are accepted by chat.* methods;
# conversations.* and users.* take application/x-www-form-urlencoded.
FORM, JSON = "application/x-www-form-urlencoded", "application/json"
SLACK_METHODS: dict[str, tuple[set[str], str]] = {
    "auth.test": (set(), FORM),
    "conversations.create": ({"name"}, FORM),
    "conversations.invite": ({"channel", "users"}, FORM),
    "conversations.setTopic": ({"channel", "topic"}, FORM),
    "conversations.setPurpose": ({"channel", "purpose"}, FORM),
    "conversations.list": (set(), FORM),
    "conversations.history": ({"channel"}, FORM),
    "users.lookupByEmail": ({"email"}, FORM),
    "chat.postMessage": ({"channel"}, JSON),
    "chat.update": ({"channel", "ts"}, JSON),
}


def _slack_problems(request: Request) -> list[str]:
    method = request.path.removeprefix("/api/")
    if method not in SLACK_METHODS:
        return [f"{method}: not in the table of documented methods"]
    required, content_type = SLACK_METHODS[method]
    sent = dict(request.body or {}) if isinstance(request.body, dict) else {}
    problems = []
    # auth.test takes no arguments: the client sends no body and so no content type.
    if request.raw and request.content_type != content_type:
        problems.append(f"{method}: sent as {request.content_type}, documented as {content_type}")
    if missing := required - set(sent):
        problems.append(f"{method}: missing required {sorted(missing)}")
    if method.startswith("chat.") and not (sent.get("text") or sent.get("blocks")):
        problems.append(f"{method}: text or blocks is required")
    if "token" in sent:
        problems.append(f"{method}: token in the body (it belongs in the Authorization header)")
    return problems


def test_every_slack_call_sends_the_documented_arguments_and_body(
    sb: Sandbox, chat: SlackChat
) -> None:
    room = chat.create_channel("crisis-c", marker="firebreak-test")
    assert chat.find_channel("crisis-c", marker="firebreak-test") == room
    chat.set_topic(room.id, "Storm on #acme")
    chat.invite(room.id, [chat.lookup_user("alice@example.test")])
    message = chat.post(room.id, "Opened", blocks=[{"type": "divider"}])
    chat.update(room.id, message.ts, "Opened (sev1)")
    assert chat.find_message(room.id, "firebreak-none") is None
    chat.check()

    recorded = sb.requests("slack")
    assert {r.path.removeprefix("/api/") for r in recorded} == set(SLACK_METHODS)
    assert [p for r in recorded for p in _slack_problems(r)] == []


def test_the_slack_check_catches_missing_arguments_and_wrong_bodies() -> None:
    def sent(method: str, body: dict[str, Any], content_type: str) -> Request:
        raw = json.dumps(body) if content_type == "application/json" else urlencode(body)
        return Request(
            "slack",
            "POST",
            f"/api/{method}",
            {},
            {"content-type": content_type},
            body,
            raw.encode(),
            0.0,
        )

    assert _slack_problems(sent("conversations.invite", {"channel": "C1"}, FORM)) == [
        "conversations.invite: missing required ['users']"
    ]
    assert _slack_problems(sent("conversations.create", {"name": "x"}, JSON)) == [
        "conversations.create: sent as application/json, "
        "documented as application/x-www-form-urlencoded"
    ]
