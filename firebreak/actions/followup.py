"""followup.schedule: chase open follow-up issues until they are done.

The schedule is recorded on the timeline (`followup.scheduled`: issues, every_seconds,
until_done); that event is the schedule `firebreak.followups` chases (the `chase-followups` flow,
`firebreak followups chase`). Each issue also gets a comment so its owner knows it will be chased.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from firebreak.actions.base import ActionContext, ActionError, seconds
from firebreak.expressions import format_duration


def schedule(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    issues = args.get("issues")
    if isinstance(issues, str):
        issues = [issues]
    if not isinstance(issues, list) or not all(isinstance(i, str) for i in issues):
        raise ActionError(f"`issues` must be a list of issue keys, got {issues!r}")
    every = seconds(args["every"])
    span = format_duration(timedelta(seconds=every))
    until_done = bool(args.get("until_done", True))
    tracker = ctx.runtime.integrations.tracker
    for key in issues:
        note = f"Firebreak will chase this every {span}" + (
            " until it is done." if until_done else " until it is done or the incident resolved."
        )
        ctx.effect(f"comment-{key}", lambda key=key, note=note: (tracker.comment(key, note), {})[1])
    ctx.record(
        "followup.scheduled",
        f"Chasing {len(issues)} issue(s) every {span}: {', '.join(issues)}",
        {"issues": issues, "every_seconds": every, "until_done": until_done},
    )
    return {"scheduled": issues}
