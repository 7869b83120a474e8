"""statement.draft: render a public statement from a template; it goes nowhere until approved."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firebreak.actions.base import ActionContext


def draft(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    template = str(args["template"])
    text = ctx.render(template, audience=args.get("audience") or "public")
    statement = ctx.state.add_statement(ctx.step_id, text, template)
    ctx.record(
        "statement.drafted",
        f"Drafted statement v{statement.version} from {template} (awaiting approval)",
        {"version": statement.version, "text": text},
    )
    return {"text": text, "template": template, "version": statement.version}
