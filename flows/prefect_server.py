"""Prefect's ephemeral server, started by this process, ends with it however it ends.

Prefect starts it as `python -m uvicorn ...` and stops it at exit, which a SIGKILL (or an exit
that skips atexit) never reaches: the server (~230 MB) was left behind. Here it is started under
`firebreak.lifeline`, which ends it when its parent is gone, and `stop_ephemeral_servers()`
stops it on a graceful shutdown.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from typing import Any

import prefect
from prefect.server.api import server as prefect_server
from prefect.settings import get_current_settings

log = logging.getLogger(__name__)

_Server = prefect_server.SubprocessASGIServer


def _run_watched(self: Any) -> subprocess.Popen[Any]:
    # Prefect 3.x's own command (SubprocessASGIServer._run_uvicorn_command), run under a
    # parent-death watch: `python -m firebreak.lifeline PPID -m uvicorn ...`.
    server_env = {
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",
        "PREFECT__SERVER_FINAL": "1",
    }
    return subprocess.Popen(
        args=[
            sys.executable,
            "-m",
            "firebreak.lifeline",
            str(os.getpid()),
            "-m",
            "uvicorn",
            "--app-dir",
            str(prefect.__module_path__.parent),
            "--factory",
            "prefect.server.api.server:create_app",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--log-level",
            "error",
            "--lifespan",
            "on",
        ],
        env={
            **os.environ,
            **server_env,
            **get_current_settings().to_environment_variables(exclude_unset=True),
        },
    )


def install() -> None:
    _Server._run_uvicorn_command = _run_watched  # type: ignore[method-assign]


def stop_ephemeral_servers() -> None:
    """Stop every ephemeral Prefect server this process started."""
    for server in list(_Server._instances.values()):
        try:
            server.stop()
        except Exception:  # shutting down: the lifeline ends it anyway
            log.warning("could not stop Prefect's ephemeral server", exc_info=True)
