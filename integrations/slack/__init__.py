"""Slack: the only package that imports slack_sdk and slack_bolt.

- `client.py`: `SlackChat`, the `ChatPort` over the Web API;
- `blocks.py`: Block Kit for asks and closed asks (slack_sdk's block models), text escaping;
- `signature.py`: is a request signed by Slack, and if not, why;
- `respond.py`: answering a click through its `response_url`;
- `bolt_app.py`: the slack-bolt `App` that admits and routes interactions;
- `manifest.yaml`: the Slack app with exactly the scopes the adapter uses.
"""

from integrations.slack.client import SlackChat
from integrations.slack.respond import RESPONSE_URL_BASE, reply_to_action
from integrations.slack.signature import slack_request_problem, verify_slack_request

__all__ = [
    "RESPONSE_URL_BASE",
    "SlackChat",
    "reply_to_action",
    "slack_request_problem",
    "verify_slack_request",
]
