"""A PagerDuty Events API v2 emulator: `POST /v2/enqueue`, validated like the real service.

The real client only speaks HTTPS, so this emulator is served over TLS with a throwaway CA
(`tls.py`). As PagerDuty documents (developer-docs, events-API-v2 "Alert De-Duplication"):

- a routing key is the 32-character integration key of a service this account has: any other is
  refused;
- an alert is found by its `dedup_key` *on the routing key that triggered it*: events for the
  same key through another routing key are another service's business (acknowledge/resolve are
  dropped, a trigger opens that service's own alert);
- a trigger for a key whose alert is open only adds a log entry: nobody is notified again; once
  resolved, a trigger opens a new alert and notifies.

`state()["pages"]` lists every notification (alert opened), so tests assert who was paged.
"""

from __future__ import annotations

import uuid
from typing import Any

from integrations.sandbox.base import Reply, Request, json_reply

ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
_STATUS_AFTER = {"trigger": "triggered", "acknowledge": "acknowledged", "resolve": "resolved"}


class PagerDutyEmulator:
    service = "pagerduty"

    def __init__(self, routing_keys: tuple[str, ...] = ()) -> None:
        self.routing_keys = set(routing_keys)  # the integrations (services) this account has
        self.reset()

    def reset(self) -> None:
        self.alerts: dict[tuple[str, str], dict[str, Any]] = {}
        self.pages: list[dict[str, Any]] = []

    def state(self) -> dict[str, Any]:
        """`incidents`: the latest alert per dedup key; `alerts`: all, with their routing key;
        `pages`: each notification PagerDuty sent (an alert opened)."""
        alerts = [dict(a) for a in self.alerts.values()]
        return {
            "incidents": {a["dedup_key"]: a for a in alerts},
            "alerts": alerts,
            "pages": [dict(p) for p in self.pages],
        }

    def fault_reply(self, status: int, retry_after: int | None) -> Reply:
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        if status == 429:
            body = {
                "status": "throttle event",
                "message": "Requests for this service are arriving too quickly.",
            }
        else:
            body = {"status": "error", "message": "Internal server error"}
        return json_reply(body, status, **headers)

    def handle(self, request: Request) -> Reply:
        if request.path != "/v2/enqueue":
            return json_reply({"status": "not found", "message": "Not found"}, 404)
        if request.method != "POST":
            return json_reply({"status": "error", "message": "Method not allowed"}, 405)
        event = request.body
        if not isinstance(event, dict):
            return _invalid(["Event object must be a JSON object"])
        errors = validate_event(event)
        if errors:
            return _invalid(errors)
        if self.routing_keys and event["routing_key"] not in self.routing_keys:
            return _invalid(["Invalid routing key"])
        action = event["event_action"]
        routing_key = event["routing_key"]
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        alert = self.alerts.get((routing_key, dedup_key))
        if action == "trigger":
            payload = event["payload"]
            if alert is None or alert["status"] == "resolved":
                alert = self.alerts[(routing_key, dedup_key)] = {
                    "dedup_key": dedup_key,
                    "routing_key": routing_key,
                    "summary": payload["summary"],
                    "source": payload["source"],
                    "severity": payload["severity"],
                    "custom_details": payload.get("custom_details"),
                    "links": event.get("links", []),
                    "status": "triggered",
                    "events": [],
                }
                page = {"routing_key": routing_key, "dedup_key": dedup_key}
                self.pages.append({**page, "summary": alert["summary"]})
        # An acknowledge or resolve for no open alert on this routing key is accepted and dropped,
        # as PagerDuty does (another routing key's alert of the same dedup key is untouched).
        if alert is not None and (alert["status"] != "resolved" or action == "trigger"):
            if action != "trigger" or alert["status"] == "triggered":
                alert["status"] = _STATUS_AFTER[action]
            alert["events"].append(action)
        return json_reply(
            {"status": "success", "message": "Event processed", "dedup_key": dedup_key}, 202
        )


def validate_event(event: dict[str, Any]) -> list[str]:
    """The checks PagerDuty makes before accepting an event, with its wording."""
    errors: list[str] = []
    key = event.get("routing_key")
    if not isinstance(key, str) or not key:
        errors.append("'routing_key' is missing or blank")
    elif len(key) != 32:
        errors.append("Length of 'routing_key' is incorrect (should be 32 characters)")
    action = event.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is invalid (must be one of trigger, acknowledge, resolve)")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > 255):
        errors.append("'dedup_key' must be a string of at most 255 characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append("'dedup_key' is missing or blank")
    if action == "trigger":
        payload = event.get("payload")
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
        else:
            for name in ("summary", "source"):
                value = payload.get(name)
                if not isinstance(value, str) or not value.strip():
                    errors.append(f"'payload.{name}' is missing or blank")
            if isinstance(payload.get("summary"), str) and len(payload["summary"]) > 1024:
                errors.append("'payload.summary' is longer than 1024 characters")
            if payload.get("severity") not in SEVERITIES:
                errors.append(
                    "'payload.severity' is invalid (must be one of critical, error, warning, info)"
                )
    return errors


def _invalid(errors: list[str]) -> Reply:
    return json_reply(
        {"status": "invalid event", "message": "Event object is invalid", "errors": errors}, 400
    )
