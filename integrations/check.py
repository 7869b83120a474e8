"""Connection checks for going live: does each configured service accept our credentials, and
does it know the people and keys the role bindings name? Read-only, except a PagerDuty test page,
sent only when asked for (the Events API has no read call to try a routing key with)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from firebreak.ports import IntegrationError
from firebreak.roles import ASSIGNEE_FIELDS, RoleBindings, RoleError
from firebreak.settings import Settings
from integrations.factory import NAMES, build_integrations, missing_settings, not_configured


@dataclass(frozen=True)
class Finding:
    service: str
    ok: bool
    what: str


def check_services(
    settings: Settings, roles: RoleBindings, *, page: str | None = None
) -> list[Finding]:
    """One finding per thing checked; `page`: the role to send a PagerDuty test page to."""
    missing = missing_settings(settings)
    if len(missing) == 3:
        return [Finding(s, False, not_configured(s, missing[s])) for s in NAMES]
    services = build_integrations(settings)
    findings: list[Finding] = []
    for service in ("slack", "jira"):
        if service in missing:
            findings.append(Finding(service, False, not_configured(service, missing[service])))
    if "slack" not in missing:
        findings += _attempt("slack", lambda: f"token accepted (bot user {services.chat.check()})")
    if "jira" not in missing:
        findings += _check_jira(services.tracker, settings, roles)
    findings += _check_pagerduty(services.pager, settings, roles, page)
    return findings


def _attempt(service: str, fn: Any) -> list[Finding]:
    try:
        return [Finding(service, True, str(fn()))]
    except IntegrationError as exc:
        return [Finding(service, False, exc.message)]


def _check_jira(tracker: Any, settings: Settings, roles: RoleBindings) -> list[Finding]:
    flavour = "Jira Cloud" if settings.jira_flavour == "cloud" else "Jira Data Center"
    found = _attempt(
        "jira",
        lambda: (
            f"{flavour} {tracker.check()} at {settings.jira_url}: credentials accepted, "
            f"project {settings.jira_project} has Epic and Task"
        ),
    )
    if not found[0].ok:
        return found
    field = ASSIGNEE_FIELDS[tracker.assigns_by]
    for name in roles.names:
        try:
            who = roles.jira_assignee(name, by=tracker.assigns_by)
        except RoleError as exc:
            found.append(Finding("jira", False, str(exc)))
            continue
        if who:
            found += _attempt(
                "jira",
                lambda who=who, name=name: f"role {name}: {field} {who} is {tracker.person(who)}",
            )
    return found


def _check_pagerduty(
    pager: Any, settings: Settings, roles: RoleBindings, page: str | None
) -> list[Finding]:
    keys = {name: roles.routing_key(name) for name in roles.names}
    bound = sorted(name for name, key in keys.items() if key)
    default = settings.pagerduty_routing_key is not None
    if not bound and not default:
        problem = (
            "PagerDuty is not configured for this installation: set "
            "FIREBREAK_PAGERDUTY_ROUTING_KEY or bind a role's pagerduty_routing_key "
            "(docs/going-live.md)"
        )
        return [Finding("pagerduty", False, problem)]
    findings = []
    for name in bound:
        key = keys[name] or ""
        ok = len(key) == 32
        findings.append(
            Finding(
                "pagerduty",
                ok,
                f"role {name}: routing key "
                + ("of 32 characters" if ok else f"of {len(key)} characters (PagerDuty's are 32)"),
            )
        )
    if page is not None:
        if page not in roles and not default:
            findings.append(Finding("pagerduty", False, f"no role {page!r} to page"))
            return findings
        routing_key = roles.routing_key(page) if page in roles else None
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        dedup = f"firebreak/check/{page}/{stamp}"

        def test_page() -> str:
            pager.trigger(
                "Firebreak connection test: no action needed, resolved at once",
                dedup_key=dedup,
                severity="info",
                routing_key=routing_key,
            )
            pager.resolve(dedup, routing_key=routing_key)
            return f"test page to {page} triggered and resolved (dedup_key {dedup})"

        findings += _attempt("pagerduty", test_page)
    else:
        findings.append(
            Finding(
                "pagerduty",
                True,
                "keys are not tried without a test page: `firebreak check --page ROLE` sends one",
            )
        )
    return findings
