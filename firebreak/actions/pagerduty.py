"""pagerduty.trigger, pagerduty.acknowledge, pagerduty.resolve.

Each page has its own dedup key, made of the incident, the step, what in the step pages (a
trigger, a notify, an escalation rung) and the role paged: PagerDuty folds events with one dedup
key into one open alert, so a shared key would make a second page to a service notify nobody.
The key is stable, so a retried step or a resumed run finds the alert it opened instead of
opening another. PagerDuty scopes a dedup key to the routing key that triggered it (acknowledge
and resolve through another key are dropped), so the role is in the key: acknowledge and resolve
go back through the same role's routing key. The routing key itself is a secret: never in a key,
an output or the timeline.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from firebreak.actions.base import ActionContext, ActionError, integration_call
from firebreak.ports import ServiceNotConfigured

PREFIX = "firebreak"
MAX_DEDUP_KEY = 255  # PagerDuty's limit


def dedup_key(incident_id: int, step_id: str, what: str, audience: str) -> str:
    """`firebreak/incident-7/page_execs/trigger/executives`: one alert per page and service."""
    return f"{PREFIX}/incident-{incident_id}/{step_id}/{what}/{audience}"[:MAX_DEDUP_KEY]


def audience_of(key: str) -> str | None:
    """The role a key of ours was paged through (None for a key from elsewhere)."""
    parts = key.split("/")
    if len(parts) == 5 and parts[0] == PREFIX and parts[1].startswith("incident-"):
        return parts[4]
    return None


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
    key = dedup_key(ctx.incident_id, ctx.step_id, what, audience)
    routing_key = integration_call(lambda: ctx.runtime.roles.routing_key(audience))
    pager = ctx.runtime.integrations.pager

    def trigger() -> dict[str, Any]:
        try:
            sent = pager.trigger(
                summary[:1024],
                dedup_key=key,
                severity=severity,
                details={"incident": ctx.incident_id, **dict(details or {})},
                routing_key=routing_key,
            )
        except ServiceNotConfigured as exc:  # say which role has no key
            message = f"cannot page {audience}: {exc.message}"
            raise ServiceNotConfigured(exc.service, message) from None
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


def _keys(ctx: ActionContext, args: Mapping[str, Any], verb: str) -> list[str]:
    """The page named by `dedup_key`, or every page this run's earlier steps raised."""
    if args.get("dedup_key"):
        return [str(args["dedup_key"])]
    steps = ctx.context.get("steps") or {}
    keys = [
        str(outputs["dedup_key"])
        for outputs in steps.values()
        if isinstance(outputs, Mapping) and audience_of(str(outputs.get("dedup_key") or ""))
    ]
    if not keys:
        raise ActionError(f"no page of this incident to {verb}: give `dedup_key`")
    return list(dict.fromkeys(keys))


def _update(ctx: ActionContext, args: Mapping[str, Any], action: str) -> dict[str, Any]:
    pager = ctx.runtime.integrations.pager
    keys = _keys(ctx, args, action)
    for key in keys:
        audience = audience_of(key)
        routing_key = (
            integration_call(lambda a=audience: ctx.runtime.roles.routing_key(a))
            if audience
            else None
        )
        call = pager.acknowledge if action == "acknowledge" else pager.resolve
        ctx.effect(
            f"{action}-{hashlib.sha256(key.encode()).hexdigest()[:16]}",  # effect keys stay short
            lambda key=key, rk=routing_key, call=call: (
                call(key, routing_key=rk),
                {"dedup_key": key},
            )[1],
        )
        past = "Acknowledged" if action == "acknowledge" else "Resolved"
        ctx.record(f"pagerduty.{action}d", f"{past} the page {key}", {"dedup_key": key})
    return {"dedup_key": keys[0] if len(keys) == 1 else ", ".join(keys)}


def acknowledge(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _update(ctx, args, "acknowledge")


def resolve(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return _update(ctx, args, "resolve")
