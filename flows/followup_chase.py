"""The flow that chases follow-up issues: one pass over the due schedules.

Deployed with an interval schedule (`prefect.yaml`, every 15 minutes); each schedule keeps its
own rhythm (`every:` in the playbook), so most passes find nothing due and end at once.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from prefect import flow, get_run_logger
from sqlmodel import Session

from firebreak import followups
from firebreak.settings import get_settings
from firebreak.store.db import engine_for
from integrations.factory import build_integrations
from integrations.policy import RetryPolicy


@flow(name="chase-followups", log_prints=False)
def chase_followups(force: bool = False) -> list[dict[str, Any]]:
    """Chase every due schedule (`force`: every running one); returns what each pass did."""
    settings = get_settings()
    logger = get_run_logger()
    now = datetime.now(UTC)
    with Session(engine_for(settings.effective_database_url), expire_on_commit=False) as session:
        if not any(force or s.due(now) for s in followups.schedules(session)):
            logger.info("no follow-up schedule is due")
            return []
        services = build_integrations(
            settings,
            policy=RetryPolicy(
                retries=followups.TRACKER_RETRIES, max_delay=followups.TRACKER_MAX_DELAY
            ),
        )
        results = followups.chase_due(session, services.tracker, services.chat, now, force=force)
    for result in results:
        log = logger.warning if result.outcome == "failed" else logger.info
        log(
            "incident %s, schedule %s: %s",
            result.schedule.incident_id,
            result.schedule.id,
            result.summary,
        )
    return [r.as_dict() for r in results]
