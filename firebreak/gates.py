"""Human gates: approvals and acknowledgements that a playbook step waits on.

A gate is a row in the `gate` table. The flow opens it and polls it; people decide it through the
API or Slack buttons (later the web pages), all through `decide_as`, which holds the one rule of
who may decide. Deciding is first-come: a decided gate stays decided. An approval with
`min_approvals: N` needs N different people (by account, Slack user or token: never by a name
typed in a request); one rejection decides it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from firebreak.incidents import append_event
from firebreak.principals import Principal
from firebreak.store.models import Gate, GateStatus, utcnow

DECISIONS = {
    "approve": GateStatus.approved,
    "reject": GateStatus.rejected,
    "acknowledge": GateStatus.acknowledged,
}
# Which decisions each kind of gate accepts: an acknowledgement cannot approve a statement.
ACCEPTS = {"approval": {"approve", "reject"}, "ack": {"acknowledge"}}


# API roles that answer for any audience, per kind of gate: a `comms` token decides statements
# (they are comms' words) and acknowledges; leads and admins acknowledge on anyone's behalf.
STANDS_IN = {
    "approval": frozenset({"comms"}),
    "ack": frozenset({"lead", "comms", "responder", "admin"}),
}


class GateError(ValueError):
    """A decision that cannot apply; the message says why."""


class GateNotFound(GateError):
    """No such gate (or not the one the caller meant)."""


class NotAllowed(GateError):
    """The principal may not decide this gate; the message says who may."""


def refusal(principal: Principal, gate: Gate) -> str | None:
    """Why `principal` may not decide `gate`, or None: the one rule, for every entry point.

    A principal decides a gate when it is bound to the gate's audience (the role the playbook
    asked), or holds an API role that stands in for any audience on that kind of gate.
    """
    if gate.audience is not None and gate.audience in principal.audiences:
        return None
    stand_in = STANDS_IN.get(gate.kind, frozenset())
    if principal.roles & stand_in:
        return None
    tokens = f"an API token with role {' or '.join(sorted(stand_in))}"
    if gate.audience is None:
        return f"Step {gate.step_id!r} names no role: only {tokens} decides it."
    return (
        f"{principal.name} is not bound to role {gate.audience}: only role {gate.audience} "
        f"(or {tokens}) decides step {gate.step_id!r}."
    )


def decide_as(
    session: Session,
    principal: Principal,
    *,
    incident_id: int,
    step_id: str,
    decision: str,
    comment: str | None = None,
    on_behalf_of: str | None = None,
    gate_id: int | None = None,
) -> Gate:
    """Decide a gate as `principal`, if the rule lets them; the timeline names them.

    `on_behalf_of` is a name the caller types (a shared token used by a named person); the
    principal is still recorded beside it. `gate_id`, when given, must be the gate at that step
    (a Slack button from another Firebreak, or from a gate since replaced, is refused).
    """
    gate = session.exec(
        select(Gate).where(Gate.incident_id == incident_id, Gate.step_id == step_id)
    ).first()
    if gate is None or (gate_id is not None and gate.id != gate_id):
        pending = ", ".join(g.step_id for g in pending_gates(session, incident_id)) or "none"
        which = (
            f"no gate {gate_id} at step {step_id!r}" if gate_id else f"no gate at step {step_id!r}"
        )
        raise GateNotFound(f"Incident {incident_id} has {which}; pending gates: {pending}.")
    why = refusal(principal, gate)
    if why is not None:
        raise NotAllowed(why)
    if on_behalf_of and principal.user_id is not None and on_behalf_of != principal.name:
        raise NotAllowed(
            f"You are signed in as {principal.name}: a decision is recorded as its signed-in "
            "user, and `by` is only for shared automation tokens."
        )
    named = on_behalf_of and on_behalf_of != principal.name
    by = f"{on_behalf_of} ({principal.name})" if named else principal.name
    return decide(
        session,
        incident_id=incident_id,
        step_id=step_id,
        decision=decision,
        by=by[:128],
        comment=comment,
        identity=principal.identity,
    )


def open_gate(
    session: Session,
    *,
    incident_id: int,
    step_id: str,
    kind: str,
    audience: str | None,
    subject: dict[str, Any],
    due_at: datetime | None,
) -> Gate:
    """Open the gate for a step, or return the one already open (a restarted flow re-attaches)."""
    existing = session.exec(
        select(Gate).where(Gate.incident_id == incident_id, Gate.step_id == step_id)
    ).first()
    if existing is not None:
        return existing
    gate = Gate(
        incident_id=incident_id,
        step_id=step_id,
        kind=kind,
        audience=audience,
        subject=subject,
        due_at=due_at,
    )
    session.add(gate)
    session.flush()
    return gate


def decide(
    session: Session,
    *,
    incident_id: int,
    step_id: str,
    decision: str,
    by: str,
    comment: str | None = None,
    identity: str | None = None,
) -> Gate:
    """Record a person's decision on a pending gate, and put it on the timeline.

    `identity` is who counts towards `min_approvals` (`Principal.identity`); `by` is how the
    timeline names them. Without an identity (the demo's simulated people) `by` is both.
    """
    identity = identity or by
    if decision not in DECISIONS:
        raise GateError(f"Unknown decision {decision!r}: use one of {', '.join(DECISIONS)}.")
    gate = session.exec(
        select(Gate).where(Gate.incident_id == incident_id, Gate.step_id == step_id)
    ).first()
    if gate is None:
        open_steps = pending_gates(session, incident_id)
        names = ", ".join(g.step_id for g in open_steps) or "none"
        raise GateError(
            f"Incident {incident_id} has no gate at step {step_id!r}; pending gates: {names}."
        )
    if gate.status != GateStatus.pending:
        raise GateError(
            f"The gate at step {step_id!r} was already {gate.status} by {gate.decided_by}."
        )
    if decision not in ACCEPTS.get(gate.kind, set(DECISIONS)):
        allowed = " or ".join(sorted(ACCEPTS[gate.kind]))
        raise GateError(f"Step {step_id!r} waits for an {gate.kind}: decide it with {allowed}.")
    suffix = f": {comment}" if comment else ""
    needed = int(gate.subject.get("min_approvals") or 1) if gate.kind == "approval" else 1
    approvers: list[str] = list(gate.subject.get("approvals") or [])
    who: list[str] = list(gate.subject.get("approver_ids") or approvers)
    if decision == "approve" and needed > 1:
        if identity in who:
            earlier = approvers[who.index(identity)] if len(approvers) == len(who) else by
            raise GateError(
                f"{earlier} has already approved step {step_id!r}; it needs "
                f"{needed - len(approvers)} more approval(s) from someone else."
            )
        approvers.append(by)
        who.append(identity)
        # A new dict: SQLAlchemy does not see changes made inside a JSON value.
        gate.subject = {**gate.subject, "approvals": approvers, "approver_ids": who}
        if len(approvers) < needed:
            session.add(gate)
            append_event(
                session,
                incident_id,
                "gate.decided",
                f"{by} approved {step_id} ({len(approvers)} of {needed}){suffix}",
                actor=by,
                data={"step": step_id, "kind": gate.kind, "decision": decision,
                      "comment": comment, "approvals": approvers, "needed": needed},
            )  # fmt: skip
            session.flush()
            return gate
        by = " and ".join(approvers)
    # Anyone's rejection closes the gate at once: two approvals are needed to publish, one
    # objection is enough to stop.
    gate.status = DECISIONS[decision]
    gate.decided_by = by[:128]
    gate.decided_at = utcnow()
    gate.comment = comment
    session.add(gate)
    append_event(
        session,
        incident_id,
        # The moment a person decided; the flow records `gate.<outcome>` when it acts on it.
        "gate.decided",
        f"{by} {gate.status} {step_id}{suffix}",
        actor=by,
        data={"step": step_id, "kind": gate.kind, "decision": decision, "comment": comment},
    )
    session.flush()
    return gate


def time_out(session: Session, gate: Gate) -> None:
    """Close a gate nobody decided in time. Fails closed: this is never an approval."""
    if gate.status == GateStatus.pending:
        gate.status = GateStatus.timed_out
        gate.decided_at = utcnow()
        session.add(gate)
        session.flush()


def pending_gates(session: Session, incident_id: int | None = None) -> list[Gate]:
    query = select(Gate).where(Gate.status == GateStatus.pending).order_by(col(Gate.id))
    if incident_id is not None:
        query = query.where(Gate.incident_id == incident_id)
    return list(session.exec(query).all())
