"""Adapters wired to the session sandbox (tests/conftest.py), reset before each test."""

from __future__ import annotations

import pytest

from integrations.jira import JiraTracker
from integrations.pagerduty import PagerDutyPager
from integrations.policy import RetryPolicy
from integrations.sandbox import Sandbox
from integrations.slack import SlackChat

# Real retry logic, short waits: every fault test stays well under a second or two.
FAST = RetryPolicy(retries=2, max_delay=0.05, timeout=5.0)


@pytest.fixture
def sb(sandbox: Sandbox) -> Sandbox:
    sandbox.reset()
    return sandbox


@pytest.fixture
def chat(sb: Sandbox) -> SlackChat:
    return SlackChat(sb.slack_token, base_url=sb.url("slack") + "/api/", policy=FAST)


@pytest.fixture(params=["datacenter", "cloud"])
def flavour(request: pytest.FixtureRequest, sb: Sandbox) -> str:
    """Each Jira test runs against both flavours of the emulator (reset() restores the default)."""
    sb.jira_flavour = request.param
    return str(request.param)


@pytest.fixture
def tracker(sb: Sandbox, flavour: str) -> JiraTracker:
    return JiraTracker(
        sb.url("jira"),
        sb.jira_user,
        sb.jira_token,
        project=sb.jira_project,
        flavour=sb.jira_flavour,
        policy=FAST,
    )


@pytest.fixture
def pager(sb: Sandbox) -> PagerDutyPager:
    return PagerDutyPager(
        sb.routing_key, base_url=sb.url("pagerduty"), ca_file=sb.ca_file, policy=FAST
    )


def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
