"""CLI: `firebreak followups chase|list`: the follow-up chaser, one pass at a time, by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import typer
from rich.table import Table
from sqlmodel import Session

from cli.common import console, database, fail


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="Chase follow-up issues until they are done.", no_args_is_help=True)
    app.add_typer(group, name="followups")

    @group.command("chase")
    def chase(
        now: bool = typer.Option(False, "--now", help="Chase every running schedule, due or not."),
        as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
    ) -> None:
        """One pass: ask Jira about each due schedule's issues and comment on the open ones."""
        from firebreak import followups
        from firebreak.ports import IntegrationError
        from firebreak.settings import get_settings
        from integrations.factory import build_integrations
        from integrations.policy import RetryPolicy

        at = datetime.now(UTC)
        settings = get_settings()
        with Session(database(settings), expire_on_commit=False) as session:
            running = followups.schedules(session)
            if not any(now or s.due(at) for s in running):
                results: list[followups.ChaseResult] = []
            else:
                try:
                    services = build_integrations(
                        settings,
                        policy=RetryPolicy(
                            retries=followups.TRACKER_RETRIES, max_delay=followups.TRACKER_MAX_DELAY
                        ),
                    )
                except IntegrationError as exc:
                    fail(f"cannot chase follow-ups: {exc.message}")
                results = followups.chase_due(
                    session, services.tracker, services.chat, at, force=now
                )
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in results], indent=2))
        elif not results:
            console.print(_nothing_due(running, at))
        else:
            table = Table("schedule", "incident", "outcome", "commented", "summary")
            for r in results:
                table.add_row(
                    str(r.schedule.id),
                    str(r.schedule.incident_id),
                    _styled(r.outcome),
                    ", ".join(r.commented) or "-",
                    r.summary,
                )
            console.print(table)
        failed = [r for r in results if r.outcome == "failed"]
        if failed:
            fail(
                f"{len(failed)} schedule(s) could not be chased; they stay due and the next pass "
                "tries again."
            )

    @group.command("list")
    def list_(
        show_all: bool = typer.Option(False, "--all", help="Also the finished schedules."),
        as_json: bool = typer.Option(False, "--json", help="JSON instead of a table."),
    ) -> None:
        """Schedules, when each is next due, and how many of its issues were open last time."""
        from firebreak import followups

        at = datetime.now(UTC)
        with Session(database()) as session:
            rows = followups.schedules(session, include_finished=show_all)
        if as_json:
            typer.echo(json.dumps([_schedule_dict(s) for s in rows], indent=2))
            return
        if not rows:
            console.print("No follow-up schedules are running.")
            return
        table = Table(
            "schedule", "incident", "step", "issues", "open", "every", "chases", "next due (UTC)"
        )
        for s in rows:
            open_ = "?" if s.still_open is None else str(len(s.still_open))
            if s.finished is not None:
                due = s.finished.removeprefix("followup.")
            else:
                due = f"{s.next_due:%Y-%m-%d %H:%M}" + (" (due)" if s.due(at) else "")
            table.add_row(
                str(s.id),
                f"{s.incident_id} ({s.incident_status})",
                s.step or "-",
                str(len(s.issues)),
                open_,
                _every(s.every.total_seconds()),
                str(s.chases),
                due,
            )
        console.print(table)


def _schedule_dict(s: Any) -> dict[str, Any]:
    return {
        "schedule": s.id,
        "incident": s.incident_id,
        "incident_status": s.incident_status,
        "step": s.step,
        "issues": list(s.issues),
        "every_seconds": s.every.total_seconds(),
        "until_done": s.until_done,
        "scheduled_at": s.scheduled_at.isoformat(),
        "last_chased_at": s.last_chased_at.isoformat() if s.last_chased_at else None,
        "chases": s.chases,
        "still_open": None if s.still_open is None else list(s.still_open),
        "next_due": None if s.finished else s.next_due.isoformat(),
        "finished": s.finished,
    }


def _nothing_due(running: list[Any], at: datetime) -> str:
    if not running:
        return "Nothing to chase: no follow-up schedule is running."
    soonest = min(running, key=lambda s: s.next_due)
    return (
        f"Nothing due: {len(running)} schedule(s) running, the next at "
        f"{soonest.next_due:%Y-%m-%d %H:%M} UTC (`--now` chases them all now)."
    )


def _every(seconds: float) -> str:
    from datetime import timedelta

    from firebreak.expressions import format_duration

    return format_duration(timedelta(seconds=seconds))


def _styled(outcome: str) -> str:
    colour = {"done": "green", "chased": "yellow", "failed": "red"}.get(outcome, "white")
    return f"[{colour}]{outcome}[/]"
