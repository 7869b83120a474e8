"""CLI: `firebreak settings` prints the effective settings, secrets masked."""

from __future__ import annotations

import json

import typer
from rich.console import Console
from rich.table import Table

from firebreak.settings import Settings


def register(app: typer.Typer) -> None:
    @app.command("settings")
    def show_settings(
        as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    ) -> None:
        """Print the effective settings (FIREBREAK_* variables and .env), secrets masked."""
        values = Settings().masked()
        if as_json:
            typer.echo(json.dumps(values, indent=2, default=str))
            return
        table = Table("setting", "value", title="Effective settings")
        for key, value in values.items():
            table.add_row(key, "" if value is None else str(value))
        Console().print(table)
