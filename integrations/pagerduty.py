"""PagerPort over the PagerDuty Events API v2 (`pagerduty.EventsApiV2Client`).

One client per routing key (roles page different services). 429 is retried a bounded number of
times (the client's default is forever); a private CA file is trusted for the loopback sandbox.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pagerduty

from firebreak.ports import IntegrationError, ServiceNotConfigured
from integrations.policy import DEFAULT_POLICY, RetryPolicy

SERVICE = "pagerduty"
DEFAULT_BASE_URL = "https://events.pagerduty.com"
T = TypeVar("T")


class PagerDutyPager:
    """PagerPort: trigger, acknowledge and resolve alerts by dedup key."""

    def __init__(
        self,
        routing_key: str | None,
        *,
        base_url: str | None = None,
        ca_file: Path | None = None,
        policy: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.base_url = (base_url or DEFAULT_BASE_URL).rstrip("/")
        if not self.base_url.startswith("https://"):
            raise IntegrationError(
                SERVICE, f"PagerDuty base URL must start with https:// (got {self.base_url})"
            )
        self._default_key = routing_key
        self._policy = policy
        self._verify: ssl.SSLContext | bool = True
        if ca_file is not None:
            try:
                self._verify = ssl.create_default_context(cafile=str(ca_file))
            except (OSError, ssl.SSLError) as e:
                raise IntegrationError(
                    SERVICE, f"cannot read the PagerDuty CA file {ca_file}: {e}"
                ) from None
        self._clients: dict[str, pagerduty.EventsApiV2Client] = {}
        self._lock = threading.Lock()

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
    ) -> str:
        client = self._client(routing_key)
        return self._call(
            "trigger",
            lambda: client.trigger(
                summary,
                source,
                dedup_key=dedup_key,
                severity=severity,
                custom_details=details,
                links=links,
            ),
        )

    def acknowledge(self, dedup_key: str, *, routing_key: str | None = None) -> None:
        client = self._client(routing_key)
        self._call("acknowledge", lambda: client.acknowledge(dedup_key))

    def resolve(self, dedup_key: str, *, routing_key: str | None = None) -> None:
        client = self._client(routing_key)
        self._call("resolve", lambda: client.resolve(dedup_key))

    def _client(self, routing_key: str | None) -> pagerduty.EventsApiV2Client:
        key = routing_key or self._default_key
        if not key:
            raise ServiceNotConfigured(
                SERVICE,
                "PagerDuty is not configured for this page: bind the role's "
                "pagerduty_routing_key in the roles file or set FIREBREAK_PAGERDUTY_ROUTING_KEY "
                "(docs/going-live.md)",
            )
        with self._lock:
            client = self._clients.get(key)
            if client is None:
                client = pagerduty.EventsApiV2Client(
                    key, base_url=self.base_url, verify=self._verify
                )
                client.timeout = self._policy.timeout
                client.retry[429] = self._policy.retries
                for status in (500, 502, 503, 504):
                    client.retry[status] = self._policy.retries
                client.max_network_attempts = self._policy.retries
                # Waits grow x2 from sleep_timer; start small enough that the last stays capped.
                client.sleep_timer = min(
                    1.5, self._policy.max_delay / 2 ** max(1, self._policy.retries)
                )
                self._clients[key] = client
            return client

    def _call(self, action: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except pagerduty.HttpError as e:
            status = e.response.status_code
            raise IntegrationError(
                SERVICE,
                f"PagerDuty refused {action}: HTTP {status}: {_reason(e.response)}",
                retryable=status == 429 or status >= 500,
                retry_after=_retry_after(e.response),
            ) from None
        except pagerduty.Error as e:
            cause = e.__cause__
            reason = _network_reason(cause) if cause is not None else str(e)
            problem = (
                "did not answer in time" if reason == "timed out" else f"is unreachable: {reason}"
            )
            raise IntegrationError(
                SERVICE, f"PagerDuty at {self.base_url} {problem}", retryable=True
            ) from None


def _reason(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or "no details"
    if isinstance(body, dict):
        errors = body.get("errors")
        message = body.get("message") or body.get("status") or ""
        return f"{message}: {'; '.join(map(str, errors))}" if errors else str(message)
    return str(body)[:200]


def _network_reason(error: BaseException) -> str:
    text = str(error)
    for known in ("Connection refused", "CERTIFICATE_VERIFY_FAILED", "timed out"):
        if known.lower() in text.lower():
            return "certificate not trusted" if known.startswith("CERT") else known.lower()
    return text or type(error).__name__


def _retry_after(response: Any) -> float | None:
    """Seconds from the response's `Retry-After` header, when it gives seconds."""
    value = getattr(response, "headers", {}).get("Retry-After") if response is not None else None
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:  # an HTTP date counts as not said
        return None
