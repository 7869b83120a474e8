"""Bearer-token auth: every endpoint declares the roles it admits.

A token is an account's (`firebreak token create`: a user's, acting with the user's roles, or a
service's), looked up by its hash; a revoked or expired one, or a disabled user's, is refused.
`settings.api_tokens` (FIREBREAK_API_TOKENS, token -> roles) stays as a bootstrap for automation:
such a principal is named by its roles and a short hash. The token itself never appears in a
response, a log or the timeline.

Slack's callbacks carry no token: `SlackSigned` admits a request signed with the Slack app's
signing secret instead, and the route then checks the Slack user against the role bindings.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SessionDep, SettingsDep
from firebreak import accounts
from firebreak.principals import Principal
from integrations.slack import slack_request_problem

Role = Literal["lead", "comms", "responder", "reviewer", "admin", "ingest"]
ROLES: tuple[Role, ...] = ("admin", "lead", "comms", "responder", "reviewer", "ingest")
RESPONDERS: tuple[Role, ...] = ("lead", "comms", "responder", "admin")

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `firebreak token create` (or FIREBREAK_API_TOKENS, for automation)",
)


def _principal_for(token: str, tokens: dict[str, list[str]]) -> Principal | None:
    supplied = token.encode()
    for known, roles in tokens.items():
        # Constant-time: response timing must not reveal how much of a token matched.
        if hmac.compare_digest(supplied, known.encode()):
            digest = hashlib.sha256(supplied).hexdigest()[:8]
            name = f"{'+'.join(sorted(roles)) or 'token'}#{digest}"
            return Principal(name, frozenset(roles), token_id=digest)
    return None


def authenticate(
    settings: SettingsDep,
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Missing bearer token: send 'Authorization: Bearer <token>'",
            headers=challenge,
        )
    principal = _principal_for(credentials.credentials, settings.api_tokens)
    if principal is None and len(credentials.credentials) <= 256:
        principal = accounts.authenticate_token(session, credentials.credentials)
    if principal is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Invalid bearer token", headers=challenge)
    return principal


def require_roles(*admitted: Role) -> object:
    """A dependency admitting a principal that holds at least one of `admitted`."""

    def check(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Principal:
        if principal.roles.isdisjoint(admitted):
            held = ", ".join(sorted(principal.roles)) or "none"
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"{request.method} {request.url.path} admits roles: {', '.join(admitted)}; "
                f"your token has: {held}",
            )
        return principal

    check.admitted = admitted  # type: ignore[attr-defined]  # read by the security table
    return Depends(check)


def public(why: str) -> object:
    """A dependency declaring that a route admits anyone, and why (it checks nothing itself).

    Every route declares who it admits: roles, a Slack signature, or this. The security table
    (docs/security.md, `api.security`) is generated from these declarations.
    """

    def anyone() -> None:
        return None

    anyone.admits = f"anyone ({why})"  # type: ignore[attr-defined]
    return Depends(anyone)


# Slack's interaction payloads are a few kilobytes; the body is read before it is verified.
SLACK_BODY_LIMIT = 1 << 20


async def slack_signed(request: Request, settings: SettingsDep) -> bytes:
    """Admit a request Slack signed with FIREBREAK_SLACK_SIGNING_SECRET; returns its raw body."""
    secret = settings.slack_signing_secret
    if secret is None or not secret.get_secret_value().strip():
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            "Slack interactivity is not configured: set FIREBREAK_SLACK_SIGNING_SECRET to the "
            "Slack app's signing secret (app settings, Basic Information)",
        )
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > SLACK_BODY_LIMIT:
            raise HTTPException(
                status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
                f"A Slack interaction body is at most {SLACK_BODY_LIMIT} bytes",
            )
    problem = slack_request_problem(secret.get_secret_value(), bytes(body), request.headers)
    if problem is not None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, f"Not a signed Slack request: {problem}")
    return bytes(body)


SlackSigned = Annotated[bytes, Depends(slack_signed)]
