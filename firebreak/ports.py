"""What the domain needs from the outside world, as small interfaces.

`integrations/` implements each one with the real SDK (one module per service); the sandbox
emulates the services at the wire, so the same adapters run in the demo, the tests and production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class IntegrationError(Exception):
    """A service refused or could not be reached. `retryable` says whether trying again may help."""

    def __init__(self, service: str, message: str, *, retryable: bool = False) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message
        self.retryable = retryable


@dataclass(frozen=True)
class ChannelRef:
    id: str
    name: str


@dataclass(frozen=True)
class MessageRef:
    channel: str
    ts: str


@dataclass(frozen=True)
class IssueRef:
    key: str
    url: str


@dataclass(frozen=True)
class IssueStatus:
    """Where an issue stands: its workflow status, whether that counts as done, who owns it."""

    key: str
    name: str  # the status as the tracker names it: "In Progress", "Done", ...
    done: bool
    assignee: str | None = None


@dataclass(frozen=True)
class TaskSpec:
    summary: str
    description: str = ""
    assignee: str | None = None
    due: str | None = None  # ISO date
    labels: list[str] = field(default_factory=list)


class ChatPort(Protocol):
    def create_channel(self, name: str, *, private: bool = False) -> ChannelRef: ...
    def invite(self, channel_id: str, user_ids: list[str]) -> None: ...
    def post(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> MessageRef: ...
    def update(
        self, channel: str, ts: str, text: str, *, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Replace a posted message (`chat.update`): `channel` is the id `post` returned."""
        ...


class TrackerPort(Protocol):
    def create_epic(
        self, summary: str, description: str = "", *, labels: list[str] | None = None
    ) -> IssueRef: ...
    def create_tasks(self, epic_key: str, tasks: list[TaskSpec]) -> list[IssueRef]: ...
    def comment(self, key: str, body: str) -> None: ...
    def transition(self, key: str, to: str) -> None: ...
    def status(self, key: str) -> IssueStatus: ...


class PagerPort(Protocol):
    def trigger(
        self,
        summary: str,
        *,
        dedup_key: str,
        source: str = "firebreak",
        severity: str = "critical",
        details: dict[str, Any] | None = None,
        links: list[dict[str, str]] | None = None,
        routing_key: str | None = None,
    ) -> str: ...
    def acknowledge(self, dedup_key: str, *, routing_key: str | None = None) -> None: ...
    def resolve(self, dedup_key: str, *, routing_key: str | None = None) -> None: ...


@dataclass
class Integrations:
    """The adapters a playbook run talks through."""

    chat: ChatPort
    tracker: TrackerPort
    pager: PagerPort
