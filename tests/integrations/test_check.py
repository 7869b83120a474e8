"""`firebreak check`: what a user runs before going live, against both Jira flavours."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli.main import app
from integrations.sandbox import Sandbox


def _check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check", *args], env={"COLUMNS": "400"})
    return result.exit_code, result.output


@pytest.mark.parametrize("flavour", ["datacenter", "cloud"])
def test_a_good_configuration_checks_out_and_names_the_people_found(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    sandboxed.jira_flavour = flavour
    monkeypatch.setenv("FIREBREAK_JIRA_FLAVOUR", flavour)
    code, out = _check()

    assert code == 0, out
    assert "token accepted" in out
    name = "Jira Cloud" if flavour == "cloud" else "Jira Data Center"
    assert f"{name} " in out and "project CRISIS has Epic and Task" in out
    who = (
        "jira_account_id 5f1a00000000000000000001"
        if flavour == "cloud"
        else ("jira_assignee crisis.lead")
    )
    assert f"role crisis-lead: {who}" in out
    assert "role executives: routing key of 32 characters" in out
    assert sandboxed.requests("pagerduty") == []  # no page unless asked for


def test_the_wrong_flavour_is_a_problem_with_the_setting_to_change(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREBREAK_JIRA_FLAVOUR", "cloud")  # the sandbox's Jira is Data Center
    code, out = _check()
    assert code == 1
    assert "HTTP 401" in out and "FIREBREAK_JIRA_FLAVOUR=datacenter" in out
    assert sandboxed.jira_token not in out


def test_a_test_page_is_triggered_and_resolved_through_the_roles_key(sandboxed: Sandbox) -> None:
    code, out = _check("--page", "executives")
    assert code == 0, out
    (alert,) = sandboxed.state("pagerduty")["alerts"]
    assert alert["routing_key"] == "sbxexecutives0000000000000000000"
    assert alert["severity"] == "info" and alert["status"] == "resolved"
    assert "test page to executives triggered and resolved" in out


def test_an_unconfigured_service_is_named_with_its_settings(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_JIRA_URL")
    code, out = _check()
    assert code == 1
    assert "Jira is not configured for this installation: set FIREBREAK_JIRA_URL" in out
    assert "token accepted" in out  # Slack is still checked
