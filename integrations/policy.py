"""How hard the adapters try: bounded retries, a cap on each wait, a timeout per request."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """`retries`: extra attempts after a rate limit or outage. `max_delay`: seconds, cap per wait.

    Playbook steps are retried again by the flow, so the adapters give up early rather than hold a
    step for minutes; a step that must not wait long lowers these further.
    """

    retries: int = 3
    max_delay: float = 5.0
    timeout: float = 10.0


DEFAULT_POLICY = RetryPolicy()
