"""The account rules: who exists, what they hold, which tokens act for them.

Routers and commands call these and turn `AccountError` into a 4xx or an exit code; nothing
here knows about HTTP or the terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session, col, select

from firebreak.accounts.secrets import (
    hash_password,
    new_password,
    new_token,
    token_digest,
    verify_password,
)
from firebreak.principals import Principal
from firebreak.roles import RoleBindings
from firebreak.store.models import ApiToken, User, utcnow

# `ingest` is for signal sources (usually a service token), the rest for people.
ROLES: tuple[str, ...] = ("admin", "lead", "comms", "responder", "reviewer", "ingest")
_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,31}$")
MIN_PASSWORD = 10


class AccountError(ValueError):
    """A request about accounts that cannot apply; the message says what and why."""


class AccountNotFound(AccountError):
    pass


@dataclass(frozen=True)
class IssuedToken:
    """A token just created: `secret` is shown once and never stored."""

    record: ApiToken
    secret: str


def _as_utc(when: datetime | None) -> datetime | None:
    if when is not None and when.tzinfo is None:
        return when.replace(tzinfo=UTC)
    return when


def checked_roles(roles: list[str] | tuple[str, ...]) -> list[str]:
    cleaned = sorted({r.strip() for r in roles if r.strip()})
    unknown = [r for r in cleaned if r not in ROLES]
    if unknown:
        raise AccountError(f"Unknown role(s) {', '.join(unknown)}: use {', '.join(ROLES)}.")
    if not cleaned:
        raise AccountError(f"Give at least one role: {', '.join(ROLES)}.")
    return cleaned


def _checked_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"A password has at least {MIN_PASSWORD} characters.")
    return password


def get_user(session: Session, username: str) -> User:
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None:
        known = ", ".join(u.username for u in list_users(session)) or "none"
        raise AccountNotFound(f"No user {username!r}; users: {known}.")
    return user


def list_users(session: Session) -> list[User]:
    return list(session.exec(select(User).order_by(col(User.username))).all())


def add_user(
    session: Session,
    username: str,
    roles: list[str] | tuple[str, ...],
    *,
    password: str | None = None,
    display_name: str | None = None,
    slack_user_id: str | None = None,
    must_change_password: bool = False,
) -> User:
    if not _USERNAME.match(username):
        raise AccountError(
            f"{username!r} is not a username: 1-64 of a-z, 0-9, '.', '_', '-', "
            "starting with a letter or digit."
        )
    if session.exec(select(User).where(User.username == username)).first() is not None:
        raise AccountError(f"User {username!r} already exists.")
    user = User(
        username=username,
        display_name=display_name,
        roles=checked_roles(roles),
        password_hash=hash_password(_checked_password(password)) if password else None,
        must_change_password=must_change_password,
    )
    session.add(user)
    session.flush()
    if slack_user_id:
        link_slack(session, username, slack_user_id)
    return user


def set_roles(session: Session, username: str, roles: list[str] | tuple[str, ...]) -> User:
    user = get_user(session, username)
    user.roles = checked_roles(roles)
    session.add(user)
    session.flush()
    return user


def disable_user(session: Session, username: str, *, disabled: bool = True) -> User:
    """A disabled user's tokens stop working at once; their history stays theirs."""
    user = get_user(session, username)
    if disabled and "admin" in user.roles:
        admins = [u for u in list_users(session) if "admin" in u.roles and not u.disabled]
        if admins == [user]:
            raise AccountError(f"{username!r} is the last enabled admin: add another first.")
    user.disabled = disabled
    session.add(user)
    session.flush()
    return user


def link_slack(session: Session, username: str, slack_user_id: str | None) -> User:
    user = get_user(session, username)
    if slack_user_id:
        if not _SLACK_ID.match(slack_user_id):
            raise AccountError(
                f"{slack_user_id!r} is not a Slack user id (like U0123ABCD, from the person's "
                "Slack profile, 'Copy member ID')."
            )
        other = session.exec(select(User).where(User.slack_user_id == slack_user_id)).first()
        if other is not None and other.id != user.id:
            raise AccountError(f"Slack user {slack_user_id} is already {other.username!r}.")
    user.slack_user_id = slack_user_id or None
    session.add(user)
    session.flush()
    return user


def check_password(session: Session, username: str, password: str) -> User | None:
    """The user, when the password is theirs and they are enabled; None otherwise."""
    user = session.exec(select(User).where(User.username == username)).first()
    if user is None or user.disabled or not verify_password(user.password_hash, password):
        return None
    return user


def change_password(session: Session, username: str, password: str) -> User:
    user = get_user(session, username)
    user.password_hash = hash_password(_checked_password(password))
    user.must_change_password = False
    session.add(user)
    session.flush()
    return user


def ensure_first_admin(session: Session, username: str = "admin") -> str | None:
    """On a fresh install, create an admin with a one-time password and return it; else None."""
    if session.exec(select(User)).first() is not None:
        return None
    password = new_password()
    add_user(session, username, ["admin"], password=password, must_change_password=True)
    return password


def create_token(
    session: Session,
    *,
    username: str | None = None,
    service: str | None = None,
    roles: list[str] | tuple[str, ...] = (),
    label: str | None = None,
    expires_in: timedelta | None = None,
) -> IssuedToken:
    """A token for a user (acting with the user's roles) or a service (with `roles`)."""
    if (username is None) == (service is None):
        raise AccountError("A token belongs to a user or to a service: give exactly one.")
    if expires_in is not None and expires_in <= timedelta(0):
        raise AccountError("A token's lifetime must be positive.")
    user_id = None
    token_roles: list[str] = []
    if username is not None:
        user = get_user(session, username)
        if user.disabled:
            raise AccountError(f"User {username!r} is disabled.")
        if roles:
            raise AccountError("A user's token acts with the user's roles: give no roles.")
        user_id = user.id
    else:
        assert service is not None
        if not _USERNAME.match(service):
            raise AccountError(f"{service!r} is not a service name: a-z, 0-9, '.', '_', '-'.")
        token_roles = checked_roles(roles)
    secret = new_token()
    record = ApiToken(
        token_hash=token_digest(secret),
        user_id=user_id,
        service=service,
        roles=token_roles,
        label=label,
        expires_at=utcnow() + expires_in if expires_in else None,
    )
    session.add(record)
    session.flush()
    return IssuedToken(record, secret)


def list_tokens(session: Session, username: str | None = None) -> list[tuple[ApiToken, str]]:
    """Every token with its holder's name (`alice` or `service:monitor`); never a secret."""
    query = select(ApiToken).order_by(col(ApiToken.id))
    if username is not None:
        query = query.where(ApiToken.user_id == get_user(session, username).id)
    names = {u.id: u.username for u in list_users(session)}
    return [
        (t, names.get(t.user_id, "?") if t.user_id else f"service:{t.service}")
        for t in session.exec(query).all()
    ]


def revoke_token(session: Session, token_id: int) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None:
        raise AccountNotFound(f"No token with id {token_id} (see `firebreak token list`).")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.add(token)
        session.flush()
    return token


def token_state(token: ApiToken, now: datetime | None = None) -> str:
    now = now or utcnow()
    if token.revoked_at is not None:
        return "revoked"
    expires = _as_utc(token.expires_at)
    if expires is not None and expires <= now:
        return "expired"
    return "active"


def principal_for_user(user: User, bindings: RoleBindings | None = None) -> Principal:
    audiences: frozenset[str] = frozenset()
    if bindings is not None and user.slack_user_id:
        audiences = frozenset(
            n for n in bindings.names if user.slack_user_id in bindings.get(n).slack_users
        )
    return Principal(
        name=user.username,
        roles=frozenset(user.roles),
        audiences=audiences,
        slack_user=user.slack_user_id,
        user_id=user.id,
    )


def authenticate_token(session: Session, secret: str) -> Principal | None:
    """The principal a presented token acts as, or None (unknown, revoked, expired, disabled)."""
    token = session.exec(
        select(ApiToken).where(ApiToken.token_hash == token_digest(secret))
    ).first()
    if token is None or token_state(token) != "active":
        return None
    if token.user_id is None:
        return Principal(
            name=f"service:{token.service}",
            roles=frozenset(token.roles),
            token_id=f"t{token.id}",
        )
    user = session.get(User, token.user_id)
    if user is None or user.disabled:
        return None
    principal = principal_for_user(user)
    return Principal(
        name=principal.name,
        roles=principal.roles,
        slack_user=principal.slack_user,
        user_id=principal.user_id,
        token_id=f"t{token.id}",
    )


def principal_for_slack(
    session: Session, user_id: str, user_name: str, bindings: RoleBindings
) -> Principal:
    """A Slack click: the linked user when there is one (same person as on the API), else the
    Slack user as the bindings file knows them."""
    user = session.exec(select(User).where(User.slack_user_id == user_id)).first()
    if user is not None and not user.disabled:
        return principal_for_user(user, bindings)
    return Principal.from_slack(user_id, user_name, bindings)
