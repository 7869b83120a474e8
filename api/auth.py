"""Bearer-token auth: every endpoint declares the roles it admits.

Tokens come from `settings.api_tokens` (token -> roles). The token itself never appears in a
response, a log or the timeline: a principal is named by its roles and a short hash.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.deps import SettingsDep

Role = Literal["lead", "comms", "reviewer", "admin", "ingest"]
ROLES: tuple[Role, ...] = ("lead", "comms", "reviewer", "admin", "ingest")
RESPONDERS: tuple[Role, ...] = ("lead", "comms", "admin")

_bearer = HTTPBearer(auto_error=False, description="A token from FIREBREAK_API_TOKENS")


@dataclass(frozen=True, slots=True)
class Principal:
    name: str
    roles: frozenset[str]


def _principal_for(token: str, tokens: dict[str, list[str]]) -> Principal | None:
    supplied = token.encode()
    for known, roles in tokens.items():
        # Constant-time: response timing must not reveal how much of a token matched.
        if hmac.compare_digest(supplied, known.encode()):
            digest = hashlib.sha256(supplied).hexdigest()[:8]
            return Principal(f"{'+'.join(sorted(roles)) or 'token'}#{digest}", frozenset(roles))
    return None


def authenticate(
    settings: SettingsDep,
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

    return Depends(check)
