"""wait: for a duration, or until a time, on the runtime clock (virtual in rehearsals)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from firebreak.actions.base import ActionContext, ActionError, seconds
from firebreak.expressions import format_duration


def _instant(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            raise ActionError(f"`until` must be an ISO date-time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def wait(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    duration, until = args.get("for"), args.get("until")
    if (duration is None) == (until is None):
        raise ActionError("wait needs exactly one of `for` or `until`")
    if duration is not None:
        span = seconds(duration)
        target = ctx.now() + timedelta(seconds=span)
        what = f"Waiting {format_duration(timedelta(seconds=span))}"
    else:
        target = _instant(until)
        what = f"Waiting until {target.isoformat()}"
    ctx.record("timer.started", what, {"until": target.isoformat()})
    ctx.sleep_until(target)
    return {}
