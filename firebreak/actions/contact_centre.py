"""contact_centre.publish_script: agents' script, always matching the latest approved statement."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebreak.actions.base import ActionContext, ActionError, Statement, integration_call

TONES = ("apologise", "admit", "explain", "recompense")
DEFAULT_AUDIENCE = "contact-centre"


def _statement(ctx: ActionContext, named: str | None) -> Statement:
    latest = ctx.state.latest_approved()
    if not named:
        if latest is None:
            raise ActionError(
                "refusing to publish a script: no statement has been approved in this incident"
            )
        return latest
    statement = ctx.state.statements.get(named) or next(
        (s for s in ctx.state.statements.values() if s.text == named), None
    )
    if statement is None:
        drafted = ", ".join(ctx.state.statements) or "none"
        raise ActionError(
            f"refusing to publish a script: no drafted statement '{named[:60]}' "
            f"(drafted in this run: {drafted})"
        )
    if not statement.approved:
        raise ActionError(
            f"refusing to publish a script: statement '{statement.step_id}' "
            f"v{statement.version} was not approved"
        )
    if latest is not None and latest.version > statement.version:
        raise ActionError(
            f"refusing to publish a script: statement '{statement.step_id}' v{statement.version} "
            f"is superseded by approved '{latest.step_id}' v{latest.version}"
        )
    return statement


def publish_script(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    tones = [str(t) for t in args.get("tone") or []]
    unknown = [t for t in tones if t not in TONES]
    if unknown:
        raise ActionError(f"unknown tone {', '.join(unknown)}; use any of {', '.join(TONES)}")
    named = args.get("statement")
    statement = _statement(ctx, str(named) if named else None)
    text = ctx.render(
        str(args["template"]),
        tone={t: t in tones for t in TONES},
        tones=tones,
        statement={"text": statement.text, "version": statement.version},
    )
    audience = str(args.get("audience") or DEFAULT_AUDIENCE)
    channel = integration_call(lambda: ctx.runtime.roles.slack_channel(audience))
    header = f"Contact-centre script v{statement.version} ({', '.join(tones) or 'neutral'})"
    posted = ctx.post_once(f"publish-v{statement.version}", channel, f"*{header}*\n\n{text}")
    sent = {"ts": posted["ts"], "channel": channel}
    ctx.record(
        "script.published",
        f"Published contact-centre script v{statement.version} to {audience}, matching "
        f"statement '{statement.step_id}' v{statement.version} approved by "
        f"{statement.approved_by}",
        {"version": statement.version, "tones": tones, **sent},
    )
    return {"text": text, "version": statement.version}
