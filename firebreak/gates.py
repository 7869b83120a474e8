"""Human gates: approvals and acknowledgements that a playbook step waits on.

A gate is a row in the `gate` table. The flow opens it and polls it; people decide it through the
API (later Slack buttons and the web pages). Deciding is first-come: a decided gate stays decided.
An approval with `min_approvals: N` needs N different people; one rejection decides it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from firebreak.incidents import append_event
from firebreak.store.models import Gate, GateStatus, utcnow

DECISIONS = {
    "approve": GateStatus.approved,
    "reject": GateStatus.rejected,
    "acknowledge": GateStatus.acknowledged,
}
# Which decisions each kind of gate accepts: an acknowledgement cannot approve a statement.
ACCEPTS = {"approval": {"approve", "reject"}, "ack": {"acknowledge"}}


class GateError(ValueError):
    """A decision that cannot apply; the message says why."""


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
) -> Gate:
    """Record a person's decision on a pending gate, and put it on the timeline."""
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
    if decision == "approve" and needed > 1:
        if by in approvers:
            raise GateError(
                f"{by} has already approved step {step_id!r}; it needs {needed - len(approvers)} "
                f"more approval(s) from someone else."
            )
        approvers.append(by)
        # A new dict: SQLAlchemy does not see changes made inside a JSON value.
        gate.subject = {**gate.subject, "approvals": approvers}
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
