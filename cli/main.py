"""`firebreak`: the command line. Each command group registers itself from its own module."""

from __future__ import annotations

import typer

from cli import (
    accounts,
    check,
    db,
    demo,
    detect,
    followups,
    incident,
    playbook,
    replay,
    sandbox,
    serve,
    settings,
    triage,
)

app = typer.Typer(
    name="firebreak",
    help="Crisis-response orchestration: detect a brand crisis and run its playbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

for module in (
    demo,
    serve,
    sandbox,
    replay,
    triage,
    detect,
    incident,
    playbook,
    settings,
    db,
    followups,
    check,
    accounts,
):
    module.register(app)


def main() -> None:
    """Console entry point: a bug says one sentence, no traceback (FIREBREAK_DEBUG=1 shows it)."""
    import os

    try:
        app()
    except Exception as exc:
        if os.environ.get("FIREBREAK_DEBUG"):
            raise
        from cli.common import err_console

        err_console.print(
            f"[bold red]error:[/] {type(exc).__name__}: {exc}\n"
            "This is a bug in Firebreak; run again with FIREBREAK_DEBUG=1 for the details.",
            highlight=False,
        )
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
