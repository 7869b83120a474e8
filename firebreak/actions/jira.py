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
    marker = ctx.marker("create_epic")  # a label: after a crash, a JQL search finds the epic
    labels = [str(label) for label in args.get("labels") or []] + [marker]

    def create() -> dict[str, Any]:
        ref = tracker.create_epic(summary, str(args.get("description") or ""), labels=labels)
        return {"key": ref.key, "url": ref.url}

    def find() -> dict[str, Any] | None:
        ref = tracker.find_labelled([marker]).get(marker)
        return {"key": ref.key, "url": ref.url} if ref else None

    epic = ctx.effect("create_epic", create, find)
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
    raws = list(args.get("tasks") or [])
    # Each task carries its own marker label: after a crash part-way through the batch, one
    # search finds the tasks already filed and only the missing ones are filed.
    markers = [ctx.marker(f"create_tasks/{i}") for i in range(len(raws))]
    specs = [_task(ctx, raw, ["firebreak", m]) for raw, m in zip(raws, markers, strict=True)]
    tracker = ctx.runtime.integrations.tracker

    def file(found: dict[str, Any]) -> dict[str, Any]:
        missing = [(m, spec) for m, spec in zip(markers, specs, strict=True) if m not in found]
        made = tracker.create_tasks(epic, [spec for _, spec in missing]) if missing else []
        keys = {**found, **{m: ref.key for (m, _), ref in zip(missing, made, strict=True)}}
        return {"keys": [keys[m] for m in markers]}

    def find() -> dict[str, Any] | None:
        return file({m: ref.key for m, ref in tracker.find_labelled(markers).items()})

    done = ctx.effect("create_tasks", lambda: file({}), find)
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
