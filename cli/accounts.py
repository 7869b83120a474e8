"""CLI: `firebreak user add|list|disable|enable|set-role|passwd` and `firebreak token
create|list|revoke`: thin over `firebreak.accounts`, run by whoever holds the database."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

import typer
from rich.table import Table
from sqlmodel import Session

from cli.common import console, database, fail
from firebreak import accounts
from firebreak.accounts.service import token_state

T = TypeVar("T")
_ROLES_HELP = f"Comma-separated roles: {', '.join(accounts.ROLES)}."
_UNITS = {"m": 60, "h": 3600, "d": 86400}


@contextmanager
def _session() -> Iterator[Session]:
    with Session(database(), expire_on_commit=False) as session:
        yield session


def _apply(action: Callable[[Session], T]) -> T:
    """Run one account change and commit it; an AccountError is one sentence and exit 1."""
    with _session() as session:
        try:
            result = action(session)
        except accounts.AccountError as exc:
            fail(str(exc))
        session.commit()
        return result


def _roles(text: str) -> list[str]:
    return [r for r in (p.strip() for p in text.split(",")) if r]


def _lifetime(text: str | None) -> timedelta | None:
    if not text:
        return None
    unit = text[-1:]
    if unit not in _UNITS or not text[:-1].isdigit() or int(text[:-1]) <= 0:
        fail(f"--expires {text!r}: give a positive number with m, h or d, like 30d or 12h.")
    return timedelta(seconds=int(text[:-1]) * _UNITS[unit])


def _new_password(prompt: bool) -> str | None:
    if not prompt:
        return None
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


def register(app: typer.Typer) -> None:
    users = typer.Typer(help="People and their roles.", no_args_is_help=True)
    tokens = typer.Typer(help="API tokens: shown once, stored hashed.", no_args_is_help=True)
    app.add_typer(users, name="user")
    app.add_typer(tokens, name="token")

    @users.command("add")
    def user_add(
        username: str = typer.Argument(..., help="Login name: a-z, 0-9, '.', '_', '-'."),
        roles: str = typer.Option(..., "--roles", "-r", help=_ROLES_HELP),
        name: str = typer.Option(None, "--name", help="Display name."),
        slack: str = typer.Option(None, "--slack", help="Slack user id (U...) to link."),
        password: bool = typer.Option(True, "--password/--no-password", help="Ask for one."),
    ) -> None:
        """Add a user (asks for a password unless --no-password: tokens only)."""
        secret = _new_password(password)
        user = _apply(
            lambda s: accounts.add_user(
                s, username, _roles(roles), password=secret, display_name=name,
                slack_user_id=slack,
            )
        )  # fmt: skip
        console.print(f"User [bold]{user.username}[/] added: {', '.join(user.roles)}.")

    @users.command("list")
    def user_list() -> None:
        """Every user, their roles, Slack link and state."""
        with _session() as session:
            rows = accounts.list_users(session)
        table = Table("user", "name", "roles", "slack", "state")
        for u in rows:
            state = "disabled" if u.disabled else "active"
            if u.must_change_password and not u.disabled:
                state += " (one-time password)"
            table.add_row(
                u.username, u.display_name or "", ", ".join(u.roles), u.slack_user_id or "", state
            )
        console.print(table)

    @users.command("disable")
    def user_disable(username: str = typer.Argument(...)) -> None:
        """Disable a user: their tokens stop working at once."""
        _apply(lambda s: accounts.disable_user(s, username))
        console.print(f"User [bold]{username}[/] disabled.")

    @users.command("enable")
    def user_enable(username: str = typer.Argument(...)) -> None:
        """Enable a disabled user again."""
        _apply(lambda s: accounts.disable_user(s, username, disabled=False))
        console.print(f"User [bold]{username}[/] enabled.")

    @users.command("set-role")
    def user_set_role(
        username: str = typer.Argument(...),
        roles: str = typer.Argument(..., help=_ROLES_HELP),
    ) -> None:
        """Replace a user's roles."""
        user = _apply(lambda s: accounts.set_roles(s, username, _roles(roles)))
        console.print(f"User [bold]{username}[/] now has: {', '.join(user.roles)}.")

    @users.command("link-slack")
    def user_link_slack(
        username: str = typer.Argument(...),
        slack_user_id: str = typer.Argument(..., help="U..., or '' to unlink."),
    ) -> None:
        """Link a user to their Slack user id: their clicks in Slack are then theirs."""
        _apply(lambda s: accounts.link_slack(s, username, slack_user_id or None))
        console.print(f"User [bold]{username}[/] linked to Slack {slack_user_id or '(none)'}.")

    @users.command("passwd")
    def user_passwd(username: str = typer.Argument(...)) -> None:
        """Set a user's password (replaces the first admin's one-time password)."""
        secret = _new_password(True)
        assert secret is not None
        _apply(lambda s: accounts.change_password(s, username, secret))
        console.print(f"Password of [bold]{username}[/] changed.")

    @tokens.command("create")
    def token_create(
        user: str = typer.Option(None, "--user", "-u", help="The user the token acts as."),
        service: str = typer.Option(None, "--service", help="Or a service (a signal source)."),
        roles: str = typer.Option("", "--roles", "-r", help=f"A service's roles. {_ROLES_HELP}"),
        label: str = typer.Option(None, "--label", help="What it is for."),
        expires: str = typer.Option(None, "--expires", help="Lifetime: 30d, 12h, 45m."),
    ) -> None:
        """Create a token and print it once: it is stored only as a hash."""
        lifetime = _lifetime(expires)
        issued = _apply(
            lambda s: accounts.create_token(
                s, username=user, service=service, roles=_roles(roles), label=label,
                expires_in=lifetime,
            )
        )  # fmt: skip
        holder = user or f"service:{service}"
        until = f", expires {issued.record.expires_at:%Y-%m-%d %H:%M} UTC" if lifetime else ""
        console.print(f"Token {issued.record.id} for {holder}{until}. Shown once, keep it now:")
        console.print(f"  [bold]{issued.secret}[/]", highlight=False, soft_wrap=True)

    @tokens.command("list")
    def token_list(
        user: str = typer.Option(None, "--user", "-u", help="Only this user's."),
    ) -> None:
        """Tokens and their state (never the secret)."""
        with _session() as session:
            try:
                rows = accounts.list_tokens(session, user)
            except accounts.AccountError as exc:
                fail(str(exc))
        table = Table("id", "holder", "roles", "label", "created", "expires", "state")
        for t, holder in rows:
            table.add_row(
                str(t.id), holder, ", ".join(t.roles) or "(the user's)", t.label or "",
                f"{t.created_at:%Y-%m-%d %H:%M}",
                f"{t.expires_at:%Y-%m-%d %H:%M}" if t.expires_at else "never", token_state(t),
            )  # fmt: skip
        console.print(table)

    @tokens.command("revoke")
    def token_revoke(token_id: int = typer.Argument(..., help="The id from `token list`.")) -> None:
        """Revoke a token: refused from its next request on."""
        _apply(lambda s: accounts.revoke_token(s, token_id))
        console.print(f"Token {token_id} revoked.")
