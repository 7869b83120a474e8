"""Loopback emulators of Slack, Jira and PagerDuty that the real client libraries talk to unchanged."""

from integrations.sandbox.base import Request
from integrations.sandbox.sandbox import SERVICES, Sandbox, SandboxClient

__all__ = ["SERVICES", "Request", "Sandbox", "SandboxClient"]
