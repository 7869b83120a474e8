"""notify: tell an audience, on Slack or by page; `auto` pages only for the gravest incidents."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebreak.actions.base import ActionContext, integration_call
from firebreak.actions.pagerduty import page


def notify(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    audience = str(args["audience"])
    text = ctx.text_or_template(args, "notify")
    via = str(args.get("via") or "auto")
    if via == "auto":
        pageable = integration_call(lambda: ctx.runtime.roles.routing_key(audience)) is not None
        via = "pagerduty" if pageable and ctx.runtime.incident.severity == "sev1" else "slack"
    if via == "pagerduty":
        key = page(ctx, what="notify", audience=audience, summary=text.splitlines()[0])
        ctx.record("notify", f"Paged {audience} (dedup_key {key})", {"via": via})
    else:
        channel = integration_call(lambda: ctx.runtime.roles.slack_channel(audience))
        ctx.post_once("notify", channel, text)
        ctx.record("notify", f"Told {audience} on Slack", {"via": via, "preview": text[:200]})
    return {"via": via}
