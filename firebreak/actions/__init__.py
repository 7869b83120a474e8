"""The action catalogue: `uses:` names to the functions that do the work.

Each function takes the `ActionContext` and the step's rendered `with:` arguments and returns the
step's outputs (which later steps read as `steps.<id>.<output>`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from firebreak.actions import (
    contact_centre,
    followup,
    gates,
    incident,
    jira,
    notify,
    pagerduty,
    slack,
    statement,
    timers,
)
from firebreak.actions.base import ActionContext, ActionError, RunState, StepTimeout

Action = Callable[[ActionContext, Mapping[str, Any]], dict[str, Any]]

ACTIONS: dict[str, Action] = {
    "slack.create_channel": slack.create_channel,
    "slack.post": slack.post,
    "slack.invite": slack.invite,
    "pagerduty.trigger": pagerduty.trigger,
    "pagerduty.acknowledge": pagerduty.acknowledge,
    "pagerduty.resolve": pagerduty.resolve,
    "jira.create_epic": jira.create_epic,
    "jira.create_tasks": jira.create_tasks,
    "jira.comment": jira.comment,
    "jira.transition": jira.transition,
    "statement.draft": statement.draft,
    "approval.request": gates.request,
    "ack.wait": gates.wait_for_ack,
    "contact_centre.publish_script": contact_centre.publish_script,
    "incident.set_severity": incident.set_severity,
    "incident.resolve": incident.resolve,
    "followup.schedule": followup.schedule,
    "wait": timers.wait,
    "notify": notify.notify,
}

# Steps that wait for a person; their `outcome` output picks the branch that runs next.
GATE_ACTIONS = frozenset({"approval.request", "ack.wait"})

__all__ = [
    "ACTIONS",
    "GATE_ACTIONS",
    "Action",
    "ActionContext",
    "ActionError",
    "RunState",
    "StepTimeout",
]
