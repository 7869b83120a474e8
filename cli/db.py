"""CLI: `firebreak db upgrade` applies the Alembic migrations to the configured database."""

from __future__ import annotations

import typer

from firebreak.settings import Settings
from firebreak.store.db import make_engine, upgrade


def register(app: typer.Typer) -> None:
    db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def db_upgrade(revision: str = typer.Argument("head")) -> None:
        """Apply migrations up to REVISION (default: head)."""
        settings = Settings()
        url = settings.effective_database_url
        try:
            upgrade(make_engine(url), revision)
        except Exception as exc:  # a wrong URL or an unreachable server: say so, no traceback
            typer.secho(f"Could not upgrade the database: {exc}", fg="red", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"Database at {settings.masked()['effective_database_url']} is at {revision}.")
