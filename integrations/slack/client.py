"""ChatPort over the Slack Web API (`slack_sdk.WebClient`); Block Kit comes from `blocks.py`.

Errors come back as `IntegrationError("slack", ...)` naming the method and Slack's error code.
"""

from __future__ import annotations

import contextlib
import re
import time
import urllib.error
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.http_retry.handler import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import SlackResponse

from firebreak.ports import Ask, ChannelRef, IntegrationError, MessageRef
from integrations.policy import DEFAULT_POLICY, RetryPolicy
from integrations.slack.blocks import ask_blocks, closed_ask_blocks, fallback_text

SERVICE = "slack"
DEFAULT_BASE_URL = "https://slack.com/api/"
# Slack errors that mean "try again later" rather than "this request is wrong".
_TRANSIENT = {
    "ratelimited",
    "fatal_error",
    "internal_error",
    "service_unavailable",
    "request_timeout",
}

T = TypeVar("T")
METADATA_EVENT = "firebreak_effect"  # message metadata naming the effect a message is
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")


def _retry_after(headers: Mapping[str, Any]) -> float | None:
    """Seconds from a `Retry-After` header (slack_sdk gives lists of values, requests strings)."""
    for name, values in headers.items():
        if name.lower() == "retry-after" and values:
            value = values[0] if isinstance(values, list | tuple) else values
            # An HTTP date instead of seconds counts as not said.
            with contextlib.suppress(TypeError, ValueError):
                return max(float(value), 0.0)
    return None


class _CappedRateLimitHandler(RateLimitErrorRetryHandler):
    """Honour `Retry-After` here only when it is short: a longer wait is the playbook's to make,
    on its own clock, so the 429 comes back as a retryable error saying how long Slack asked."""

    def __init__(self, max_retry_count: int, max_delay: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_delay = max_delay

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        asked = _retry_after(response.headers)
        return asked is None or asked <= self.max_delay

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        asked = _retry_after(response.headers) if response is not None else None
        time.sleep(min(1.0 if asked is None else asked, self.max_delay))
        state.increment_current_attempt()


class SlackChat:
    """ChatPort: channels, invitations and messages through the Slack Web API."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.base_url = base_url or DEFAULT_BASE_URL
        if not self.base_url.endswith("/"):
            self.base_url += "/"
        handlers: list[RetryHandler] = [
            _CappedRateLimitHandler(policy.retries, policy.max_delay),
            ServerErrorRetryHandler(
                max_retry_count=policy.retries,
                interval_calculator=FixedValueRetryIntervalCalculator(min(1.0, policy.max_delay)),
            ),
        ]
        self._bot_user_id: str | None = None
        self._client = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=max(1, round(policy.timeout)),
            retry_handlers=handlers,
        )

    def create_channel(
        self, name: str, *, private: bool = False, marker: str | None = None
    ) -> ChannelRef:
        try:
            response = self._call(
                "conversations.create",
                lambda: self._client.conversations_create(name=name, is_private=private),
            )
        except IntegrationError as e:
            if marker is None or not e.message.endswith(": name_taken"):
                raise
            own = self.find_channel(name, marker=marker, private=private)
            if own is None:
                raise IntegrationError(
                    SERVICE,
                    f"Slack refused conversations.create: name_taken (#{name} exists and is not "
                    "this incident's war room; set FIREBREAK_WAR_ROOM_PREFIX or "
                    "FIREBREAK_INSTALLATION_ID to name war rooms apart)",
                ) from None
            return own
        channel = response["channel"]
        if marker is not None:
            self._mark(channel["id"], marker)
        return ChannelRef(id=channel["id"], name=channel["name"])

    def _mark(self, channel_id: str, marker: str) -> None:
        self._call(
            "conversations.setPurpose",
            lambda: self._client.conversations_setPurpose(
                channel=channel_id, purpose=f"Firebreak war room ({marker})"
            ),
        )

    def find_channel(self, name: str, *, marker: str, private: bool = False) -> ChannelRef | None:
        """Page through conversations.list for `name`: ours if its purpose carries `marker`, or
        if our bot created it and nobody set a purpose yet (we died before marking it)."""
        cursor = ""
        types = "private_channel" if private else "public_channel"
        while True:
            page = self._call(
                "conversations.list",
                lambda c=cursor: self._client.conversations_list(
                    types=types, exclude_archived=True, limit=200, cursor=c or None
                ),
            )
            for channel in page.get("channels") or []:
                if channel.get("name") != name:
                    continue
                purpose = _purpose(channel)
                ours = marker in purpose or (
                    not purpose and channel.get("creator") == self.bot_user_id()
                )
                if not ours:
                    return None
                if marker not in purpose:
                    self._mark(channel["id"], marker)  # adopted: marked as ours from now on
                return ChannelRef(id=channel["id"], name=name)
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None

    def bot_user_id(self) -> str:
        if self._bot_user_id is None:
            self._bot_user_id = self.check()
        return self._bot_user_id

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        if not user_ids:
            return
        try:
            self._call(
                "conversations.invite",
                lambda: self._client.conversations_invite(channel=channel_id, users=user_ids),
            )
        except IntegrationError as e:
            # Inviting people who are already there is the outcome we wanted.
            if not e.message.endswith(": already_in_channel"):
                raise

    def post(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        marker: str | None = None,
    ) -> MessageRef:
        return self._post(channel, text, blocks=blocks, thread_ts=thread_ts, marker=marker)

    def ask(self, channel: str, ask: Ask) -> MessageRef:
        return self._post(channel, ask.text, blocks=ask_blocks(ask), marker=ask.marker)

    def find_message(self, channel: str, marker: str) -> MessageRef | None:
        """Page through conversations.history (newest first, up to 1000 messages) for our
        message whose metadata carries `marker`."""
        channel_id = channel if _CHANNEL_ID.match(channel) else self._channel_id(channel)
        if channel_id is None:
            return None
        cursor = ""
        for _ in range(5):
            page = self._call(
                "conversations.history",
                lambda c=cursor: self._client.conversations_history(
                    channel=channel_id, limit=200, include_all_metadata=True, cursor=c or None
                ),
            )
            for message in page.get("messages") or []:
                payload = (message.get("metadata") or {}).get("event_payload") or {}
                if payload.get("effect") == marker:
                    return MessageRef(channel=channel_id, ts=str(message["ts"]))
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None

    def _channel_id(self, name: str) -> str | None:
        """conversations.history needs an id; a role's channel may be configured by name."""
        wanted = name.removeprefix("#")
        cursor = ""
        while True:
            page = self._call(
                "conversations.list",
                lambda c=cursor: self._client.conversations_list(
                    types="public_channel,private_channel",
                    exclude_archived=True,
                    limit=200,
                    cursor=c or None,
                ),
            )
            for channel in page.get("channels") or []:
                if channel.get("name") == wanted:
                    return str(channel["id"])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None

    def close_ask(self, channel: str, ts: str, asked_text: str, outcome: str) -> None:
        text = f"{asked_text}\n\n{outcome}" if asked_text else outcome
        self._update(channel, ts, text, blocks=closed_ask_blocks(asked_text, outcome))

    def update(self, channel: str, ts: str, text: str) -> None:
        self._update(channel, ts, text, blocks=None)

    def _post(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None = None,
        marker: str | None = None,
    ) -> MessageRef:
        metadata = (
            {"event_type": METADATA_EVENT, "event_payload": {"effect": marker}} if marker else None
        )
        response = self._call(
            "chat.postMessage",
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=fallback_text(text),
                blocks=blocks,
                thread_ts=thread_ts,
                metadata=metadata,
            ),
        )
        return MessageRef(channel=response["channel"], ts=response["ts"])

    def _update(
        self, channel: str, ts: str, text: str, *, blocks: list[dict[str, Any]] | None
    ) -> None:
        self._call(
            "chat.update",
            lambda: self._client.chat_update(
                channel=channel, ts=ts, text=fallback_text(text), blocks=blocks
            ),
        )

    def set_topic(self, channel_id: str, topic: str) -> None:
        self._call(
            "conversations.setTopic",
            lambda: self._client.conversations_setTopic(channel=channel_id, topic=topic),
        )

    def lookup_user(self, email: str) -> str:
        """The Slack user id for an email address."""
        response = self._call(
            "users.lookupByEmail", lambda: self._client.users_lookupByEmail(email=email)
        )
        return str(response["user"]["id"])

    def check(self) -> str:
        """Verify the token; returns the bot's user id."""
        return str(self._call("auth.test", self._client.auth_test)["user_id"])

    def _call(self, method: str, call: Callable[[], SlackResponse]) -> SlackResponse:
        try:
            return call()
        except SlackApiError as e:
            error = str(e.response.get("error") or f"HTTP {e.response.status_code}")
            retryable = e.response.status_code == 429 or e.response.status_code >= 500
            raise IntegrationError(
                SERVICE,
                f"Slack refused {method}: {error}",
                retryable=retryable or error in _TRANSIENT,
                retry_after=_retry_after(e.response.headers or {}),
            ) from None
        except (TimeoutError, urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise IntegrationError(
                SERVICE,
                f"Slack at {self.base_url} is unreachable: {plain_reason(reason)}",
                retryable=True,
            ) from None
        except SlackClientError as e:
            raise IntegrationError(SERVICE, f"Slack {method} failed: {e}") from None


def _purpose(channel: dict[str, Any]) -> str:
    purpose = channel.get("purpose")
    return str(purpose.get("value") or "") if isinstance(purpose, dict) else str(purpose or "")


def plain_reason(reason: object) -> str:
    """`[Errno 111] Connection refused` -> `connection refused`."""
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__
