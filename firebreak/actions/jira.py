"""jira.create_epic, jira.create_tasks, jira.comment, jira.transition."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from firebreak.actions.base import ActionContext, ActionError, integration_call, seconds
from firebreak.ports import TaskSpec


def create_epic(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    tracker = ctx.runtime.integrations.tracker
    summary = str(args["summary"])
    labels = [str(label) for label in args.get("labels") or []]

    def create() -> dict[str, Any]:
        ref = tracker.create_epic(summary, str(args.get("description") or ""), labels=labels)
        return {"key": ref.key, "url": ref.url}

    epic = ctx.effect("create_epic", create)
    ctx.record("jira.epic", f"Filed epic {epic['key']}: {summary}", epic)
    return epic


def _task(ctx: ActionContext, raw: Mapping[str, Any], labels: list[str]) -> TaskSpec:
    if not isinstance(raw, Mapping) or not raw.get("summary"):
        raise ActionError(f"each task needs a `summary`; got {raw!r}")
    assignee = None
    if raw.get("assignee"):
        role = str(raw["assignee"])
        by = ctx.runtime.integrations.tracker.assigns_by  # account id on Cloud, username on DC
        assignee = integration_call(lambda: ctx.runtime.roles.jira_assignee(role, by=by))
    due = None
    if raw.get("due") is not None:
        opened = ctx.runtime.incident.opened_at
        due = (opened + timedelta(seconds=seconds(raw["due"]))).date().isoformat()
    return TaskSpec(
        summary=str(raw["summary"]),
        description=str(raw.get("description") or ""),
        assignee=assignee,
        due=due,
        labels=labels,
    )


def create_tasks(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    epic = str(args["epic"])
    specs = [_task(ctx, raw, ["firebreak"]) for raw in args.get("tasks") or []]
    tracker = ctx.runtime.integrations.tracker

    def create() -> dict[str, Any]:
        return {"keys": [ref.key for ref in tracker.create_tasks(epic, specs)]}

    done = ctx.effect("create_tasks", create)
    ctx.record(
        "jira.tasks",
        f"Filed {len(done['keys'])} follow-up tasks under {epic}: {', '.join(done['keys'])}",
        {"epic": epic, **done},
    )
    return done


def comment(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    issue, body = str(args["issue"]), str(args["body"])
    tracker = ctx.runtime.integrations.tracker
    ctx.effect("comment", lambda: (tracker.comment(issue, body), {"issue": issue})[1])
    ctx.record("jira.comment", f"Commented on {issue}", {"issue": issue, "preview": body[:200]})
    return {}


def transition(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    issue, to = str(args["issue"]), str(args["to"])
    tracker = ctx.runtime.integrations.tracker
    ctx.effect("transition", lambda: (tracker.transition(issue, to), {"issue": issue})[1])
    ctx.record("jira.transition", f"Moved {issue} to {to}", {"issue": issue, "to": to})
    return {}
