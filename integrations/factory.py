"""Build the adapters from settings: the one place that decides which services a run talks to."""

from __future__ import annotations

from firebreak.ports import IntegrationError, Integrations
from firebreak.settings import Settings
from integrations.jira import JiraTracker
from integrations.pagerduty import PagerDutyPager
from integrations.policy import DEFAULT_POLICY, RetryPolicy
from integrations.slack import SlackChat

HINT = (
    "Run `firebreak sandbox` in another terminal and export the FIREBREAK_* lines it prints "
    "(loopback Slack, Jira and PagerDuty), or try `firebreak demo`."
)


class NotConfiguredError(IntegrationError):
    """Settings do not say where one or more services are."""


def missing_settings(settings: Settings) -> dict[str, list[str]]:
    """Per service, the FIREBREAK_* variables it still needs (empty when all are configured)."""
    missing: dict[str, list[str]] = {"slack": [], "jira": [], "pagerduty": []}
    if not _secret(settings.slack_token):
        missing["slack"].append("FIREBREAK_SLACK_TOKEN")
    for name in ("jira_url", "jira_user"):
        if not getattr(settings, name):
            missing["jira"].append(f"FIREBREAK_{name.upper()}")
    if not _secret(settings.jira_token):
        missing["jira"].append("FIREBREAK_JIRA_TOKEN")
    if not _secret(settings.pagerduty_routing_key):
        missing["pagerduty"].append("FIREBREAK_PAGERDUTY_ROUTING_KEY")
    return {service: names for service, names in missing.items() if names}


def build_integrations(settings: Settings, *, policy: RetryPolicy = DEFAULT_POLICY) -> Integrations:
    """The Slack, Jira and PagerDuty adapters `settings` point at.

    Raises `NotConfiguredError` naming every missing variable when any service is unconfigured.
    """
    missing = missing_settings(settings)
    if len(missing) == 3:
        raise NotConfiguredError("integrations", f"no service is configured. {HINT}")
    if missing:
        detail = "; ".join(f"{s} needs {', '.join(names)}" for s, names in missing.items())
        raise NotConfiguredError("integrations", f"incomplete settings: {detail}. {HINT}")
    assert settings.slack_token and settings.jira_token and settings.jira_url
    assert settings.jira_user and settings.pagerduty_routing_key
    return Integrations(
        chat=SlackChat(
            settings.slack_token.get_secret_value(),
            base_url=settings.slack_base_url,
            policy=policy,
        ),
        tracker=JiraTracker(
            settings.jira_url,
            settings.jira_user,
            settings.jira_token.get_secret_value(),
            project=settings.jira_project,
            policy=policy,
        ),
        pager=PagerDutyPager(
            settings.pagerduty_routing_key.get_secret_value(),
            base_url=settings.pagerduty_base_url,
            ca_file=settings.pagerduty_ca_file,
            policy=policy,
        ),
    )


def _secret(value: object) -> str:
    return value.get_secret_value() if value is not None else ""  # type: ignore[attr-defined]
