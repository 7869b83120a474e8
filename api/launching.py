"""The default flow launcher: the lead's `flows.launcher.launch_incident`, or a recorded wait.

Until the flow package can launch, a new incident is not lost: the timeline says its playbook
launch is pending, so a person (or a later start-up) can run it.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine
from sqlmodel import Session

from firebreak.incidents import append_event
from firebreak.settings import Settings

log = logging.getLogger(__name__)


def pending_launcher(engine: Engine) -> Callable[[int], object]:
    def record_pending(incident_id: int) -> None:
        with Session(engine) as session:
            append_event(
                session,
                incident_id,
                "playbook.launch_pending",
                "Playbook launch pending: no flow launcher is available in this process",
            )
            session.commit()

    return record_pending


def held_launcher(engine: Engine) -> Callable[[int], object]:
    """Opens incidents deliberately without running them (`replay --no-launch`): no running API
    picks them up; `firebreak incident resume ID` starts one."""
    from firebreak.playbook.runs import HELD_KIND

    def record_held(incident_id: int) -> None:
        with Session(engine) as session:
            append_event(
                session,
                incident_id,
                HELD_KIND,
                "Opened without running its playbook (--no-launch): "
                f"`firebreak incident resume {incident_id}` starts it",
            )
            session.commit()

    return record_held


def default_launcher(settings: Settings, engine: Engine) -> Callable[[int], object]:
    try:
        from flows.launcher import launch_incident  # type: ignore[import-not-found]
    except ImportError:
        log.warning("flows.launcher is not available: new incidents wait for a launch")
        return pending_launcher(engine)
    accepts_settings = "settings" in inspect.signature(launch_incident).parameters

    def launch(incident_id: int) -> object:
        if accepts_settings:
            return launch_incident(incident_id, settings=settings)
        return launch_incident(incident_id)

    return launch
