"""pagerduty.trigger, pagerduty.acknowledge, pagerduty.resolve.

The dedup key is derived from the incident, so PagerDuty folds every page of one incident into one
alert per service, and a retried step never opens a second one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebreak.actions.base import ActionContext, integration_call


def dedup_key(incident_id: int) -> str:
    return f"firebreak-incident-{incident_id}"


def page(
    ctx: ActionContext,
    *,
    what: str,
    audience: str,
    summary: str,
    severity: str = "critical",
    details: Mapping[str, Any] | None = None,
) -> str:
    """Page `audience` once for `what`; returns the dedup key (the routing key stays secret)."""
    key = dedup_key(ctx.incident_id)
    routing_key = integration_call(lambda: ctx.runtime.roles.routing_key(audience))
    pager = ctx.runtime.integrations.pager

    def trigger() -> dict[str, Any]:
        sent = pager.trigger(
            summary[:1024],
            dedup_key=key,
            severity=severity,
            details={"incident": ctx.incident_id, **dict(details or {})},
            routing_key=routing_key,
        )
        return {"dedup_key": sent or key}

    return str(ctx.effect(what, trigger)["dedup_key"])


def trigger(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    audience = str(args["audience"])
    key = page(
        ctx,
        what="trigger",
        audience=audience,
        summary=str(args["summary"]),
        severity=str(args.get("severity") or "critical"),
        details=args.get("details") or {},
    )
    ctx.record("pagerduty.triggered", f"Paged {audience} (dedup_key {key})", {"dedup_key": key})
    return {"dedup_key": key}


def acknowledge(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    key = str(args.get("dedup_key") or dedup_key(ctx.incident_id))
    pager = ctx.runtime.integrations.pager
    ctx.effect("acknowledge", lambda: (pager.acknowledge(key), {"dedup_key": key})[1])
    ctx.record("pagerduty.acknowledged", f"Acknowledged the page {key}", {"dedup_key": key})
    return {"dedup_key": key}


def resolve(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    key = str(args.get("dedup_key") or dedup_key(ctx.incident_id))
    pager = ctx.runtime.integrations.pager
    ctx.effect("resolve", lambda: (pager.resolve(key), {"dedup_key": key})[1])
    ctx.record("pagerduty.resolved", f"Resolved the page {key}", {"dedup_key": key})
    return {"dedup_key": key}
