"""Loopback emulators of Slack, Jira and PagerDuty: the real client libraries run unchanged."""

from integrations.sandbox.base import Request
from integrations.sandbox.sandbox import SERVICES, Sandbox, SandboxClient

__all__ = ["SERVICES", "Request", "Sandbox", "SandboxClient"]
