"""CLI: `firebreak playbook rehearse PATH`: run a playbook's scenarios on stubs and virtual time."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from cli.common import console, fail

_STYLE = {"succeeded": "green", "failed": "red", "skipped": "dim"}


def _offset(at: datetime | None, start: datetime) -> str:
    if at is None:
        return ""
    minutes, seconds = divmod(int((at - start).total_seconds()), 60)
    return f"T+{minutes:02d}:{seconds:02d}"


def register_rehearse(group: typer.Typer) -> None:
    """Add `rehearse` to the `playbook` group."""

    @group.command("rehearse")
    def rehearse(
        path: Path = typer.Argument(..., help="Playbook file.", dir_okay=False),
        rehearsal: Path | None = typer.Option(
            None, "--rehearsal", help="Rehearsal file (default: <name>.rehearsal.yaml beside it)."
        ),
        roles: Path | None = typer.Option(None, "--roles", help="Role bindings file."),
        scenario: str | None = typer.Option(None, "--scenario", help="Run only this scenario."),
        timeline: bool = typer.Option(False, "--timeline", help="Print each scenario's timeline."),
    ) -> None:
        """Run every scenario on stubs, virtual time and scripted people; exit 1 on mismatch."""
        from firebreak.playbook.loader import PlaybookError
        from firebreak.playbook.rehearse import RehearsalError
        from firebreak.playbook.rehearse import rehearse as run

        try:
            reports = run(path, rehearsal, roles_file=roles, scenario=scenario)
        except PlaybookError as exc:
            for diagnostic in exc.diagnostics:
                console.print(escape(str(diagnostic)), highlight=False)
            fail(f"{path} is not a valid playbook; fix the errors above first")
        except RehearsalError as exc:
            fail(str(exc))
        failed = 0
        for report in reports:
            table = Table(title=escape(report.name), title_justify="left", show_lines=False)
            for column in ("step", "status", "started", "note"):
                table.add_column(column)
            for step_id, step in report.result.steps.items():
                note = step.error or step.reason or ""
                table.add_row(
                    step_id,
                    f"[{_STYLE.get(step.status, '')}]{step.status}[/]",
                    _offset(step.started_at, report.started) if step.status != "skipped" else "",
                    escape(note[:90]),
                )
            console.print(table)
            if timeline:
                for entry in report.timeline:
                    console.print(
                        f"  {_offset(entry.at, report.started)}  {entry.kind:<18} "
                        f"{escape(entry.summary)}",
                        highlight=False,
                    )
            if report.ok:
                console.print("[bold green]PASS[/]\n")
            else:
                failed += 1
                console.print("[bold red]FAIL[/]")
                for mismatch in report.mismatches:
                    console.print(escape(mismatch), highlight=False)
                console.print()
        total = len(reports)
        if failed:
            console.print(f"[bold red]{failed} of {total} scenario(s) failed[/]")
            raise typer.Exit(1)
        console.print(f"[bold green]{total} scenario(s) passed[/]")
