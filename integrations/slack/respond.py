"""Answer the person who clicked, through an interaction's `response_url`."""

from __future__ import annotations

import urllib.error

from slack_sdk.webhook import WebhookClient

from integrations.slack.client import plain_reason

# Where Slack's response_url points; another host in a signed payload is not followed.
RESPONSE_URL_BASE = "https://hooks.slack.com/"


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
        return f"response_url unreachable: {plain_reason(getattr(e, 'reason', e))}"
    if response.status_code != 200:
        return f"response_url answered HTTP {response.status_code}: {response.body[:200]}"
    return None
