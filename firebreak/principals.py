"""Who is acting: an API token today, a Slack user, later a person's account.

Every entry point (API, Slack, later the web pages) turns its caller into a `Principal` and hands
it to a domain service, which applies the rule (see `gates.decide_as`). The rule never asks where
a principal came from, only what it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from firebreak.roles import RoleBindings


@dataclass(frozen=True, slots=True)
class Principal:
    """Someone acting on Firebreak.

    `roles` are the API roles a token grants (`lead`, `comms`, `reviewer`, `admin`, `ingest`).
    `audiences` are the playbook roles (role bindings: `comms`, `executives`, ...) the principal
    is bound to and so answers for. The accounts to come fill both from a person's record.
    """

    name: str  # how the timeline names them: "comms#1a2b3c4d", "ana (slack:U0COMMS1)"
    roles: frozenset[str] = field(default_factory=frozenset)
    audiences: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None  # a short hash of the API token, never the token
    slack_user: str | None = None
    user_id: int | None = None  # the account, when the principal is a person with one

    @property
    def identity(self) -> str:
        """Who this is for counting distinct people: the account, else the Slack user, else the
        token. Never a name typed in a request body."""
        if self.user_id is not None:
            return f"user:{self.user_id}"
        if self.slack_user:
            return f"slack:{self.slack_user}"
        return f"token:{self.token_id or self.name}"

    @classmethod
    def from_slack(cls, user_id: str, user_name: str, bindings: RoleBindings) -> Principal:
        """A Slack user, bound to every role whose `slack_users` lists them."""
        bound = frozenset(
            name for name in bindings.names if user_id in bindings.get(name).slack_users
        )
        return cls(name=f"{user_name} (slack:{user_id})"[:128], audiences=bound, slack_user=user_id)
