"""CLI: `firebreak serve`: the JSON API under uvicorn."""

from __future__ import annotations

import socket

import typer
from sqlmodel import Session

from cli.common import console, database, fail
from firebreak import accounts
from firebreak.settings import Settings, get_settings


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("serve")
    def serve(
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        port: int = typer.Option(8000, "--port", min=1, max=65535, help="TCP port."),
    ) -> None:
        """Serve the JSON API (signals, incidents, gates, timeline); OpenAPI docs at /docs."""
        import uvicorn

        from api.main import create_app

        if not _port_free(host, port):
            fail(f"cannot listen on {host}:{port}: the address is in use or not available.")
        settings = get_settings()
        _first_admin(settings)
        try:
            api = create_app(settings)
        except Exception as exc:
            fail(f"cannot start the API: {exc}")
        api.state.exit_after_shutdown = True  # parked runs stay parked until the exit below
        console.print(f"Firebreak API on http://{host}:{port} (docs: /docs)", highlight=False)
        uvicorn.run(api, host=host, port=port, log_level="info")
        _exit_now()


def _exit_now() -> None:
    """After uvicorn's graceful shutdown: stop Prefect's ephemeral server (if a run started one)
    and exit without waiting for parked playbook threads or Prefect's worker threads, which
    would otherwise hold the process until their timers fire."""
    import os
    import sys

    if "flows" in sys.modules:
        from flows.prefect_server import stop_ephemeral_servers

        stop_ephemeral_servers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _first_admin(settings: Settings) -> None:
    """A fresh install gets an admin with a one-time password, printed here once, never logged."""
    with Session(database(settings)) as session:
        password = accounts.ensure_first_admin(session)
        session.commit()
    if password is None:
        return
    console.print(
        "No users yet: created the first admin.\n"
        f"  user [bold]admin[/], one-time password [bold]{password}[/]\n"
        "Set a real password before anything else: `firebreak user passwd admin` (or POST "
        "/api/v1/auth/password with username, password, new_password). Then get an API token "
        "with `firebreak token create --user admin` or POST /api/v1/auth/token, and add people "
        "with `firebreak user add NAME --roles lead`.",
        highlight=False,
    )
