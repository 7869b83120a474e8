"""Prefect flows that execute playbooks. Importing this package configures Prefect for Firebreak
before Prefect itself is imported: a project-local PREFECT_HOME, no telemetry, and a start-up
timeout that a cold ephemeral server on a 2-core machine can meet."""

from __future__ import annotations

import os
from pathlib import Path

from firebreak.settings import get_settings

_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    # A cold ephemeral server (fresh PREFECT_HOME, migrations) takes 15-20 s here.
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_LOGGING_TO_API_ENABLED": "false",
    # A failed step is on the incident's timeline in one sentence; Prefect's console log of the
    # same failure would be a traceback. Prefect's own UI still shows each task run's state.
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "CRITICAL",
    # SQLite behind the ephemeral server locks under the task-run recorder's small batches.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "200",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "200",
}


def configure_prefect() -> None:
    for key, value in _DEFAULTS.items():
        os.environ.setdefault(key, value)
    if "PREFECT_HOME" not in os.environ and "PREFECT_API_URL" not in os.environ:
        home = (get_settings().home / "prefect").resolve()
        home.mkdir(parents=True, exist_ok=True)
        os.environ["PREFECT_HOME"] = str(home)
    elif "PREFECT_HOME" in os.environ:
        # Prefect makes its home without parents; a missing parent leaves the ephemeral server
        # unable to create its database, and it never answers.
        Path(os.environ["PREFECT_HOME"]).expanduser().mkdir(parents=True, exist_ok=True)
    if "PREFECT_API_URL" not in os.environ:
        # The ephemeral server stops with the process and its services log the flushes they
        # abandon as tracebacks; a user's terminal should not show them.
        os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "CRITICAL")


configure_prefect()

from flows import prefect_server  # noqa: E402  (configured above before Prefect is imported)

prefect_server.install()
