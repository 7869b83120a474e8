"""Role bindings: the playbook names an audience (`comms`, `executives`); configuration binds it.

One playbook serves staging and production because only this file changes between them. The
PagerDuty routing key is a secret: it is held as `SecretStr` and left out of every expression
context and timeline entry.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

DEFAULT_ROLES_FILE = Path(__file__).resolve().parent.parent / "playbooks" / "roles.sandbox.yaml"

# How a Jira flavour names the person a task is assigned to (`TrackerPort.assigns_by`): Jira Cloud
# only by account id (it ignores `name` since the GDPR changes), Data Center by username.
ASSIGNEE_FIELDS = {"account_id": "jira_account_id", "username": "jira_assignee"}
_ACCOUNT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_-]{0,127}$")


class RoleError(ValueError):
    """A role is unknown, unbound for what is asked of it, or the bindings file is invalid."""


class RoleBinding(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = ""
    slack_users: list[str] = Field(default_factory=list, description="Slack user ids to invite")
    slack_channel: str | None = Field(default=None, description="Channel the role reads")
    jira_assignee: str | None = Field(
        default=None, description="Jira Data Center username its tasks are assigned to"
    )
    jira_account_id: str | None = Field(
        default=None, description="Jira Cloud account id its tasks are assigned to"
    )
    pagerduty_routing_key: SecretStr | None = Field(
        default=None, description="Events API v2 routing key of the role's PagerDuty service"
    )

    @field_validator("jira_account_id")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        if value is not None and not _ACCOUNT_ID.match(value):
            raise ValueError(
                f"{value!r} is not an Atlassian account id (like 5b10a2844c20165700ede21g or "
                "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077, the end of the person's profile "
                "URL), not an email or a username"
            )
        return value

    def public(self) -> dict[str, Any]:
        """What expressions and templates may read: everything but the secret."""
        return {
            "description": self.description,
            "slack_users": list(self.slack_users),
            "slack_channel": self.slack_channel,
            "jira_assignee": self.jira_assignee,
            "jira_account_id": self.jira_account_id,
            "pageable": self.pagerduty_routing_key is not None,
        }


class RoleBindings:
    """Named roles and what each is bound to."""

    def __init__(self, roles: Mapping[str, RoleBinding], *, source: str = "<memory>") -> None:
        self._roles = dict(roles)
        self.source = source

    @classmethod
    def from_mapping(cls, data: Any, *, source: str = "<memory>") -> RoleBindings:
        if isinstance(data, Mapping) and "roles" in data:
            data = data["roles"]
        if not isinstance(data, Mapping):
            raise RoleError(f"{source}: expected a mapping of role name -> binding under `roles:`")
        roles: dict[str, RoleBinding] = {}
        problems: list[str] = []
        for name, raw in data.items():
            try:
                roles[str(name)] = RoleBinding.model_validate(raw or {})
            except ValidationError as exc:
                for err in exc.errors():
                    where = ".".join(str(p) for p in err["loc"])
                    problems.append(f"{source}: roles.{name}.{where}: {err['msg']}".rstrip("."))
        if problems:
            raise RoleError("\n".join(problems))
        return cls(roles, source=source)

    @classmethod
    def load(cls, path: Path | str | None = None) -> RoleBindings:
        path = Path(path) if path else DEFAULT_ROLES_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RoleError(f"cannot read roles file {path}: {exc.strerror}") from None
        try:
            data = YAML(typ="safe").load(text)
        except YAMLError as exc:
            raise RoleError(f"{path}: not valid YAML: {exc}") from None
        return cls.from_mapping(data or {}, source=str(path))

    @property
    def names(self) -> list[str]:
        return sorted(self._roles)

    def __contains__(self, name: object) -> bool:
        return name in self._roles

    def get(self, name: str) -> RoleBinding:
        try:
            return self._roles[name]
        except KeyError:
            close = difflib.get_close_matches(name, self._roles, n=3)
            hint = f" (did you mean {', '.join(close)}?)" if close else ""
            known = ", ".join(self.names) or "none"
            raise RoleError(
                f"role '{name}' is not bound in {self.source}{hint}; bound roles: {known}"
            ) from None

    def slack_channel(self, name: str) -> str:
        channel = self.get(name).slack_channel
        if not channel:
            raise RoleError(f"role '{name}' has no slack_channel in {self.source}")
        return channel

    def jira_assignee(self, name: str, *, by: str) -> str | None:
        """Who the role's Jira tasks go to, as the tracker names people (`by`: account_id or
        username); None when the role assigns nobody. A role bound only for the other flavour
        is an error naming the field to add, not a task silently left unassigned."""
        binding = self.get(name)
        wanted = ASSIGNEE_FIELDS[by]
        value = getattr(binding, wanted)
        if value:
            return str(value)
        other = next(f for f in ASSIGNEE_FIELDS.values() if f != wanted)
        if getattr(binding, other):
            flavour = "Jira Cloud" if by == "account_id" else "Jira Data Center"
            noun = "account id" if by == "account_id" else "username"
            raise RoleError(
                f"{flavour} assigns tasks by {noun}, and role '{name}' has only {other} in "
                f"{self.source}: add roles.{name}.{wanted}"
            )
        return None

    def routing_key(self, name: str) -> str | None:
        key = self.get(name).pagerduty_routing_key
        return key.get_secret_value() if key else None

    def context(self) -> dict[str, dict[str, Any]]:
        """The roles as expressions see them (`roles.comms.slack_channel`), secrets left out."""
        return {name: binding.public() for name, binding in self._roles.items()}

    def channels(self) -> list[str]:
        """Every channel the bindings name (a sandbox seeds these so posts find them)."""
        return sorted({b.slack_channel for b in self._roles.values() if b.slack_channel})
