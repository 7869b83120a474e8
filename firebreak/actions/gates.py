"""approval.request and ack.wait: the steps that wait for a person.

Both fail closed. An approval that times out is `timed_out`, never approved, and only the
`on_timeout` branch runs. An acknowledgement that does not come climbs the escalation ladder.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from firebreak.actions.base import ActionContext, StepTimeout, integration_call, seconds
from firebreak.actions.pagerduty import page
from firebreak.expressions import format_duration
from firebreak.playbook.faults import is_transient, transient_wait
from firebreak.ports import Ask, IntegrationError


def _span(value: float) -> str:
    return format_duration(timedelta(seconds=value))


def _ask(
    ctx: ActionContext, role: str, text: str, *, kind: str, gate_id: int
) -> dict[str, Any] | None:
    """Ask the role on Slack, with buttons, when the role reads a channel; the message's ref."""
    binding = integration_call(lambda: ctx.runtime.roles.get(role))
    if not binding.slack_channel:
        return None
    chat = ctx.runtime.integrations.chat
    channel = binding.slack_channel
    # The ask carries its effect's marker: after a crash during the post, the first copy is
    # found and kept, so no second ask with live buttons appears beside it.
    marker = ctx.marker("ask")
    ask = Ask(text, kind, ctx.incident_id, ctx.step_id, gate_id, marker)

    def post() -> dict[str, Any]:
        ref = chat.ask(channel, ask)
        return {"ts": ref.ts, "channel": ref.channel, "text": text}

    def find() -> dict[str, Any] | None:
        ref = chat.find_message(channel, marker)
        return {"ts": ref.ts, "channel": ref.channel, "text": text} if ref else None

    return ctx.effect("ask", post, find)


class _PendingAsk:
    """The Slack ask of an open gate. Slack being down never fails the gate: it stays open and
    can be decided through the API meanwhile; a passing fault is retried on the playbook clock
    while the gate waits, a refusal is said once and the ask given up."""

    def __init__(self, ctx: ActionContext, role: str, text: str, *, kind: str, gate_id: int):
        self.ctx, self.role, self.text, self.kind, self.gate_id = ctx, role, text, kind, gate_id
        self.asked: dict[str, Any] | None = None
        self.failures = 0
        self.next_try: datetime | None = ctx.now()

    def try_post(self) -> None:
        if self.next_try is None or self.ctx.now() < self.next_try:
            return
        try:
            self.asked = _ask(self.ctx, self.role, self.text, kind=self.kind, gate_id=self.gate_id)
        except IntegrationError as exc:
            self.failures += 1
            retry = is_transient(exc)
            if self.failures == 1:
                then = "trying again while it waits" if retry else "not trying again"
                self.ctx.record(
                    "gate.ask_failed",
                    f"Could not ask {self.role} on Slack ({exc}); the gate is open and can be "
                    f"decided through the API; {then}",
                    {"gate": self.gate_id, "retrying": retry},
                )
            self.next_try = (
                self.ctx.now() + timedelta(seconds=transient_wait(exc, self.failures))
                if retry
                else None
            )
            return
        self.next_try = None
        if self.failures:
            self.ctx.record(
                "gate.asked",
                f"Asked {self.role} on Slack after {self.failures} failed attempt(s)",
                {"gate": self.gate_id},
            )


def _close_ask(ctx: ActionContext, asked: dict[str, Any] | None, outcome: str) -> None:
    """Replace the ask's buttons with who decided, so nobody clicks a closed gate.

    The decision stands whatever Slack says: a failed update is put on the timeline, not raised.
    """
    if not asked or not asked.get("ts"):
        return
    chat = ctx.runtime.integrations.chat
    # An ask posted before its channel id was kept is updated through the role's channel name.
    channel = str(asked.get("channel") or "")
    asked_text = str(asked.get("text") or "")

    def update() -> dict[str, Any]:
        chat.close_ask(channel, str(asked["ts"]), asked_text, outcome)
        return {"ts": asked["ts"], "outcome": outcome}

    try:
        ctx.effect("ask-closed", update)
    except IntegrationError as exc:
        ctx.record(
            "slack.update_failed",
            f"The Slack ask was not updated with the outcome ({exc}); the decision stands",
            {"ts": asked["ts"]},
        )


def _sleep_towards(ctx: ActionContext, target: datetime) -> None:
    now = ctx.now()
    if ctx.deadline is not None:
        if now >= ctx.deadline:
            raise StepTimeout(f"step '{ctx.step_id}' passed its timeout")
        target = min(target, ctx.deadline)
    wait = min((target - now).total_seconds(), ctx.runtime.clock.poll_interval)
    ctx.runtime.clock.sleep(max(wait, 0.0))


def request(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    runtime = ctx.runtime
    subject = str(args["subject"])
    approvers = str(args["approvers"])
    timeout = seconds(args["timeout"])
    due = ctx.now() + timedelta(seconds=timeout)
    gate_id = runtime.open_gate(
        ctx.step_id,
        "approval",
        approvers,
        {"text": subject, "min_approvals": int(args.get("min_approvals") or 1)},
        due,
    )
    due = runtime.gate_due(gate_id) or due  # resumed after a crash: the deadline stands
    ctx.record(
        "gate.opened",
        f"Asked {approvers} to approve within {_span(timeout)}: {subject[:120]}",
        {"gate": gate_id, "due_at": due.isoformat()},
    )
    pending = _PendingAsk(
        ctx,
        approvers,
        f"Approval needed within {_span(timeout)} for incident {ctx.incident_id}:\n{subject}",
        kind="approval",
        gate_id=gate_id,
    )
    while True:
        pending.try_post()
        asked = pending.asked
        decision = runtime.poll_gate(gate_id)
        if decision is not None:
            runtime.close_gate(gate_id, decision.outcome)
            if decision.outcome == "approved":
                approved = ctx.state.approve_matching(subject, decision.by or "")
                versions = ", ".join(f"{s.step_id} v{s.version}" for s in approved)
                what = f" ({versions})" if versions else ""
                summary = f"{decision.by} approved{what}"
            else:
                summary = f"{decision.by} rejected it"
            if decision.comment:
                summary += f": {decision.comment}"
            runtime.record(
                f"gate.{decision.outcome}",
                summary,
                {"step": ctx.step_id, "gate": gate_id, "comment": decision.comment},
                actor=decision.by or "unknown",
            )
            mark = ":white_check_mark:" if decision.outcome == "approved" else ":x:"
            said = f": {decision.comment}" if decision.comment else ""
            _close_ask(ctx, asked, f"{mark} {decision.outcome.capitalize()} by {decision.by}{said}")
            return {"outcome": decision.outcome, "by": decision.by, "comment": decision.comment}
        if ctx.now() >= due:
            runtime.close_gate(gate_id, "timed_out")
            ctx.record(
                "gate.timed_out",
                f"No decision from {approvers} within {_span(timeout)}: not approved "
                "(fails closed)",
                {"gate": gate_id},
            )
            _close_ask(
                ctx,
                asked,
                f":hourglass: No decision within {_span(timeout)}: not approved (fails closed)",
            )
            return {"outcome": "timed_out", "by": None, "comment": None}
        _sleep_towards(ctx, min(due, pending.next_try or due))


def _escalate(ctx: ActionContext, index: int, rung: Mapping[str, Any], audience: str) -> str:
    notify, via = str(rung["notify"]), str(rung.get("via") or "pagerduty")
    after = _span(seconds(rung["after"]))
    text = (
        f"Incident {ctx.incident_id} ({ctx.runtime.incident.title}) has not been acknowledged "
        f"by {audience} after {after}. Please take it."
    )
    if via == "pagerduty":
        key = page(ctx, what=f"escalation-{index}", audience=notify, summary=text)
        how = f"paged {notify} (dedup_key {key})"
    else:
        channel = integration_call(lambda: ctx.runtime.roles.slack_channel(notify))
        ctx.post_once(f"escalation-{index}", channel, text)
        how = f"told {notify} on Slack"
    ctx.record(
        "escalation",
        f"No acknowledgement from {audience} after {after}: {how}",
        {"rung": index + 1, "notify": notify, "via": via},
    )
    return notify


def wait_for_ack(ctx: ActionContext, args: Mapping[str, Any]) -> dict[str, Any]:
    runtime = ctx.runtime
    audience = str(args["audience"])
    sla = seconds(args["sla"])
    ladder = sorted(args.get("escalate") or [], key=lambda rung: seconds(rung["after"]))
    opened = ctx.now()
    rung_at = [opened + timedelta(seconds=seconds(rung["after"])) for rung in ladder]
    # The wait ends when the SLA has passed and every rung has had its chance to fire.
    due = max([opened + timedelta(seconds=sla), *rung_at])
    gate_id = runtime.open_gate(
        ctx.step_id, "ack", audience, {"text": f"Acknowledge incident {ctx.incident_id}"}, due
    )
    # Resumed after a crash: the ladder keeps the times it had, it does not start again.
    shift = (runtime.gate_due(gate_id) or due) - due
    opened, due = opened + shift, due + shift
    rung_at = [at + shift for at in rung_at]
    plan = "; ".join(
        f"{_span(seconds(r['after']))} -> {r['notify']} via {r.get('via') or 'pagerduty'}"
        for r in ladder
    )
    ctx.record(
        "gate.opened",
        f"Waiting for {audience} to acknowledge (SLA {_span(sla)}"
        + (f"; ladder: {plan})" if plan else ")"),
        {"gate": gate_id, "due_at": due.isoformat()},
    )
    pending = _PendingAsk(
        ctx,
        audience,
        f"Please acknowledge incident {ctx.incident_id} ({runtime.incident.title}) "
        f"within {_span(sla)}.",
        kind="ack",
        gate_id=gate_id,
    )
    fired: list[str] = []
    while True:
        pending.try_post()
        asked = pending.asked
        decision = runtime.poll_gate(gate_id)
        if decision is not None:
            runtime.close_gate(gate_id, "acknowledged")
            runtime.record(
                "gate.acknowledged",
                f"{decision.by} acknowledged"
                + (f" after {len(fired)} escalation(s)" if fired else ""),
                {"step": ctx.step_id, "gate": gate_id},
                actor=decision.by or "unknown",
            )
            _close_ask(ctx, asked, f":white_check_mark: Acknowledged by {decision.by}")
            return {"acknowledged_by": decision.by, "escalations": fired, "outcome": "acknowledged"}
        now = ctx.now()
        for index, rung in enumerate(ladder):
            if index >= len(fired) and now >= rung_at[index]:
                fired.append(_escalate(ctx, index, rung, audience))
        if now >= due:
            runtime.close_gate(gate_id, "timed_out")
            waited = (due - opened).total_seconds()
            ctx.record(
                "gate.timed_out",
                f"{audience} did not acknowledge within {_span(waited)}",
                {"gate": gate_id, "escalations": fired},
            )
            _close_ask(ctx, asked, f":hourglass: Not acknowledged within {_span(waited)}")
            return {"acknowledged_by": None, "escalations": fired, "outcome": "timed_out"}
        upcoming = [at for at in rung_at[len(fired) :]] + [due, pending.next_try or due]
        _sleep_towards(ctx, min(upcoming))
