"""CLI: `firebreak sandbox` runs loopback Slack, Jira and PagerDuty emulators until Ctrl-C."""

from __future__ import annotations

import shlex
import signal
import threading
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from integrations.sandbox import Sandbox


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("sandbox")
    def sandbox(
        host: str = typer.Option("127.0.0.1", help="Address to listen on (loopback by default)."),
        port_base: int = typer.Option(
            0,
            min=0,
            max=65533,
            help="Slack on PORT_BASE, Jira on +1, PagerDuty on +2; 0 picks free ports.",
        ),
        state_dir: Path | None = typer.Option(
            None, help="Where to write the sandbox CA file (default: a temporary directory)."
        ),
        jira_flavour: str = typer.Option(
            "datacenter", help="Which Jira to emulate: datacenter or cloud (their rules differ)."
        ),
    ) -> None:
        """Run loopback Slack, Jira and PagerDuty emulators and print the settings that use them."""
        try:
            box = Sandbox(
                host=host, port_base=port_base, state_dir=state_dir, jira_flavour=jira_flavour
            ).start()
        except ValueError as e:
            typer.secho(str(e), fg="red", err=True)
            raise typer.Exit(2) from None
        except OSError as e:
            typer.secho(
                f"Could not start the sandbox on {host} (port base {port_base}): {e.strerror or e}",
                fg="red",
                err=True,
            )
            raise typer.Exit(1) from None
        console = Console()
        table = Table(title="Firebreak sandbox", show_lines=False)
        table.add_column("service")
        table.add_column("URL")
        table.add_column("credentials (sandbox only)")
        table.add_row("slack", box.url("slack") + "/api/", f"token {box.slack_token}")
        table.add_row("jira", box.url("jira"), f"{box.jira_user} / {box.jira_token}")
        table.add_row("pagerduty", box.url("pagerduty"), f"routing key {box.routing_key}")
        table.add_row("control API", f"{box.control_url}/_sandbox/", "requests, faults, reset")
        console.print(table)
        console.print("Point Firebreak at it (paste into your shell or a .env file):")
        for key, value in box.env().items():
            # Plain print: these lines are meant to be copied, without Rich markup or wrapping.
            print(f"export {key}={shlex.quote(value)}", flush=True)
        console.print("Sandbox running; press Ctrl-C to stop.")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            while not stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            box.stop()
        console.print("Sandbox stopped.")
