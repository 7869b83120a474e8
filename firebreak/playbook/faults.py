"""How a step waits out a service's transient faults: rate limits, 5xx, stalls, refused connections.

The adapters retry briefly on their own (seconds, real time); what outlasts that comes back as a
retryable `IntegrationError`, and the engine keeps trying on the playbook's clock, with a back-off
per service (or what `Retry-After` asked), until the step has been failing for the fault budget.
Each step waits on its own thread, so an outage of one service delays only the steps that need it.
"""

from __future__ import annotations

from firebreak.ports import IntegrationError, ServiceNotConfigured

DEFAULT_FAULT_BUDGET = (
    15 * 60.0
)  # seconds; settings `fault_budget_seconds`, playbook `fault_budget`
# Per service: (first wait, cap on any wait), seconds on the playbook clock. Slack's rate limits
# pass within a minute and it says how long; a Jira or PagerDuty outage usually lasts longer.
BACKOFF: dict[str, tuple[float, float]] = {
    "slack": (2.0, 30.0),
    "jira": (5.0, 60.0),
    "pagerduty": (5.0, 60.0),
}
DEFAULT_BACKOFF = (5.0, 60.0)
MAX_WAIT = max(cap for _, cap in [*BACKOFF.values(), DEFAULT_BACKOFF])


def is_transient(exc: BaseException | None) -> bool:
    """A service fault that passes by itself (not a refusal, not a missing configuration)."""
    return (
        isinstance(exc, IntegrationError)
        and exc.retryable
        and not isinstance(exc, ServiceNotConfigured)
    )


def transient_wait(exc: IntegrationError, failures: int) -> float:
    """Seconds before the next try after the `failures`-th consecutive transient fault.

    `Retry-After` is honoured as given (the budget still bounds it); otherwise the wait doubles
    from the service's first wait up to its cap."""
    if exc.retry_after is not None:
        return max(float(exc.retry_after), 0.0)
    first, cap = BACKOFF.get(exc.service, DEFAULT_BACKOFF)
    return float(min(cap, first * 2 ** max(failures - 1, 0)))
