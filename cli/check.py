"""CLI: `firebreak check` tries the configured services with the settings and role bindings."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from cli.common import fail


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(
        page: str | None = typer.Option(
            None,
            "--page",
            metavar="ROLE",
            help="Send a PagerDuty test page (severity info, resolved at once) to ROLE's key.",
        ),
    ) -> None:
        """Check Slack, Jira and PagerDuty: credentials, flavour, project, people and keys."""
        from firebreak.roles import RoleBindings, RoleError
        from firebreak.settings import Settings
        from integrations.check import check_services

        settings = Settings()
        try:
            roles = RoleBindings.load(settings.roles_file)
        except RoleError as exc:
            fail(str(exc))
        findings = check_services(settings, roles, page=page)
        table = Table("service", "", "finding", title="Connection check")
        for finding in findings:
            mark = "[green]ok[/]" if finding.ok else "[red]problem[/]"
            table.add_row(finding.service, mark, finding.what)
        Console().print(table)
        if not all(f.ok for f in findings):
            raise typer.Exit(1)
