"""build_integrations: adapters from FIREBREAK_* settings, or a clear word on what is missing."""

from __future__ import annotations

import pytest

from firebreak.ports import ServiceNotConfigured
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


def test_an_unconfigured_service_fails_each_use_naming_its_settings(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_JIRA_TOKEN")
    monkeypatch.delenv("FIREBREAK_JIRA_URL")
    integrations = build_integrations(Settings())

    with pytest.raises(ServiceNotConfigured) as caught:
        integrations.tracker.create_epic("Storm")
    assert caught.value.service == "jira" and not caught.value.retryable
    assert caught.value.message == (
        "Jira is not configured for this installation: set FIREBREAK_JIRA_URL and "
        "FIREBREAK_JIRA_TOKEN (docs/going-live.md)"
    )
    # The services that are configured work as before, and Jira was never called.
    integrations.pager.trigger("Storm", dedup_key="inc-10")
    assert sandboxed.state("pagerduty")["incidents"]["inc-10"]["status"] == "triggered"
    assert sandboxed.requests("jira") == []


def test_cloud_needs_the_account_email_data_center_only_the_token(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_JIRA_USER")
    monkeypatch.setenv("FIREBREAK_JIRA_FLAVOUR", "cloud")
    with pytest.raises(ServiceNotConfigured) as caught:
        build_integrations(Settings()).tracker.comment("CRISIS-1", "x")
    assert "set FIREBREAK_JIRA_USER (docs/going-live.md)" in caught.value.message

    monkeypatch.setenv("FIREBREAK_JIRA_FLAVOUR", "datacenter")
    tracker = build_integrations(Settings()).tracker
    assert tracker.create_epic("Storm").key == "CRISIS-1"
    assert sandboxed.requests("jira")[-1].headers["authorization"] == (
        f"Bearer {sandboxed.jira_token}"
    )


def test_pagerduty_without_a_default_key_pages_roles_and_says_when_a_role_has_none(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_PAGERDUTY_ROUTING_KEY")
    pager = build_integrations(Settings()).pager
    pager.trigger("Storm", dedup_key="inc-11", routing_key="sbxexecutives0000000000000000000")
    with pytest.raises(ServiceNotConfigured) as caught:
        pager.trigger("Storm", dedup_key="inc-12")
    assert "FIREBREAK_PAGERDUTY_ROUTING_KEY" in caught.value.message
    assert [p["dedup_key"] for p in sandboxed.state("pagerduty")["pages"]] == ["inc-11"]
