"""CLI: `firebreak incident declare|resume|list|timeline|resolve|reopen|severity|note`: crisis
leads and reviewers."""

from __future__ import annotations

import getpass
import json
from collections.abc import Callable
from pathlib import Path

import typer
from rich.table import Table
from sqlmodel import Session

from cli.common import console, database, fail
from firebreak import controls, incidents
from firebreak.incidents import SEVERITIES
from firebreak.playbook.runs import HELD_KIND
from firebreak.settings import get_settings
from firebreak.store.models import Incident
from firebreak.timeline_export import incident_dict, to_html, to_json, to_markdown


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Declare, list and review incidents.", no_args_is_help=True)
    app.add_typer(group, name="incident")

    @group.command("declare")
    def declare(
        playbook: str = typer.Option(..., "--playbook", "-p", help="Playbook name (file stem)."),
        title: str = typer.Option(None, "--title", "-t", help="What is happening."),
        severity: str = typer.Option("sev2", "--severity", "-s", help="sev1 (gravest) .. sev4."),
        scope: str = typer.Option(None, "--scope", help="Brand or topic; default: the playbook."),
        inputs: list[str] = typer.Option([], "--input", "-i", help="Playbook input KEY=VALUE."),
        by: str = typer.Option(None, "--by", help="Who declares (default: your login)."),
        run: bool = typer.Option(True, "--run/--no-run", help="Run the playbook now."),
    ) -> None:
        """Declare an incident by hand and run its playbook (a crisis lead's big red button)."""
        from firebreak.playbook.catalog import PlaybookNotFound, load_named, parse_inputs

        if severity not in SEVERITIES:
            fail(f"--severity {severity!r} is not one of {', '.join(SEVERITIES)}.")
        settings = get_settings()
        try:
            book = load_named(settings.playbooks_dir, playbook)
            values = parse_inputs(book, inputs)
        except PlaybookNotFound as exc:
            fail(str(exc))
        except ValueError as exc:
            fail(str(exc))
        engine = database(settings)
        with Session(engine, expire_on_commit=False) as session:
            incident, created = incidents.open_or_escalate(
                session,
                title=title or f"{playbook} declared by hand",
                playbook=playbook,
                scope=scope or playbook,
                severity=severity,
                inputs=values,
                declared_by=by or getpass.getuser(),
            )
            if created and not run:  # in the same commit: never picked up as an orphan
                assert incident.id is not None
                incidents.append_event(
                    session,
                    incident.id,
                    HELD_KIND,
                    "Declared without running its playbook (--no-run): "
                    f"`firebreak incident resume {incident.id}` starts it",
                    actor=incident.declared_by or "firebreak",
                )
            session.commit()
        if not created:
            console.print(
                f"Incident {incident.id} is already open for scope {incident.scope!r}: "
                f"severity now {incident.severity}. No second incident opened."
            )
            return
        console.print(f"Declared incident [bold]{incident.id}[/]: {incident.title}")
        if not run:
            console.print(f"Not run: `firebreak incident resume {incident.id}` starts it.")
        else:
            from flows.launcher import run_incident_flow

            assert incident.id is not None
            state = run_incident_flow(incident.id)
            console.print(f"Playbook run finished: {state}")

    @group.command("resume")
    def resume(
        incident_id: int = typer.Argument(
            None, help="Incident id; default: every open incident whose run was interrupted."
        ),
    ) -> None:
        """Resume playbook runs a crash interrupted (finished steps are kept, the rest run), or
        start a named incident's run that never started (also one declared with --no-run)."""
        from flows.launcher import resume_interrupted

        database()  # migrated before the flow looks
        outcomes = resume_interrupted([incident_id] if incident_id is not None else None, wait=True)
        if not outcomes:
            console.print("No interrupted playbook run: nothing to resume.")
            return
        for outcome in outcomes:
            if outcome.outcome == "resumed":
                console.print(
                    f"Incident {outcome.incident_id}: {outcome.message}. "
                    f"Playbook run finished: {outcome.status}",
                    highlight=False,
                )
            elif outcome.outcome == "abandoned":
                console.print(f"Incident {outcome.incident_id}: [bold red]{outcome.message}[/]")
            else:
                console.print(f"Not resumed: {outcome.message}.")
        if incident_id is not None and outcomes[0].outcome == "skipped":
            raise typer.Exit(1)

    @group.command("list")
    def list_(
        status: str = typer.Option(None, "--status", help="open or resolved"),
        as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
    ) -> None:
        """List incidents, newest first."""
        with Session(database()) as session:
            rows = incidents.list_incidents(session, status=status)
        if as_json:
            typer.echo(json.dumps([incident_dict(i) for i in rows], indent=2))
            return
        table = Table("id", "severity", "status", "playbook", "scope", "opened (UTC)", "title")
        for i in rows:
            table.add_row(
                str(i.id),
                i.severity,
                i.status,
                i.playbook,
                i.scope,
                f"{i.opened_at:%Y-%m-%d %H:%M}",
                i.title,
            )
        console.print(table)

    def _control(action: str, apply: Callable[[Session, str], Incident], by: str | None) -> None:
        actor = by or getpass.getuser()
        with Session(database(), expire_on_commit=False) as session:
            try:
                incident = apply(session, actor)
            except controls.ControlError as exc:
                fail(str(exc))
            session.commit()
        console.print(
            f"Incident {incident.id} {action} by {actor}: {incident.status}, {incident.severity}."
        )

    by_option = typer.Option(None, "--by", help="Who acts (default: your login).")

    @group.command("resolve")
    def resolve(
        incident_id: int = typer.Argument(...),
        summary: str = typer.Option(..., "--summary", "-m", help="What happened, how it ended."),
        by: str = by_option,
    ) -> None:
        """Resolve an incident with a summary for the timeline."""
        _control(
            "resolved",
            lambda s, who: controls.resolve(s, incident_id, actor=who, summary=summary),
            by,
        )

    @group.command("reopen")
    def reopen(
        incident_id: int = typer.Argument(...),
        reason: str = typer.Option(..., "--reason", "-m"),
        by: str = by_option,
    ) -> None:
        """Reopen a resolved incident, with the reason."""
        _control(
            "reopened", lambda s, who: controls.reopen(s, incident_id, actor=who, reason=reason), by
        )

    @group.command("severity")
    def severity(
        incident_id: int = typer.Argument(...),
        level: str = typer.Argument(..., help="sev1 (gravest) .. sev4."),
        reason: str = typer.Option(..., "--reason", "-m"),
        by: str = by_option,
    ) -> None:
        """Raise or lower an incident's severity, with the reason."""
        _control(
            "changed",
            lambda s, who: controls.set_severity(
                s, incident_id, actor=who, severity=level, reason=reason
            ),
            by,
        )

    @group.command("note")
    def note(
        incident_id: int = typer.Argument(...),
        text: str = typer.Argument(..., help="The note."),
        by: str = by_option,
    ) -> None:
        """Add a note to an incident's timeline."""
        _control(
            "noted", lambda s, who: controls.add_note(s, incident_id, actor=who, text=text), by
        )

    @group.command("timeline")
    def timeline(
        incident_id: int = typer.Argument(..., help="Incident id."),
        fmt: str = typer.Option("md", "--format", "-f", help="md, json or html"),
        output: Path = typer.Option(None, "--output", "-o", help="Write to a file."),
    ) -> None:
        """Print an incident's timeline for review: Markdown, JSON or a self-contained page."""
        if fmt not in ("md", "json", "html"):
            fail(f"--format {fmt!r}: use md, json or html.")
        with Session(database()) as session:
            incident = session.get(Incident, incident_id)
            if incident is None:
                fail(f"no incident {incident_id}; `firebreak incident list` shows them.")
            events = incidents.timeline(session, incident_id)
            steps = incidents.step_runs(session, incident_id)
        if fmt == "json":
            text = to_json(incident, events)
        elif fmt == "html":
            text = to_html(incident, events, steps)
        else:
            text = to_markdown(incident, events, steps)
        if output:
            output.write_text(text, encoding="utf-8")
            console.print(f"Wrote {output}")
        else:
            typer.echo(text)
