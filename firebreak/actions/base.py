"""What every action receives: the step it runs for, the runtime, and a few careful helpers."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from firebreak.actions.templates import TemplateRenderer
from firebreak.playbook.runtime import Runtime
from firebreak.ports import IntegrationError
from firebreak.roles import RoleError


class ActionError(Exception):
    """An action could not do its work; the message is what the timeline shows."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


class StepTimeout(Exception):
    """A step's `timeout` passed on the runtime clock."""


@dataclass
class Statement:
    step_id: str
    version: int
    text: str
    template: str
    approved: bool = False
    approved_by: str | None = None


@dataclass
class RunState:
    """What actions of one run share: drafted statements and their approvals."""

    statements: dict[str, Statement] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add_statement(self, step_id: str, text: str, template: str) -> Statement:
        with self.lock:
            existing = self.statements.get(step_id)
            if existing is not None and existing.text == text:
                return existing
            statement = Statement(step_id, len(self.statements) + 1, text, template)
            self.statements[step_id] = statement
            return statement

    def approve_matching(self, subject: str, by: str) -> list[Statement]:
        """Mark approved every drafted statement whose text the approved subject carries."""
        approved = []
        with self.lock:
            for statement in self.statements.values():
                if statement.text.strip() and statement.text.strip() in subject:
                    statement.approved = True
                    statement.approved_by = by
                    approved.append(statement)
        return approved

    def latest_approved(self) -> Statement | None:
        with self.lock:
            approved = [s for s in self.statements.values() if s.approved]
        return max(approved, key=lambda s: s.version) if approved else None


@dataclass
class ActionContext:
    runtime: Runtime
    step_id: str
    action: str
    context: Mapping[str, Any]  # the expression context: incident, inputs, steps, roles, now
    templates: TemplateRenderer
    state: RunState
    deadline: datetime | None = None

    @property
    def incident_id(self) -> int:
        return self.runtime.incident.id

    def effect_key(self, what: str) -> str:
        return f"{self.incident_id}:{self.step_id}:{what}"

    def effect(
        self,
        what: str,
        fn: Callable[[], dict[str, Any]],
        find: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Do a side effect once per incident, step and `what`, whatever the retries and
        crashes: after an interrupted call, `find` looks for it at the service first."""
        return self.runtime.effect(self.effect_key(what), fn, find)

    def marker(self, what: str) -> str:
        """A mark of this effect that the service stores with it, unique per installation, so
        a search finds it after a crash (a Jira label, a Slack channel purpose)."""
        from firebreak.settings import get_settings

        installation = get_settings().effective_installation_id
        digest = hashlib.sha256(f"{installation}/{self.effect_key(what)}".encode()).hexdigest()
        return f"firebreak-{installation}-{digest[:12]}"

    def post_once(
        self, what: str, channel: str, text: str, *, blocks: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        """Post once for `what`: the message carries the effect's marker, so after a crash
        during the post the message is found in the channel instead of posted again."""
        chat = self.runtime.integrations.chat
        marker = self.marker(what)

        def send() -> dict[str, Any]:
            ref = chat.post(channel, text, blocks=blocks, marker=marker)
            return {"channel": ref.channel, "ts": ref.ts}

        def find() -> dict[str, Any] | None:
            ref = chat.find_message(channel, marker)
            return {"channel": ref.channel, "ts": ref.ts} if ref else None

        return self.effect(what, send, find)

    def record(self, kind: str, summary: str, data: dict[str, Any] | None = None) -> None:
        payload = {"step": self.step_id, "action": self.action, **(data or {})}
        self.runtime.record(kind, summary, payload)

    def render(self, template: str, **extra: Any) -> str:
        return self.templates.render(template, {**self.context, **extra})

    def text_or_template(self, args: Mapping[str, Any], what: str) -> str:
        """The message of `slack.post`/`notify`: `text`, or `template` rendered, or both."""
        parts = []
        if args.get("template"):
            parts.append(self.render(str(args["template"])))
        if args.get("text"):
            parts.append(str(args["text"]))
        if not parts:
            raise ActionError(f"{what} needs `text` or `template`")
        return "\n\n".join(parts)

    def now(self) -> datetime:
        return self.runtime.clock.now()

    def sleep_until(self, when: datetime) -> None:
        """Sleep on the runtime clock until `when`, or until the step's deadline: then time out."""
        while True:
            now = self.now()
            if self.deadline is not None and now >= self.deadline:
                raise StepTimeout(f"step '{self.step_id}' passed its timeout")
            if now >= when:
                return
            target = when if self.deadline is None else min(when, self.deadline)
            self.runtime.clock.sleep(
                min((target - now).total_seconds(), self.runtime.clock.poll_interval)
            )

    def channel_for(self, value: str) -> str:
        """A role name means the role's channel; anything else is a channel id or name."""
        if value in self.runtime.roles:
            return self.runtime.roles.slack_channel(value)
        return value

    def users_of(self, roles: list[str]) -> list[str]:
        users: list[str] = []
        for role in roles:
            for user in self.runtime.roles.get(role).slack_users:
                if user not in users:
                    users.append(user)
        return users


def seconds(value: Any) -> float:
    """Durations reach actions as timedelta (validated models) or numbers of seconds."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    from firebreak.expressions import parse_duration

    try:
        return parse_duration(value).total_seconds()
    except ValueError as exc:
        raise ActionError(str(exc)) from None


def integration_call(fn: Callable[[], Any]) -> Any:
    """Call an adapter; its errors keep their `retryable` flag, role errors become action errors."""
    try:
        return fn()
    except IntegrationError:
        raise
    except RoleError as exc:
        raise ActionError(str(exc)) from None
