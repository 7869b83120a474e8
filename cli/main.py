"""`firebreak`: the command line. Each command group registers itself from its own module."""

from __future__ import annotations

import typer

from cli import db, demo, detect, incident, playbook, replay, sandbox, serve, settings, triage

app = typer.Typer(
    name="firebreak",
    help="Crisis-response orchestration: detect a brand crisis and run its playbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for module in (demo, serve, sandbox, replay, triage, detect, incident, playbook, settings, db):
    module.register(app)


if __name__ == "__main__":
    app()
