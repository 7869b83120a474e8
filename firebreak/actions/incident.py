"""incident.set_severity and incident.resolve."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebreak.actions.base import ActionContext, ActionError

SEVERITIES = ("sev1", "sev2", "sev3", "sev4")


def set_severity(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    severity = str(args["severity"])
    if severity not in SEVERITIES:
        raise ActionError(f"severity must be one of {', '.join(SEVERITIES)}, got '{severity}'")
    before = ctx.runtime.incident.severity
    ctx.runtime.incident.set_severity(severity)
    ctx.record("incident.severity", f"Severity {before} -> {severity}", {"from": before})
    return {"severity": severity}


def resolve(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    reason = str(args["reason"])
    ctx.runtime.incident.resolve(reason)
    ctx.record("incident.resolved", f"Resolved: {reason}", {"reason": reason})
    return {}
