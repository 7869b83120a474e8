"""The sandbox's control API, as another process (a standalone `firebreak sandbox`) uses it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from slack_sdk import WebClient

from integrations.sandbox import Sandbox, SandboxClient
from integrations.sandbox.sandbox import workspace_channels
from integrations.slack import SlackChat


@pytest.fixture
def control(sb: Sandbox) -> Iterator[SandboxClient]:
    client = SandboxClient(sb.control_url)
    yield client
    client.close()


def test_recorded_requests_are_readable_over_http(
    sb: Sandbox, chat: SlackChat, control: SandboxClient
) -> None:
    chat.post("general", "hello")
    recorded = control.requests("slack")
    assert [(r["method"], r["path"]) for r in recorded] == [("POST", "/api/chat.postMessage")]
    assert recorded[0]["body"]["text"] == "hello"
    assert '"text": "hello"' in recorded[0]["raw"]
    assert control.requests("jira") == []
    assert control.state()["slack"]["messages"][0]["text"] == "hello"


def test_faults_set_over_http_apply_to_the_next_requests(
    sb: Sandbox, chat: SlackChat, control: SandboxClient
) -> None:
    control.fail("slack", "chat.postMessage", status=429, retry_after=0, times=1)
    control.slow("slack", "auth.test", seconds=0.01, times=1)
    chat.post("general", "hello")
    chat.check()
    assert [r["fault"] for r in control.requests("slack")] == ["429", None, "slow 0.01s"]


def test_reset_forgets_requests_faults_and_state(
    sb: Sandbox, chat: SlackChat, control: SandboxClient
) -> None:
    chat.create_channel("crisis-1")
    control.fail("slack", "chat.postMessage", status=500, times=None)
    control.reset()
    chat.post("general", "after reset")
    assert [r["fault"] for r in control.requests()] == [None]
    channels = [c["name"] for c in control.state()["slack"]["channels"]]
    assert channels == list(workspace_channels())  # the workspace's own channels, no crisis-1


def test_bad_control_requests_get_a_clear_400(sb: Sandbox) -> None:
    url = sb.control_url + "/_sandbox/faults"
    unknown = httpx.post(url, json={"service": "teams", "match": "x"})
    assert unknown.status_code == 400
    assert "unknown service 'teams'" in unknown.json()["error"]
    bad_regex = httpx.post(url, json={"service": "slack", "match": "("})
    assert bad_regex.status_code == 400
    assert httpx.get(sb.control_url + "/_sandbox/requests?service=x").status_code == 400
    with pytest.raises(ValueError, match="unknown service"):
        SandboxClient(sb.control_url).fail("nope")


def test_slack_bodies_must_be_form_or_json_and_token_is_checked(sb: Sandbox) -> None:
    missing = httpx.post(sb.url("slack") + "/api/auth.test")
    assert missing.json() == {"ok": False, "error": "not_authed"}
    unknown = httpx.post(sb.url("slack") + "/api/files.upload")
    assert unknown.status_code == 404
    web = WebClient(token=sb.slack_token, base_url=sb.url("slack") + "/api/")
    assert web.auth_test()["user_id"] == "U0FIREBRK"
