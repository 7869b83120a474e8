"""CLI: `firebreak serve`: the JSON API under uvicorn."""

from __future__ import annotations

import secrets
import socket

import typer

from cli.common import console, fail
from firebreak.settings import get_settings

ALL_ROLES = ["admin", "lead", "comms", "reviewer", "ingest"]


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
        if not settings.api_tokens:
            # A throwaway token for this run only: printed once here, held in memory, never logged.
            token = secrets.token_urlsafe(24)
            settings = settings.model_copy(update={"api_tokens": {token: ALL_ROLES}})
            console.print(
                "No FIREBREAK_API_TOKENS configured: an admin token (all roles) for this run:\n"
                f"  [bold]{token}[/]",
                highlight=False,
            )
        try:
            api = create_app(settings)
        except Exception as exc:
            fail(f"cannot start the API: {exc}")
        console.print(f"Firebreak API on http://{host}:{port} (docs: /docs)", highlight=False)
        uvicorn.run(api, host=host, port=port, log_level="info")
