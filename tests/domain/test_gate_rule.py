"""One rule decides who may decide a gate, whoever the principal is and wherever they come from."""

from __future__ import annotations

import pytest
from sqlmodel import Session, SQLModel, create_engine, select

from firebreak import gates, incidents
from firebreak.principals import Principal
from firebreak.roles import RoleBindings
from firebreak.store.models import Gate, TimelineEvent

BINDINGS = RoleBindings.from_mapping(
    {"roles": {"comms": {"slack_users": ["U0COMMS1"]}, "executives": {"slack_users": ["U0EXEC1"]}}}
)
ANA = Principal.from_slack("U0COMMS1", "ana", BINDINGS)
EXEC = Principal.from_slack("U0EXEC1", "max", BINDINGS)
COMMS_TOKEN = Principal("comms#1a2b3c4d", frozenset({"comms"}), token_id="1a2b3c4d")
LEAD_TOKEN = Principal("lead#5e6f7a8b", frozenset({"lead"}), token_id="5e6f7a8b")
REVIEWER_TOKEN = Principal("reviewer#00000000", frozenset({"reviewer"}))


@pytest.fixture
def session() -> Session:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as session:
        incident, _ = incidents.open_or_escalate(
            session, title="Storm", playbook="p", scope="p", severity="high", inputs={},
            declared_by="test",
        )  # fmt: skip
        for step, kind, audience in (
            ("statement", "approval", "comms"),
            ("exec_ack", "ack", "executives"),
            ("anyone", "approval", None),
        ):
            gates.open_gate(
                session, incident_id=incident.id or 0, step_id=step, kind=kind,
                audience=audience, subject={"text": "x"}, due_at=None,
            )  # fmt: skip
        session.commit()
        yield session


def _gate(session: Session, step: str) -> Gate:
    gate = session.exec(select(Gate).where(Gate.step_id == step)).one()
    return gate


def test_bound_people_and_standing_in_tokens_may_decide_others_may_not(session: Session) -> None:
    statement, ack = _gate(session, "statement"), _gate(session, "exec_ack")
    assert gates.refusal(ANA, statement) is None  # bound to comms
    assert gates.refusal(COMMS_TOKEN, statement) is None  # stands in on approvals
    assert gates.refusal(EXEC, ack) is None
    assert gates.refusal(LEAD_TOKEN, ack) is None  # leads acknowledge for anyone
    assert "only role comms" in (gates.refusal(LEAD_TOKEN, statement) or "")
    assert "max (slack:U0EXEC1) is not bound to role comms" in (
        gates.refusal(EXEC, statement) or ""
    )
    assert "not bound to role executives" in (gates.refusal(ANA, ack) or "")
    assert "not bound" in (gates.refusal(REVIEWER_TOKEN, ack) or "")
    # A gate naming no role: only the standing-in tokens.
    anyone = _gate(session, "anyone")
    assert "names no role" in (gates.refusal(ANA, anyone) or "")
    assert gates.refusal(COMMS_TOKEN, anyone) is None


def test_decide_as_refuses_before_changing_anything_and_names_who_decided(
    session: Session,
) -> None:
    incident_id = _gate(session, "statement").incident_id
    with pytest.raises(gates.NotAllowed):
        gates.decide_as(session, EXEC, incident_id=incident_id, step_id="statement",
                        decision="approve")  # fmt: skip
    assert _gate(session, "statement").status == "pending"
    with pytest.raises(gates.GateNotFound, match="no gate 999 at step 'statement'"):
        gates.decide_as(session, ANA, incident_id=incident_id, step_id="statement",
                        decision="approve", gate_id=999)  # fmt: skip
    decided = gates.decide_as(
        session, COMMS_TOKEN, incident_id=incident_id, step_id="statement", decision="approve",
        on_behalf_of="dana",
    )  # fmt: skip
    assert decided.status == "approved" and decided.decided_by == "dana (comms#1a2b3c4d)"
    events = session.exec(select(TimelineEvent).where(TimelineEvent.kind == "gate.decided")).all()
    assert [e.actor for e in events] == ["dana (comms#1a2b3c4d)"]
