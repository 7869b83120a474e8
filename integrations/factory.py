"""Build the adapters from settings: the one place that decides which services a run talks to.

Every service is optional but the run needs at least one: a service left unconfigured is a
stand-in whose every use fails the step that needs it with one sentence naming the settings to
set (`ServiceNotConfigured`); the engine lets the other steps run.
"""

from __future__ import annotations

from typing import Any, NoReturn

from firebreak.ports import IntegrationError, Integrations, ServiceNotConfigured
from firebreak.settings import Settings
from integrations.jira import JiraTracker
from integrations.pagerduty import PagerDutyPager
from integrations.policy import DEFAULT_POLICY, RetryPolicy
from integrations.slack import SlackChat

HINT = (
    "Run `firebreak sandbox` in another terminal and export the FIREBREAK_* lines it prints "
    "(loopback Slack, Jira and PagerDuty), or try `firebreak demo`."
)
NAMES = {"slack": "Slack", "jira": "Jira", "pagerduty": "PagerDuty"}


class NotConfiguredError(IntegrationError):
    """Settings do not say where any service is."""


class Unconfigured:
    """Stands for a service the settings leave out: any use says which settings it needs."""

    def __init__(self, service: str, needs: list[str]) -> None:
        self._service, self._needs = service, needs

    def __getattr__(self, name: str) -> NoReturn:
        if name.startswith("__"):
            raise AttributeError(name)
        raise ServiceNotConfigured(self._service, not_configured(self._service, self._needs))


def not_configured(service: str, needs: list[str]) -> str:
    names = ", ".join(needs[:-1]) + (" and " if len(needs) > 1 else "") + needs[-1]
    return (
        f"{NAMES[service]} is not configured for this installation: set {names} "
        "(docs/going-live.md)"
    )


def missing_settings(settings: Settings) -> dict[str, list[str]]:
    """Per service, the FIREBREAK_* variables it still needs (absent when it is configured)."""
    missing: dict[str, list[str]] = {"slack": [], "jira": [], "pagerduty": []}
    if not _secret(settings.slack_token):
        missing["slack"].append("FIREBREAK_SLACK_TOKEN")
    if not settings.jira_url:
        missing["jira"].append("FIREBREAK_JIRA_URL")
    # Cloud authenticates as an account (email + API token); Data Center by the token alone.
    if settings.jira_flavour == "cloud" and not settings.jira_user:
        missing["jira"].append("FIREBREAK_JIRA_USER")
    if not _secret(settings.jira_token):
        missing["jira"].append("FIREBREAK_JIRA_TOKEN")
    if not _secret(settings.pagerduty_routing_key):
        missing["pagerduty"].append("FIREBREAK_PAGERDUTY_ROUTING_KEY")
    return {service: names for service, names in missing.items() if names}


def build_integrations(settings: Settings, *, policy: RetryPolicy = DEFAULT_POLICY) -> Integrations:
    """The Slack, Jira and PagerDuty adapters `settings` point at, a stand-in for any left out.

    PagerDuty counts as configured without FIREBREAK_PAGERDUTY_ROUTING_KEY: a page goes to the
    routing key of the role it is for, and the adapter says so when neither is bound.
    Raises `NotConfiguredError` when no service at all is configured.
    """
    missing = missing_settings(settings)
    if len(missing) == 3:
        raise NotConfiguredError("integrations", f"no service is configured. {HINT}")
    chat: Any = Unconfigured("slack", missing["slack"]) if "slack" in missing else None
    tracker: Any = Unconfigured("jira", missing["jira"]) if "jira" in missing else None
    if chat is None:
        assert settings.slack_token
        chat = SlackChat(
            settings.slack_token.get_secret_value(),
            base_url=settings.slack_base_url,
            policy=policy,
        )
    if tracker is None:
        assert settings.jira_token and settings.jira_url
        tracker = JiraTracker(
            settings.jira_url,
            settings.jira_user,
            settings.jira_token.get_secret_value(),
            project=settings.jira_project,
            flavour=settings.jira_flavour,
            epic_link_field=settings.jira_epic_link_field,
            epic_name_field=settings.jira_epic_name_field,
            policy=policy,
        )
    key = settings.pagerduty_routing_key
    pager = PagerDutyPager(
        key.get_secret_value() if key else None,
        base_url=settings.pagerduty_base_url,
        ca_file=settings.pagerduty_ca_file,
        policy=policy,
    )
    return Integrations(chat=chat, tracker=tracker, pager=pager)


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]
