"""Slack interactivity: the Approve / Reject / Acknowledge buttons on a gate's ask.

Thin: the request is admitted by its Slack signature (`api.auth.SlackSigned`, which names what is
wrong), then handed to the slack-bolt app (`integrations/slack/bolt_app.py`), which verifies it
again, parses it and routes the click. What the click means is `gates.decide_as` with the Slack
user as the principal: the one rule every entry point shares. Refusals are HTTP 200 with the
reason as an ephemeral message, also sent to the payload's `response_url` after the answer.
"""

from __future__ import annotations

import json
import logging
from functools import partial
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request, status
from fastapi.responses import JSONResponse, Response
from sqlalchemy.engine import Engine
from sqlmodel import Session
from starlette.background import BackgroundTask

from api.auth import SlackSigned
from api.deps import SettingsDep, get_engine
from firebreak import accounts, gates
from firebreak.roles import RoleBindings, RoleError
from firebreak.settings import Settings
from firebreak.store.models import GateStatus
from integrations.slack import RESPONSE_URL_BASE
from integrations.slack.bolt_app import (
    App,
    GateClick,
    InteractionFailed,
    app_for,
    dispatch,
    payload_problem,
)

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


def _bad(message: str) -> HTTPException:
    return HTTPException(status.HTTP_400_BAD_REQUEST, f"Malformed Slack interaction: {message}")


def _reply(text: str) -> JSONResponse:
    """A message for the person who clicked, visible to them only."""
    return JSONResponse({"response_type": "ephemeral", "replace_original": False, "text": text})


def _decide(engine: Engine, settings: Settings, click: GateClick) -> str:
    """What the click does, said to the person who clicked."""
    try:
        roles = RoleBindings.load(settings.roles_file)
    except RoleError as exc:
        log.error("Slack click refused: role bindings unreadable: %s", exc)
        raise InteractionFailed(503, f"Role bindings cannot be read: {exc}") from None
    with Session(engine, expire_on_commit=False) as session:
        # The linked account when there is one: the same person as on the API, counted once.
        principal = accounts.principal_for_slack(session, click.user_id, click.user_name, roles)
        try:
            decided = gates.decide_as(
                session,
                principal,
                incident_id=click.incident_id,
                step_id=click.step_id,
                decision=click.decision,
                gate_id=click.gate_id,
            )
        except gates.GateNotFound as exc:
            return f"Nothing changed: {exc} (this message may be from another Firebreak)"
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


def _bolt_for(settings: Settings) -> App:
    secret = settings.slack_signing_secret
    assert secret is not None  # SlackSigned answered 503 otherwise
    token = settings.slack_token.get_secret_value() if settings.slack_token else None
    return app_for(secret.get_secret_value(), token, _response_bases(settings))


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
    request: Request,
    body: SlackSigned,
    settings: SettingsDep,
    engine: Annotated[Engine, Depends(get_engine)],
) -> Response:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad("the body is not UTF-8") from None
    problem = payload_problem(text)
    if problem is not None:
        raise _bad(problem)
    decide = partial(_decide, engine, settings)
    answer, after = await dispatch(_bolt_for(settings), request, body, decide)
    if answer.status_code == status.HTTP_404_NOT_FOUND:  # no listener: not one of our buttons
        return _reply("Firebreak only handles its gate buttons; nothing was done.")
    if answer.status_code >= 400:
        raise HTTPException(answer.status_code, _detail(bytes(answer.body)))
    if after is not None:
        # After the answer: Slack wants one within 3 seconds, and shows the person only this.
        answer.background = BackgroundTask(after)
    return answer


def _detail(body: bytes) -> str:
    try:
        return str(json.loads(body)["detail"])
    except (ValueError, KeyError, TypeError):
        return body.decode("utf-8", "replace") or "The Slack interaction was refused"


def _response_bases(settings: Settings) -> tuple[str, ...]:
    """Slack's hooks host, and the Slack API host the settings name (a sandbox, in tests)."""
    bases = [RESPONSE_URL_BASE]
    if settings.slack_base_url:
        parts = urlsplit(settings.slack_base_url)
        bases.append(f"{parts.scheme}://{parts.netloc}/")
    return tuple(bases)
