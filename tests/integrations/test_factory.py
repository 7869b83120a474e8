"""build_integrations: adapters from FIREBREAK_* settings, or a clear word on what is missing."""

from __future__ import annotations

import pytest

from firebreak.settings import Settings
from integrations.factory import NotConfiguredError, build_integrations
from integrations.sandbox import Sandbox


def test_settings_from_sandbox_env_drive_all_three_services(
    sandboxed: Sandbox,
) -> None:
    integrations = build_integrations(Settings())
    room = integrations.chat.create_channel("crisis-9")
    epic = integrations.tracker.create_epic("Storm")
    integrations.pager.trigger("Storm", dedup_key="inc-9")

    assert [c["name"] for c in sandboxed.state("slack")["channels"]][-1] == room.name
    assert [i["key"] for i in sandboxed.state("jira")["issues"]] == [epic.key]
    assert sandboxed.state("pagerduty")["incidents"]["inc-9"]["status"] == "triggered"
    assert {r.service for r in sandboxed.requests()} == {"slack", "jira", "pagerduty"}


def test_nothing_configured_points_the_user_at_the_sandbox(firebreak_home) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotConfiguredError) as caught:
        build_integrations(Settings())
    assert "no service is configured" in caught.value.message
    assert "firebreak sandbox" in caught.value.message
    assert "firebreak demo" in caught.value.message


def test_partial_configuration_names_every_missing_variable(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_JIRA_TOKEN")
    monkeypatch.delenv("FIREBREAK_PAGERDUTY_ROUTING_KEY")
    with pytest.raises(NotConfiguredError) as caught:
        build_integrations(Settings())
    message = caught.value.message
    assert "jira needs FIREBREAK_JIRA_TOKEN" in message
    assert "pagerduty needs FIREBREAK_PAGERDUTY_ROUTING_KEY" in message
    assert "slack" not in message.split(".")[0]
    assert sandboxed.jira_token not in message
