"""Is this request from Slack? The signing-secret check, with a reason when it is not.

slack_sdk's `SignatureVerifier` is the authority on the HMAC; the checks before it name what is
wrong and keep inputs it would crash on (a non-numeric timestamp) away from it. A body that is
not UTF-8 is checked over its raw bytes, so a signed one can be told apart (a 400, not a 401).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

from slack_sdk.signature import SignatureVerifier

# Slack's own rule: a request signed more than five minutes from now may be a replay.
REPLAY_WINDOW_SECONDS = 5 * 60


def _raw_signature_matches(secret: str, body: bytes, timestamp: str, signature: str) -> bool:
    # SignatureVerifier decodes the body as UTF-8 first; Slack signs the bytes it sent.
    base = b"v0:" + timestamp.encode() + b":" + body
    expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signature)


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
        if _raw_signature_matches(secret, body, timestamp, signature):
            return None
        return "X-Slack-Signature does not match the body"
    verifier = SignatureVerifier(secret)
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        return "X-Slack-Signature does not match the body"
    return None


def verify_slack_request(secret: str, body: bytes, headers: Mapping[str, str]) -> bool:
    """True when Slack signed this body with `secret` less than five minutes ago."""
    return slack_request_problem(secret, body, headers) is None
