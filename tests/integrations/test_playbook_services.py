"""Playbooks through the real adapters and the sandbox: optional services, per-page dedup keys,
assignees per Jira flavour. The engine runs on the in-memory runtime (no Prefect needed)."""

from __future__ import annotations

from typing import Any

import pytest

from firebreak.playbook.engine import Engine
from firebreak.playbook.model import Playbook, validation_context
from firebreak.playbook.runtime import InMemoryRuntime, MemoryIncident, VirtualClock
from firebreak.roles import DEFAULT_ROLES_FILE, RoleBindings
from firebreak.settings import Settings
from integrations.factory import build_integrations
from integrations.sandbox import Sandbox

ROLES = RoleBindings.load(DEFAULT_ROLES_FILE)
EXECS = ROLES.routing_key("executives")


def _book(*steps: dict[str, Any]) -> Playbook:
    raw = {
        "name": "services",
        "version": 1,
        "roles": {"comms": "c", "executives": "e", "ereputation": "r", "crisis-lead": "l"},
        "steps": list(steps),
    }
    return Playbook.model_validate(raw, context=validation_context(raw))


def _run(book: Playbook, roles: RoleBindings = ROLES) -> tuple[Any, InMemoryRuntime]:
    clock = VirtualClock()
    runtime = InMemoryRuntime(
        build_integrations(Settings()),
        roles,
        clock=clock,
        incident=MemoryIncident(id=7, severity="sev1", opened_at=clock.now()),
    )
    return Engine(book, runtime).run(), runtime


PAGE = {"uses": "pagerduty.trigger", "with": {"summary": "Storm", "audience": "executives"}}
EPIC = {"id": "epic", "uses": "jira.create_epic", "with": {"summary": "Crisis 7: storm"}}
TASKS = {
    "id": "tasks",
    "uses": "jira.create_tasks",
    "needs": ["epic"],
    "with": {
        "epic": "${{ steps.epic.key }}",
        "tasks": [{"summary": "Reply to everyone", "assignee": "ereputation", "due": "1d"}],
    },
}
POST = {"id": "brief", "uses": "slack.post", "with": {"channel": "comms", "text": "Briefing"}}


def test_without_jira_the_jira_steps_fail_in_one_sentence_and_the_rest_runs(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_JIRA_URL")
    result, runtime = _run(_book(EPIC, TASKS, POST, {"id": "page", **PAGE}))

    assert result.status == "succeeded"
    assert {sid: r.status for sid, r in result.steps.items()} == {
        "epic": "failed",
        "tasks": "skipped",
        "brief": "succeeded",
        "page": "succeeded",
    }
    failed = next(e for e in runtime.timeline if e.kind == "step.failed")
    assert failed.summary == (
        "epic failed after 1 attempt(s): jira: Jira is not configured for this installation: "
        "set FIREBREAK_JIRA_URL (docs/going-live.md); the other steps go on"
    )
    assert sandboxed.requests("jira") == []
    assert [m["text"] for m in sandboxed.state("slack")["messages"]] == ["Briefing"]
    assert len(sandboxed.state("pagerduty")["pages"]) == 1


def test_without_pagerduty_a_page_fails_naming_the_settings_and_slack_still_posts(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIREBREAK_PAGERDUTY_ROUTING_KEY")
    unbound = RoleBindings.from_mapping(
        {
            **{n: ROLES.get(n).model_dump(mode="json") for n in ROLES.names},
            "executives": {"slack_channel": "exec-briefing"},
        }
    )
    result, runtime = _run(_book({"id": "page", **PAGE}, POST), roles=unbound)

    assert result.steps["page"].status == "failed" and result.steps["brief"].status == "succeeded"
    failed = next(e for e in runtime.timeline if e.kind == "step.failed")
    assert "pagerduty: cannot page executives: PagerDuty is not configured" in failed.summary
    assert "pagerduty_routing_key" in failed.summary
    assert "FIREBREAK_PAGERDUTY_ROUTING_KEY" in failed.summary
    assert failed.summary.endswith("; the other steps go on")
    assert sandboxed.requests("pagerduty") == []


def test_two_pages_to_one_service_both_notify_and_resolve_goes_through_their_key(
    sandboxed: Sandbox,
) -> None:
    result, _ = _run(
        _book(
            {"id": "first", **PAGE},
            {"id": "second", "needs": ["first"], **PAGE},
            {"id": "done", "needs": ["second"], "uses": "pagerduty.resolve", "with": {}},
        )
    )

    assert result.status == "succeeded"
    pages = sandboxed.state("pagerduty")["pages"]
    assert [(p["routing_key"], p["dedup_key"]) for p in pages] == [
        (EXECS, "firebreak/incident-7/first/trigger/executives"),
        (EXECS, "firebreak/incident-7/second/trigger/executives"),
    ]
    alerts = sandboxed.state("pagerduty")["alerts"]
    assert [a["status"] for a in alerts] == ["resolved", "resolved"]
    sent = [r.body for r in sandboxed.requests("pagerduty")]
    resolves = [e for e in sent if e["event_action"] == "resolve"]
    assert len(resolves) == 2 and {e["routing_key"] for e in resolves} == {EXECS}


@pytest.mark.parametrize("flavour", ["datacenter", "cloud"])
def test_tasks_are_assigned_as_each_flavour_names_people(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch, flavour: str
) -> None:
    sandboxed.jira_flavour = flavour
    monkeypatch.setenv("FIREBREAK_JIRA_FLAVOUR", flavour)
    result, _ = _run(_book(EPIC, TASKS))

    assert result.status == "succeeded"
    task = sandboxed.state("jira")["issues"][1]["fields"]
    binding = ROLES.get("ereputation")
    if flavour == "cloud":
        assert task["assignee"]["accountId"] == binding.jira_account_id
        assert task["parent"]["key"] == "CRISIS-1"
    else:
        assert task["assignee"]["name"] == binding.jira_assignee
        assert task["customfield_10014"] == "CRISIS-1"


def test_a_role_bound_only_for_the_other_flavour_fails_naming_the_field(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandboxed.jira_flavour = "cloud"
    monkeypatch.setenv("FIREBREAK_JIRA_FLAVOUR", "cloud")
    names_only = RoleBindings.from_mapping(
        {
            "ereputation": {"jira_assignee": "ereputation.lead"},
            "comms": {},
            "executives": {},
            "crisis-lead": {},
        },
        source="roles.prod.yaml",
    )
    result, runtime = _run(_book(EPIC, TASKS), roles=names_only)

    assert result.steps["tasks"].status == "failed"
    failed = next(e for e in runtime.timeline if e.kind == "step.failed")
    assert (
        "Jira Cloud assigns tasks by account id, and role 'ereputation' has only jira_assignee "
        "in roles.prod.yaml: add roles.ereputation.jira_account_id"
    ) in failed.summary
    assert [i["key"] for i in sandboxed.state("jira")["issues"]] == ["CRISIS-1"]  # no task filed
