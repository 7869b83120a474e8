"""ChatPort over the Slack Web API (`slack_sdk.WebClient`).

Errors come back as `IntegrationError("slack", ...)` naming the method and Slack's error code.
"""

from __future__ import annotations

import contextlib
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
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web import SlackResponse
from slack_sdk.webhook import WebhookClient

from firebreak.ports import ChannelRef, IntegrationError, MessageRef
from integrations.policy import DEFAULT_POLICY, RetryPolicy

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

# Slack's own rule: a request signed more than five minutes from now may be a replay.
REPLAY_WINDOW_SECONDS = 5 * 60

# Where Slack's response_url points; another host in a signed payload is not followed.
RESPONSE_URL_BASE = "https://hooks.slack.com/"

T = TypeVar("T")


class _CappedRateLimitHandler(RateLimitErrorRetryHandler):
    """Honour `Retry-After`, but never wait longer than the policy allows."""

    def __init__(self, max_retry_count: int, max_delay: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_delay = max_delay

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        delay = 1.0
        if response is not None:
            for name, values in response.headers.items():
                if name.lower() == "retry-after" and values:
                    # An HTTP date instead of seconds keeps the default wait.
                    with contextlib.suppress(ValueError):
                        delay = float(values[0])
        time.sleep(max(0.0, min(delay, self.max_delay)))
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
        self._client = WebClient(
            token=token,
            base_url=self.base_url,
            timeout=max(1, round(policy.timeout)),
            retry_handlers=handlers,
        )

    def create_channel(self, name: str, *, private: bool = False) -> ChannelRef:
        response = self._call(
            "conversations.create",
            lambda: self._client.conversations_create(name=name, is_private=private),
        )
        channel = response["channel"]
        return ChannelRef(id=channel["id"], name=channel["name"])

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
    ) -> MessageRef:
        response = self._call(
            "chat.postMessage",
            lambda: self._client.chat_postMessage(
                channel=channel, text=text, blocks=blocks, thread_ts=thread_ts
            ),
        )
        return MessageRef(channel=response["channel"], ts=response["ts"])

    def update(
        self, channel: str, ts: str, text: str, *, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        self._call(
            "chat.update",
            lambda: self._client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks),
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
            ) from None
        except (TimeoutError, urllib.error.URLError, OSError) as e:
            reason = getattr(e, "reason", e)
            raise IntegrationError(
                SERVICE,
                f"Slack at {self.base_url} is unreachable: {_plain(reason)}",
                retryable=True,
            ) from None
        except SlackClientError as e:
            raise IntegrationError(SERVICE, f"Slack {method} failed: {e}") from None


def _plain(reason: object) -> str:
    """`[Errno 111] Connection refused` -> `connection refused`."""
    if isinstance(reason, OSError) and reason.strerror:
        return reason.strerror.lower()
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__


def slack_request_problem(
    secret: str, body: bytes, headers: Mapping[str, str], *, now: float | None = None
) -> str | None:
    """Why a request does not come from Slack, or None when its signature checks out.

    `SignatureVerifier` is the authority on the HMAC; the checks before it name what is wrong
    and keep inputs it would crash on (a non-numeric timestamp, a non-UTF-8 body) away from it.
    """
    if not secret.strip():
        return "no signing secret is configured"
    lowered = {name.lower(): value for name, value in headers.items()}
    signature = lowered.get("x-slack-signature")
    timestamp = lowered.get("x-slack-request-timestamp")
    if not signature or not timestamp:
        missing = [
            name
            for name, value in (
                ("X-Slack-Signature", signature),
                ("X-Slack-Request-Timestamp", timestamp),
            )
            if not value
        ]
        return f"missing header {' and '.join(missing)}"
    try:
        sent_at = int(timestamp)
    except ValueError:
        return "X-Slack-Request-Timestamp is not a Unix time in seconds"
    current = time.time() if now is None else now
    if abs(current - sent_at) > REPLAY_WINDOW_SECONDS:
        return "X-Slack-Request-Timestamp is more than 5 minutes away from now (a replay?)"
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return "the body is not UTF-8"
    verifier = SignatureVerifier(secret)
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return "X-Slack-Signature does not match the body"
    return None


def verify_slack_request(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when Slack signed this body with `secret` less than five minutes ago."""
    return slack_request_problem(secret, body, headers) is None


def reply_to_action(
    response_url: str, text: str, *, allowed: tuple[str, ...] = (RESPONSE_URL_BASE,)
) -> str | None:
    """Show `text` to the person who clicked, through the interaction's `response_url`.

    Slack does not display the HTTP answer to a button click; this is how a refusal reaches
    them. Returns what went wrong (the caller logs it) or None; never raises.
    """
    if not any(response_url.startswith(base) for base in allowed):
        return f"response_url {response_url[:80]!r} is not under {', '.join(allowed)}"
    try:
        response = WebhookClient(response_url, timeout=5).send(
            text=text, response_type="ephemeral", replace_original=False
        )
    except (TimeoutError, urllib.error.URLError, OSError) as e:
        return f"response_url unreachable: {_plain(getattr(e, 'reason', e))}"
    if response.status_code != 200:
        return f"response_url answered HTTP {response.status_code}: {response.body[:200]}"
    return None
