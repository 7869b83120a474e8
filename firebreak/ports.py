"""What the domain needs from the outside world, as small interfaces.

`integrations/` implements each one with the real SDK (one module per service); the sandbox
emulates the services at the wire, so the same adapters run in the demo, the tests and production.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


class IntegrationError(Exception):
    """A service refused or could not be reached. `retryable` says whether trying again may help;
    `retry_after`: seconds the service asked us to wait first (`Retry-After`), when it said."""

    def __init__(
        self,
        service: str,
        message: str,
        *,
        retryable: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message
        self.retryable = retryable
        self.retry_after = retry_after


class ServiceNotConfigured(IntegrationError):
    """A step needs a service this installation has not configured. Retrying cannot help, and it
    fails only the steps that need the service: the rest of the playbook runs."""


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


@dataclass(frozen=True)
class Ask:
    """A question put to a role, answered with buttons: which gate, and what kind of decision."""

    text: str
    kind: str  # "approval" (approve / reject) or "ack" (acknowledge)
    incident_id: int
    step_id: str
    gate_id: int
    marker: str | None = None  # kept with the message, so a search finds it after a crash


class ChatPort(Protocol):
    """Chat in the domain's words; the adapter owns the wire format (Slack's Block Kit).

    Texts are plain: the adapter escapes what the chat service would read as markup, so a
    title such as `<!channel>` never notifies anyone.
    """

    def create_channel(
        self, name: str, *, private: bool = False, marker: str | None = None
    ) -> ChannelRef:
        """Create `name`, marked with `marker` (kept where people see it, e.g. the purpose). A
        channel of that name already marked by us, or created by us and never marked (a crash
        between the two calls), is adopted; anyone else's is refused."""
        ...

    def find_channel(self, name: str, *, marker: str, private: bool = False) -> ChannelRef | None:
        """The channel `name` if it is ours for `marker` (see `create_channel`), else None."""
        ...

    def invite(self, channel_id: str, user_ids: list[str]) -> None: ...
    def post(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        marker: str | None = None,
    ) -> MessageRef:
        """Post `text`; `blocks` is a playbook author's own layout, passed through as written.
        `marker` is kept with the message (not shown) for `find_message`."""
        ...

    def find_message(self, channel: str, marker: str) -> MessageRef | None:
        """Our message carrying `marker` in `channel`, if it was posted (recent history)."""
        ...

    def ask(self, channel: str, ask: Ask) -> MessageRef:
        """Post a decision request with one button per decision the gate accepts."""
        ...

    def close_ask(self, channel: str, ts: str, asked_text: str, outcome: str) -> None:
        """Replace an ask's buttons with its outcome, so nobody clicks a closed gate."""
        ...

    def update(self, channel: str, ts: str, text: str) -> None:
        """Replace a posted message's text (`channel` is the id `post` returned)."""
        ...


class TrackerPort(Protocol):
    # How tasks name their assignee: "account_id" (Jira Cloud) or "username" (Jira Data Center);
    # `firebreak.roles.RoleBindings.jira_assignee` picks the matching binding.
    assigns_by: str

    def create_epic(
        self, summary: str, description: str = "", *, labels: list[str] | None = None
    ) -> IssueRef: ...
    def create_tasks(self, epic_key: str, tasks: list[TaskSpec]) -> list[IssueRef]: ...
    def find_labelled(self, labels: list[str]) -> dict[str, IssueRef]:
        """Issues carrying any of `labels` (our effect markers), by label: one search."""
        ...

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
