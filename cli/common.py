"""What the command modules share: the database, clear failures, the console."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console
from sqlalchemy.engine import Engine

from firebreak.settings import Settings, get_settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Say what went wrong in one sentence and exit non-zero: never a traceback."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code)


def database(settings: Settings | None = None) -> Engine:
    from firebreak.store.db import engine_for

    settings = settings or get_settings()
    try:
        return engine_for(settings.effective_database_url)
    except Exception as exc:
        url = settings.masked()["effective_database_url"]
        fail(f"cannot open the database at {url}: {exc}")
