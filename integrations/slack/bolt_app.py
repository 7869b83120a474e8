"""The slack-bolt `App` behind `/slack/*`: it verifies Slack's signature and routes interactions.

Bolt owns the Slack side (signature, payload parsing, routing by `action_id`, the `ack` answer);
what a click means is decided by the caller, who passes a `Decide` callable per request in the
Bolt context (`DECIDE`). Events and slash commands register here the same way.

No network at construction or per request: the app authorizes locally (one workspace, the bot
token from the settings) instead of calling `auth.test`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import App, BoltResponse

# The FastAPI adapter (`slack_bolt.adapter.fastapi`) is Starlette's: its request and response
# converters, used directly because its `SlackRequestHandler.handle` re-reads the body (ours is
# read once, within a size limit) and dispatches on the event loop, blocking it until the ack.
from slack_bolt.adapter.starlette.handler import to_bolt_request, to_starlette_response
from slack_bolt.authorization import AuthorizeResult
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from integrations.slack.blocks import ACTION_PREFIX
from integrations.slack.respond import reply_to_action

log = logging.getLogger("firebreak.slack")

DECIDE = "firebreak_decide"  # Bolt context key: the per-request `Decide`
REPLY = "firebreak_reply"  # Bolt context key: (response_url, text) to tell the clicker after
DECISIONS = ("approve", "reject", "acknowledge")
GATE_BUTTON = re.compile("^" + re.escape(ACTION_PREFIX))


@dataclass(frozen=True)
class GateClick:
    """One press of a Firebreak gate button, as Slack reported it."""

    decision: str
    incident_id: int
    step_id: str
    gate_id: int
    user_id: str
    user_name: str


class InteractionFailed(Exception):
    """An interaction that gets an HTTP error instead of a message: `status` and `detail`."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def malformed(message: str) -> InteractionFailed:
    return InteractionFailed(400, f"Malformed Slack interaction: {message}")


# What a click means, given by the caller: the text the person who clicked is shown.
Decide = Callable[[GateClick], str]


def payload_problem(body: str) -> str | None:
    """What is wrong with an interaction body's shape, before Bolt parses it; None if sound."""
    values = parse_qs(body, keep_blank_values=True).get("payload")
    if not values:
        return "the form-encoded body has no `payload` field"
    try:
        payload = json.loads(values[0])
    except ValueError as exc:
        return f"`payload` is not JSON ({exc})"
    if not isinstance(payload, dict):
        return "`payload` must be a JSON object"
    if not isinstance(payload.get("type"), str):
        return "`payload.type` is missing"
    if payload["type"] != "block_actions":
        return None
    user = payload.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str) or not user["id"]:
        return "`payload.user.id` is missing"
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions:
        return "`payload.actions` must be a non-empty list"
    for index, action in enumerate(actions):
        if not isinstance(action, dict):
            return f"`payload.actions[{index}]` must be an object"
    return None


def gate_click(payload: dict[str, Any]) -> GateClick:
    """Our button press in a block_actions payload Bolt routed here (its first action)."""
    action = payload["actions"][0]
    where = "`payload.actions[0]`"
    action_id = str(action.get("action_id"))
    decision = action_id.removeprefix(ACTION_PREFIX)
    if decision not in DECISIONS:
        raise malformed(f"{where}.action_id {action_id!r} is not a gate decision")
    try:
        value = json.loads(action.get("value") or "")
    except (TypeError, ValueError):
        raise malformed(f"{where}.value is not the JSON a Firebreak button carries") from None
    if not isinstance(value, dict):
        raise malformed(f"{where}.value must be a JSON object")
    incident, step, gate = value.get("incident"), value.get("step"), value.get("gate")
    if not (type(incident) is int and type(gate) is int and isinstance(step, str) and step):
        raise malformed(f"{where}.value needs integer `incident` and `gate` and a string `step`")
    user = payload["user"]
    name = user.get("name") or user.get("username") or user["id"]
    return GateClick(decision, incident, step, gate, user["id"], str(name))


def build_app(
    signing_secret: str, *, bot_token: str | None, response_bases: tuple[str, ...]
) -> App:
    """A Bolt app for one workspace; `response_bases` are the hosts a `response_url` may name."""

    def authorize(**kwargs: Any) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=kwargs.get("enterprise_id"),
            team_id=kwargs.get("team_id"),
            user_id=kwargs.get("user_id"),
            bot_token=bot_token,
        )

    app = App(
        signing_secret=signing_secret,
        authorize=authorize,
        token_verification_enabled=False,
        # The listener runs to its end before the answer: Bolt's other mode answers "no
        # listener" when a slow database makes the ack miss its 3 s, though the click counts.
        # What must come after the answer (the response_url message) is returned to the caller.
        process_before_response=True,
        # Nothing here reacts to messages; the self-events check would need the bot's user id.
        ignoring_self_events_enabled=False,
    )

    @app.action(GATE_BUTTON)
    def gate_button(ack: Any, body: dict[str, Any], context: Any) -> None:
        click = gate_click(body)
        decide: Decide = context[DECIDE]
        text = decide(click)
        ack({"response_type": "ephemeral", "replace_original": False, "text": text})
        # Slack does not display the answer to a button click; the response_url does.
        response_url = body.get("response_url")
        if isinstance(response_url, str) and response_url:
            context[REPLY] = (response_url, text, response_bases)

    @app.error
    def failed(error: Exception) -> BoltResponse:
        if isinstance(error, InteractionFailed):
            status, detail = error.status, error.detail
        else:
            log.error("Slack interaction failed", exc_info=error)
            status, detail = 500, f"The interaction failed: {type(error).__name__}"
        return BoltResponse(
            status=status,
            body=json.dumps({"detail": detail}),
            headers={"content-type": "application/json"},
        )

    return app


@lru_cache(maxsize=8)
def app_for(signing_secret: str, bot_token: str | None, response_bases: tuple[str, ...]) -> App:
    """One Bolt app per configuration, built at the first request that needs it."""
    return build_app(signing_secret, bot_token=bot_token, response_bases=response_bases)


async def dispatch(
    app: App, request: Request, body: bytes, decide: Decide
) -> tuple[Response, Callable[[], None] | None]:
    """Hand a request (its body already read) to Bolt, with `decide` for the gate buttons.

    Returns the answer, and what to do once it is sent (tell the person who clicked), if any.
    """
    bolt_request = to_bolt_request(request, body, {DECIDE: decide})
    answer = await run_in_threadpool(app.dispatch, bolt_request)
    reply = bolt_request.context.get(REPLY)
    after = None
    if reply is not None:
        response_url, text, allowed = reply

        def after() -> None:
            problem = reply_to_action(response_url, text, allowed=allowed)
            if problem is not None:
                log.warning("Slack click answered, but the person was not told: %s", problem)

    return to_starlette_response(answer), after
