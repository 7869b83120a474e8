"""POST /slack/interactions: real signed requests, as Slack sends them, against the app.

Signatures are computed here with hmac (`v0:{ts}:{body}` under the signing secret), never with
our own code, so a wrong verifier cannot agree with itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from httpx import Response
from sqlmodel import Session, select

from firebreak import gates, incidents
from firebreak.store.models import Gate, TimelineEvent
from tests.api.conftest import Api, user_auth

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
COMMS_1 = {"id": "U0COMMS1", "username": "ana", "name": "ana", "team_id": "T0SANDBOX"}
COMMS_2 = {"id": "U0COMMS2", "username": "bo", "name": "bo", "team_id": "T0SANDBOX"}
LEAD = {"id": "U0LEAD01", "username": "lee", "name": "lee", "team_id": "T0SANDBOX"}
STRANGER = {"id": "U0NOBODY", "username": "eve", "name": "eve", "team_id": "T0SANDBOX"}


def sign(body: str, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    ts = str(int(time.time() if at is None else at))
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }


def click_payload(
    user: dict[str, str], decision: str, *, incident: int, step: str, gate: int
) -> dict[str, Any]:
    """A block_actions payload shaped like Slack's for one button press."""
    return {
        "type": "block_actions",
        "team": {"id": "T0SANDBOX", "domain": "firebreak-sandbox"},
        "user": user,
        "api_app_id": "A0FIREBRK",
        "container": {"type": "message", "message_ts": "1700000000.000001"},
        "channel": {"id": "C00000002", "name": "comms-approvals"},
        "response_url": "https://hooks.slack.invalid/actions/T0/1/abc",
        "actions": [
            {
                "type": "button",
                "action_id": f"firebreak.gate.{decision}",
                "block_id": f"firebreak-gate-{gate}",
                "value": json.dumps({"incident": incident, "step": step, "gate": gate}),
                "action_ts": "1700000001.000002",
            }
        ],
    }


def form(payload: Any) -> str:
    return urlencode({"payload": payload if isinstance(payload, str) else json.dumps(payload)})


def send(api: Api, body: str, headers: dict[str, str] | None = None) -> Response:
    return api.client.post("/slack/interactions", content=body, headers=headers or sign(body))


@pytest.fixture
def slack_api(make_api: Callable[..., Api]) -> Api:
    return make_api(slack_signing_secret=SECRET)


def open_gate(api: Api, *, kind: str = "approval", min_approvals: int = 1) -> tuple[int, int]:
    """An incident with one pending gate asked of comms; (incident id, gate id)."""
    with Session(api.engine, expire_on_commit=False) as session:
        incident, _ = incidents.open_or_escalate(
            session, title="Lost wheelchair", playbook="storm", scope="t", severity="sev2"
        )
        assert incident.id is not None
        gate = gates.open_gate(
            session,
            incident_id=incident.id,
            step_id="approve",
            kind=kind,
            audience="comms",
            subject={"text": "We are sorry.", "min_approvals": min_approvals},
            due_at=None,
        )
        session.commit()
        assert gate.id is not None
        return incident.id, gate.id


def gate_row(api: Api, gate_id: int) -> Gate:
    with Session(api.engine) as session:
        gate = session.get(Gate, gate_id)
        assert gate is not None
        return gate


def decided_events(api: Api, incident_id: int) -> list[TimelineEvent]:
    with Session(api.engine) as session:
        return list(
            session.exec(
                select(TimelineEvent).where(
                    TimelineEvent.incident_id == incident_id, TimelineEvent.kind == "gate.decided"
                )
            ).all()
        )


def test_approve_from_slack_decides_the_gate_and_records_who(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    body = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))

    response = send(slack_api, body)

    assert response.status_code == 200
    assert response.json()["text"] == f"You approved step approve of incident {incident}."
    row = gate_row(slack_api, gate)
    assert row.status == "approved" and row.decided_by == "ana (slack:U0COMMS1)"
    [event] = decided_events(slack_api, incident)
    assert event.actor == "ana (slack:U0COMMS1)"
    assert event.summary == "ana (slack:U0COMMS1) approved approve"


def test_reject_from_slack(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    body = form(click_payload(COMMS_2, "reject", incident=incident, step="approve", gate=gate))
    assert send(slack_api, body).json()["text"].startswith("You rejected")
    assert gate_row(slack_api, gate).status == "rejected"


def test_bad_signature_is_401_and_the_gate_stays_pending(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    body = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))

    forged = send(slack_api, body, sign(body, secret="not-the-secret"))
    tampered = send(slack_api, body.replace("U0COMMS1", "U0COMMS2"), sign(body))

    for response in (forged, tampered):
        assert response.status_code == 401
        assert "X-Slack-Signature does not match the body" in response.json()["detail"]
    assert gate_row(slack_api, gate).status == "pending"
    assert decided_events(slack_api, incident) == []


def test_missing_signature_headers_are_401(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    body = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))
    response = send(slack_api, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 401
    assert "missing header X-Slack-Signature and X-Slack-Request-Timestamp" in response.text
    garbled = {**sign(body), "X-Slack-Request-Timestamp": "yesterday"}
    assert send(slack_api, body, garbled).status_code == 401
    assert gate_row(slack_api, gate).status == "pending"


def test_stale_timestamp_is_refused_as_a_replay(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    body = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))

    replay = send(slack_api, body, sign(body, at=time.time() - 6 * 60))

    assert replay.status_code == 401
    assert "more than 5 minutes" in replay.json()["detail"]
    assert gate_row(slack_api, gate).status == "pending"


@pytest.mark.parametrize(
    ("user", "why"),
    [
        (STRANGER, "eve (slack:U0NOBODY) is not bound to role comms"),
        (LEAD, "lee (slack:U0LEAD01) is not bound"),
    ],
)
def test_a_user_not_bound_to_the_gates_role_is_refused(
    slack_api: Api, user: dict[str, str], why: str
) -> None:
    incident, gate = open_gate(slack_api)
    body = form(click_payload(user, "approve", incident=incident, step="approve", gate=gate))

    response = send(slack_api, body)

    assert response.status_code == 200
    assert response.json()["response_type"] == "ephemeral"
    assert why in response.json()["text"]
    assert gate_row(slack_api, gate).status == "pending"
    assert decided_events(slack_api, incident) == []


def test_a_second_decision_changes_nothing_and_says_why(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    first = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))
    late = form(click_payload(COMMS_2, "reject", incident=incident, step="approve", gate=gate))
    assert send(slack_api, first).status_code == 200

    response = send(slack_api, late)

    assert response.status_code == 200
    assert response.json()["text"] == (
        "Nothing changed: The gate at step 'approve' was already approved by ana (slack:U0COMMS1)."
    )
    assert gate_row(slack_api, gate).status == "approved"
    assert len(decided_events(slack_api, incident)) == 1


def test_min_approvals_needs_two_different_slack_users(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api, min_approvals=2)
    ana = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))
    bo = form(click_payload(COMMS_2, "approve", incident=incident, step="approve", gate=gate))

    assert "(1 of 2); it needs 1 more" in send(slack_api, ana).json()["text"]
    twice = send(slack_api, ana).json()["text"]
    assert twice.startswith("Nothing changed: ana (slack:U0COMMS1) has already approved")
    assert gate_row(slack_api, gate).status == "pending"
    assert send(slack_api, bo).json()["text"].startswith("You approved")

    row = gate_row(slack_api, gate)
    assert row.status == "approved"
    assert row.decided_by == "ana (slack:U0COMMS1) and bo (slack:U0COMMS2)"


def test_one_person_through_the_api_and_slack_is_counted_once(slack_api: Api) -> None:
    """Ana's account is linked to her Slack id: her API approval and her click are one person."""
    incident, gate = open_gate(slack_api, min_approvals=2)
    ana_api = user_auth(slack_api, "ana.silva", "comms", slack=COMMS_1["id"])
    url = f"/api/v1/incidents/{incident}/gates/approve"
    first = slack_api.client.post(url, json={"decision": "approve"}, headers=ana_api)
    assert first.status_code == 200 and first.json()["status"] == "pending"

    ana = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))
    twice = send(slack_api, ana).json()["text"]
    assert twice.startswith("Nothing changed: ana.silva has already approved")
    bo = form(click_payload(COMMS_2, "approve", incident=incident, step="approve", gate=gate))
    assert send(slack_api, bo).json()["text"].startswith("You approved")

    row = gate_row(slack_api, gate)
    assert row.status == "approved" and row.decided_by == "ana.silva and bo (slack:U0COMMS2)"
    actors = [e.actor for e in decided_events(slack_api, incident)]
    assert actors == ["ana.silva", "ana.silva and bo (slack:U0COMMS2)"]


def test_a_linked_slack_user_decides_as_their_account(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    user_auth(slack_api, "bo.berg", "reviewer", slack=COMMS_2["id"])
    bo = form(click_payload(COMMS_2, "approve", incident=incident, step="approve", gate=gate))
    # Linked: the account decides, and the bindings file still binds Bo to comms.
    assert send(slack_api, bo).json()["text"].startswith("You approved")
    assert gate_row(slack_api, gate).decided_by == "bo.berg"


def test_an_ack_gate_takes_acknowledge_not_approve(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api, kind="ack")
    approve = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))
    ack = form(click_payload(COMMS_1, "acknowledge", incident=incident, step="approve", gate=gate))

    assert "waits for an ack" in send(slack_api, approve).json()["text"]
    assert gate_row(slack_api, gate).status == "pending"
    assert send(slack_api, ack).json()["text"].startswith("You acknowledged")
    assert gate_row(slack_api, gate).status == "acknowledged"


def test_a_button_for_another_gate_is_refused(slack_api: Api) -> None:
    incident, gate = open_gate(slack_api)
    body = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate + 7))
    assert "has no gate" in send(slack_api, body).json()["text"]
    assert gate_row(slack_api, gate).status == "pending"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("token=abc", "has no `payload` field"),
        (form("{not json"), "`payload` is not JSON"),
        (form([1, 2]), "`payload` must be a JSON object"),
        (form({"actions": []}), "`payload.type` is missing"),
        (form({"type": "block_actions", "actions": []}), "`payload.user.id` is missing"),
        (
            form({"type": "block_actions", "user": COMMS_1, "actions": "x"}),
            "`payload.actions` must be a non-empty list",
        ),
        (
            form(
                {
                    "type": "block_actions",
                    "user": COMMS_1,
                    "actions": [{"action_id": "firebreak.gate.approve", "value": "7"}],
                }
            ),
            "`payload.actions[0]`.value must be a JSON object",
        ),
        (
            form(
                {
                    "type": "block_actions",
                    "user": COMMS_1,
                    "actions": [
                        {"action_id": "firebreak.gate.approve", "value": '{"incident": "1"}'}
                    ],
                }
            ),
            "needs integer `incident` and `gate` and a string `step`",
        ),
        (
            form(
                {
                    "type": "block_actions",
                    "user": COMMS_1,
                    "actions": [{"action_id": "firebreak.gate.publish", "value": "{}"}],
                }
            ),
            "'firebreak.gate.publish' is not a gate decision",
        ),
    ],
)
def test_malformed_payload_is_400_saying_what(slack_api: Api, body: str, reason: str) -> None:
    _incident, gate = open_gate(slack_api)
    response = send(slack_api, body)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("Malformed Slack interaction: ")
    assert reason in response.json()["detail"]
    assert "Traceback" not in response.text
    assert gate_row(slack_api, gate).status == "pending"


def test_a_signed_body_that_is_not_utf8_is_400_not_401(slack_api: Api) -> None:
    _incident, gate = open_gate(slack_api)
    body = b"payload=%7B%22type%22%3A%22block_actions%22%7D\xff\xfe"
    ts = str(int(time.time()))
    digest = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": f"v0={digest}",
    }
    response = slack_api.client.post("/slack/interactions", content=body, headers=headers)
    assert response.status_code == 400
    assert "not UTF-8" in response.json()["detail"]
    forged = {**headers, "X-Slack-Signature": "v0=" + "0" * 64}
    refused = slack_api.client.post("/slack/interactions", content=body, headers=forged)
    assert refused.status_code == 401
    assert gate_row(slack_api, gate).status == "pending"


def test_other_interactions_are_answered_and_ignored(slack_api: Api) -> None:
    _incident, gate = open_gate(slack_api)
    shortcut = form({"type": "shortcut", "user": COMMS_1, "callback_id": "x"})
    foreign = form({"type": "block_actions", "user": COMMS_1, "actions": [{"action_id": "other"}]})
    for body in (shortcut, foreign):
        response = send(slack_api, body)
        assert response.status_code == 200
        assert "only handles its gate buttons" in response.json()["text"]
    assert gate_row(slack_api, gate).status == "pending"


def test_no_signing_secret_configured_is_503(make_api: Callable[..., Api]) -> None:
    api = make_api()
    incident, gate = open_gate(api)
    body = form(click_payload(COMMS_1, "approve", incident=incident, step="approve", gate=gate))

    response = send(api, body)

    assert response.status_code == 503
    assert "set FIREBREAK_SLACK_SIGNING_SECRET" in response.json()["detail"]
    assert gate_row(api, gate).status == "pending"


def test_the_route_says_what_admits_it(slack_api: Api) -> None:
    spec = slack_api.client.get("/openapi.json").json()
    route = spec["paths"]["/slack/interactions"]["post"]
    assert route["description"].startswith("Admitted by Slack request signature")
    assert "application/x-www-form-urlencoded" in route["requestBody"]["content"]


# -- with the sandbox: the ask a real step posts, clicked, and updated ----------------------------

ASK_PLAYBOOK = """\
name: ask-comms
version: 1
description: Ask comms to approve a holding statement.
roles:
  comms: Approves statements
steps:
  - id: approve
    uses: approval.request
    with: {subject: "We are looking into the <delay>.", approvers: comms, timeout: 24h}
"""


def wait_for(check: Callable[[], Any], what: str, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting for {what}")


def test_the_step_posts_buttons_a_click_decides_and_the_ask_shows_who(
    sandboxed: Any, make_api: Callable[..., Api], tmp_path: Path
) -> None:
    from firebreak.playbook.engine import Engine as PlaybookEngine
    from firebreak.playbook.loader import load_playbook
    from firebreak.playbook.runtime import SystemClock
    from firebreak.playbook.store_runtime import StoreRuntime
    from firebreak.roles import RoleBindings
    from integrations.factory import build_integrations

    api = make_api()  # the sandbox's settings come from the environment, signing secret too
    path = tmp_path / "ask-comms.yaml"
    path.write_text(ASK_PLAYBOOK, encoding="utf-8")
    with Session(api.engine, expire_on_commit=False) as session:
        incident, _ = incidents.open_or_escalate(
            session, title="Delays", playbook="ask-comms", scope="t", severity="sev2"
        )
        session.commit()
    assert incident.id is not None
    runtime = StoreRuntime(
        api.engine,
        incident.id,
        integrations=build_integrations(api.settings),
        roles=RoleBindings.load(api.settings.roles_file),
        clock=SystemClock(time_scale=600, poll_interval=60),
    )
    results: list[Any] = []
    run = threading.Thread(
        target=lambda: results.append(PlaybookEngine(load_playbook(path), runtime).run()),
        daemon=True,
    )
    run.start()

    def ask() -> dict[str, Any] | None:
        messages = sandboxed.state("slack")["messages"]
        return next((m for m in messages if m.get("blocks")), None)

    message = wait_for(ask, "the ask on Slack")
    # The fallback text is escaped too: Slack would read <...> as a link or a mention.
    assert message["text"].endswith("We are looking into the &lt;delay&gt;.")
    section, actions = message["blocks"]
    assert section["text"]["text"].endswith("We are looking into the &lt;delay&gt;.")
    buttons = {b["action_id"]: b for b in actions["elements"]}
    assert sorted(buttons) == ["firebreak.gate.approve", "firebreak.gate.reject"]
    value = json.loads(buttons["firebreak.gate.approve"]["value"])
    assert value["incident"] == incident.id and value["step"] == "approve"

    hook = sandboxed.url("slack") + "/actions/T0SANDBOX/1/abc"
    secret = sandboxed.slack_signing_secret
    stranger = form({**click_payload(STRANGER, "approve", **value), "response_url": hook})
    assert "not bound to role comms" in send(api, stranger, sign(stranger, secret=secret)).text
    body = form({**click_payload(COMMS_2, "approve", **value), "response_url": hook})
    clicked = send(api, body, sign(body, secret=secret))
    assert clicked.json()["text"] == f"You approved step approve of incident {incident.id}."
    # Slack shows the clicker what comes through response_url, not the HTTP answer.
    told = [(r["response_type"], r["text"]) for r in sandboxed.state("slack")["responses"]]
    assert (
        told[0][0] == "ephemeral"
        and "eve (slack:U0NOBODY) is not bound to role comms" in told[0][1]
    )
    assert told[1] == ("ephemeral", f"You approved step approve of incident {incident.id}.")

    run.join(timeout=30)
    assert not run.is_alive() and results[0].status == "succeeded"
    updated = next(m for m in sandboxed.state("slack")["messages"] if m["ts"] == message["ts"])
    assert updated["text"].endswith(":white_check_mark: Approved by bo (slack:U0COMMS2)")
    assert [b["type"] for b in updated["blocks"]] == ["section", "context"]
    with Session(api.engine) as session:
        kinds = [(e.kind, e.actor) for e in incidents.timeline(session, incident.id)]
    assert ("gate.decided", "bo (slack:U0COMMS2)") in kinds
    assert ("gate.approved", "bo (slack:U0COMMS2)") in kinds
