"""Sign-in: a password for a token, a one-time password for a real one, who am I.

Thin over `firebreak.accounts`. Users and tokens are managed with `firebreak user` and
`firebreak token` by whoever runs the server.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, status
from pydantic import ConfigDict
from sqlmodel import Field, SQLModel

from api.auth import ROLES, Principal, public, require_roles
from api.deps import SessionDep
from api.openapi import errors
from api.schemas import Text
from firebreak import accounts

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])

SignedIn = Annotated[Principal, require_roles(*ROLES)]
TOKEN_LIFETIME = timedelta(hours=12)


class Credentials(SQLModel):
    model_config = ConfigDict(extra="forbid")  # type: ignore[assignment]

    username: Text = Field(min_length=1, max_length=64)
    password: Text = Field(min_length=1, max_length=1024)


class PasswordChange(Credentials):
    new_password: Text = Field(min_length=accounts.MIN_PASSWORD, max_length=1024)


class TokenIssued(SQLModel):
    token: str = Field(description="Shown once: send it as 'Authorization: Bearer <token>'")
    token_id: int
    username: str
    roles: list[str]
    expires_at: datetime


class Me(SQLModel):
    name: str
    roles: list[str]
    user: bool = Field(description="A person's account (false: a service or bootstrap token)")
    slack_user_id: str | None


def _signed_in(session: SessionDep, body: Credentials) -> accounts.User:
    user = accounts.check_password(session, body.username, body.password)
    if user is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Wrong username or password")
    return user


Password = public("a username and password in the body")


@router.post(
    "/token", response_model=TokenIssued, responses=errors(401, 403), dependencies=[Password]
)
def sign_in(body: Credentials, session: SessionDep) -> TokenIssued:
    """A token for 12 hours, for a username and password. Admits anyone with a password."""
    user = _signed_in(session, body)
    if user.must_change_password:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "This is a one-time password: set your own first with POST /api/v1/auth/password "
            "(or `firebreak user passwd <username>`)",
        )
    issued = accounts.create_token(
        session, username=user.username, label="sign-in", expires_in=TOKEN_LIFETIME
    )
    session.commit()
    assert issued.record.id is not None and issued.record.expires_at is not None
    return TokenIssued(
        token=issued.secret,
        token_id=issued.record.id,
        username=user.username,
        roles=user.roles,
        expires_at=issued.record.expires_at,
    )


@router.post("/password", status_code=204, responses=errors(401, 422), dependencies=[Password])
def change_password(body: PasswordChange, session: SessionDep) -> None:
    """Replace a password (the first admin's one-time password, for one). Admits anyone with a
    password."""
    user = _signed_in(session, body)
    if body.new_password == body.password:
        raise HTTPException(422, "new_password: must differ from the current password")
    accounts.change_password(session, user.username, body.new_password)
    session.commit()


@router.get("/me", response_model=Me)
def me(principal: SignedIn) -> Me:
    return Me(
        name=principal.name,
        roles=sorted(principal.roles),
        user=principal.user_id is not None,
        slack_user_id=principal.slack_user,
    )
