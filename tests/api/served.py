"""The app as `uvicorn --factory tests.api.served:create` serves it in the real-HTTP tests.

Settings come from the environment the test sets (FIREBREAK_HOME, FIREBREAK_API_TOKENS,
FIREBREAK_PLAYBOOKS_DIR); playbook launches are only recorded in the log, never run, and
`/boom` raises, as an unforeseen bug in a route would (`/late-boom`: in a background task).
"""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks, FastAPI

log = logging.getLogger("tests.api.served")


def _boom() -> None:
    raise RuntimeError("secret internals: /boom always fails")


def _late_boom(background: BackgroundTasks) -> dict[str, str]:
    background.add_task(_boom)  # fails after the response went out
    return {"status": "answered"}


def create() -> FastAPI:
    from api.main import create_app
    from firebreak.settings import Settings

    app = create_app(Settings(), launcher=lambda incident_id: log.info("launch %s", incident_id))
    app.add_api_route("/boom", _boom, include_in_schema=False)
    app.add_api_route("/late-boom", _late_boom, include_in_schema=False)
    return app
