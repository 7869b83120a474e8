"""Slack interactivity: the Approve / Reject / Acknowledge buttons on a gate's ask.

Slack posts `application/x-www-form-urlencoded` with one `payload` field (JSON). The request is
admitted by its Slack signature (`api.auth.SlackSigned`), not by a bearer token; the clicking
Slack user must then be bound to the gate's role in the role bindings file. Refusals are HTTP 200
with the reason as a message. Slack does not display the answer to a button click, so the same
message also goes to the payload's `response_url`, after the answer (Slack wants it in 3 s).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, BackgroundTasks, Depends, HTTPException, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from api.auth import SlackSigned
from api.deps import SettingsDep, get_engine
from firebreak import gates
from firebreak.roles import RoleBindings, RoleError
from firebreak.settings import Settings
from firebreak.store.models import Gate, GateStatus
from integrations.slack import RESPONSE_URL_BASE, reply_to_action
from integrations.slack.blocks import ACTION_PREFIX

log = logging.getLogger("firebreak.api.slack")

router = APIRouter(prefix="/slack", tags=["slack"])

ADMITS = (
    "Admitted by Slack request signature, not by a bearer token: `X-Slack-Signature` must be "
    "the HMAC-SHA256 of `v0:{timestamp}:{body}` under FIREBREAK_SLACK_SIGNING_SECRET, and "
    "`X-Slack-Request-Timestamp` within 5 minutes of now. The clicking Slack user must be one "
    "of the `slack_users` bound to the gate's role (its audience) in the role bindings file."
)

_FORM_BODY = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["payload"],
                "properties": {
                    "payload": {
                        "type": "string",
                        "description": "Slack's block_actions interaction payload, as JSON",
                    }
                },
            }
        }
    },
}


@dataclass(frozen=True)
class Click:
    """One press of a Firebreak gate button, as Slack reported it."""

    decision: str
    incident_id: int
    step_id: str
    gate_id: int
    user_id: str
    user_name: str

    @property
    def by(self) -> str:
        return f"{self.user_name} (slack:{self.user_id})"[:128]


def _bad(message: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, f"Malformed Slack interaction: {message}")


def _reply(text: str) -> JSONResponse:
    """A message for the person who clicked, visible to them only."""
    return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": text})


def _payload(body: bytes) -> dict[str, Any]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8") from None
    values = fields.get("payload")
    if not values:
        raise _bad("the form-encoded body has no `payload` field")
    try:
        payload = json.loads(values[0])
    except ValueError as exc:
        raise _bad(f"`payload` is not JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise _bad("`payload` must be a JSON object")
    if not isinstance(payload.get("type"), str):
        raise _bad("`payload.type` is missing")
    return payload


def _click(payload: dict[str, Any]) -> Click | None:
    """Our button press in a block_actions payload; None when the payload is not about one."""
    if payload["type"] != "block_actions":
        return None
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
        raise _bad("`payload.user.id` is missing")
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        raise _bad("`payload.actions` must be a non-empty list")
    for index, action in enumerate(actions):
        if not isinstance(action, dict):
            raise _bad(f"`payload.actions[{index}]` must be an object")
        action_id = action.get("action_id")
        if not isinstance(action_id, str) or not action_id.startswith(ACTION_PREFIX):
            continue
        where = f"`payload.actions[{index}]`"
        decision = action_id.removeprefix(ACTION_PREFIX)
        if decision not in gates.DECISIONS:
            raise _bad(f"{where}.action_id {action_id!r} is not a gate decision")
        try:
            value = json.loads(action.get("value") or "")
        except (TypeError, ValueError):
            raise _bad(f"{where}.value is not the JSON a Firebreak button carries") from None
        if not isinstance(value, dict):
            raise _bad(f"{where}.value must be a JSON object")
        incident, step, gate = value.get("incident"), value.get("step"), value.get("gate")
        if not (type(incident) is int and type(gate) is int and isinstance(step, str) and step):
            raise _bad(f"{where}.value needs integer `incident` and `gate` and a string `step`")
        name = user.get("name") or user.get("username") or user["id"]
        return Click(decision, incident, step, gate, user["id"], str(name))
    return None


def _refusal(roles: RoleBindings, audience: str | None, click: Click) -> str | None:
    """Why this Slack user may not decide a gate asked of `audience`, or None."""
    if not audience:
        return "This gate names no role, so it cannot be decided from Slack; use the API."
    try:
        binding = roles.get(audience)
    except RoleError as exc:
        return f"Nothing changed: {exc}."
    if click.user_id not in binding.slack_users:
        return (
            f"Nothing changed: <@{click.user_id}> is not bound to role {audience} in "
            f"{roles.source}, and only {audience} decides this step."
        )
    return None


def _decide(engine: Engine, settings: Settings, click: Click) -> str:
    try:
        roles = RoleBindings.load(settings.roles_file)
    except RoleError as exc:
        log.error("Slack click refused: role bindings unreadable: %s", exc)
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, f"Role bindings cannot be read: {exc}"
        ) from None
    with Session(engine, expire_on_commit=False) as session:
        gate = session.exec(
            select(Gate).where(Gate.incident_id == click.incident_id, Gate.step_id == click.step_id)
        ).first()
        if gate is None or gate.id != click.gate_id:
            return (
                f"Nothing changed: incident {click.incident_id} has no gate {click.gate_id} at "
                f"step {click.step_id!r} (this message may be from another Firebreak)."
            )
        refusal = _refusal(roles, gate.audience, click)
        if refusal is not None:
            return refusal
        try:
            decided = gates.decide(
                session,
                incident_id=click.incident_id,
                step_id=click.step_id,
                decision=click.decision,
                by=click.by,
            )
        except gates.GateError as exc:
            session.rollback()
            return f"Nothing changed: {exc}"
        approvals = list(decided.subject.get("approvals") or [])
        needed = int(decided.subject.get("min_approvals") or 1)
        session.commit()
    where = f"step {click.step_id} of incident {click.incident_id}"
    if decided.status == GateStatus.pending:
        return (
            f"You approved {where} ({len(approvals)} of {needed}); it needs "
            f"{needed - len(approvals)} more approval(s) from someone else."
        )
    return f"You {decided.status} {where}."


@router.post(
    "/interactions",
    summary="Slack button clicks on gate asks (approve, reject, acknowledge)",
    description=ADMITS,
    openapi_extra={"requestBody": _FORM_BODY},
    responses={
        200: {"description": "Handled or refused; `text` says which, for the Slack user"},
        400: {"description": "The payload is not a Slack interaction; `detail` says what"},
        401: {"description": "Missing, wrong or stale Slack signature"},
        503: {"description": "No signing secret configured, or role bindings unreadable"},
    },
)
async def slack_interactions(
    body: SlackSigned,
    settings: SettingsDep,
    engine: Annotated[Engine, Depends(get_engine)],
    background: BackgroundTasks,
) -> JSONResponse:
    payload = _payload(body)
    click = _click(payload)
    if click is None:
        return _reply("Firebreak only handles its gate buttons; nothing was done.")
    text = await run_in_threadpool(_decide, engine, settings, click)
    response_url = payload.get("response_url")
    if isinstance(response_url, str) and response_url:
        # After the answer: Slack wants one within 3 seconds, and shows the person only this.
        background.add_task(_tell_clicker, response_url, text, _response_bases(settings))
    return _reply(text)


def _response_bases(settings: Settings) -> tuple[str, ...]:
    """Slack's hooks host, and the Slack API host the settings name (a sandbox, in tests)."""
    bases = [RESPONSE_URL_BASE]
    if settings.slack_base_url:
        parts = urlsplit(settings.slack_base_url)
        bases.append(f"{parts.scheme}://{parts.netloc}/")
    return tuple(bases)


def _tell_clicker(response_url: str, text: str, allowed: tuple[str, ...]) -> None:
    problem = reply_to_action(response_url, text, allowed=allowed)
    if problem is not None:
        log.warning("Slack click answered, but the person was not told: %s", problem)
