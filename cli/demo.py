"""`firebreak demo`: a complaint goes viral and Firebreak runs the whole response, on a laptop.

Everything is embedded: SQLite under .firebreak/demo, Prefect's ephemeral server, and the loopback
sandbox of Slack, Jira and PagerDuty. Two simulated people answer the human gates: a comms
approver and the duty executive.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import typer
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlmodel import Session

from cli.common import console, fail

BATCH = 200
PEOPLE = {
    "approval": ("dana.okafor (Head of Comms)", "approve", "Approved: lead with the apology."),
    "ack": ("sam.reyes (duty executive)", "acknowledge", "On it, calling the airport manager."),
}


def _simulated_people(db, stop: threading.Event, delay: float) -> None:  # type: ignore[no-untyped-def]
    """Answer every gate after `delay` real seconds, as the people on call would."""
    from firebreak import gates

    first_seen: dict[int, float] = {}
    while not stop.wait(0.2):
        with Session(db) as session:
            for gate in gates.pending_gates(session):
                assert gate.id is not None
                seen = first_seen.setdefault(gate.id, time.monotonic())
                if time.monotonic() - seen < delay or gate.kind not in PEOPLE:
                    continue
                who, decision, comment = PEOPLE[gate.kind]
                try:
                    gates.decide(
                        session,
                        incident_id=gate.incident_id,
                        step_id=gate.step_id,
                        decision=decision,
                        by=who,
                        comment=comment,
                    )
                    session.commit()
                except gates.GateError:
                    session.rollback()


def register(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        home: Path = typer.Option(Path(".firebreak/demo"), help="Where the demo keeps its state."),
        time_scale: float = typer.Option(
            120.0, help="Playbook minutes per real minute (120: a 30 min timeout lasts 15 s)."
        ),
        seed: int = typer.Option(7, help="Seed of the generated mention stream."),
    ) -> None:
        """Run the whole story: mentions in, crisis detected, playbook run, timeline out."""
        started = time.monotonic()
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True, exist_ok=True)
        os.environ["FIREBREAK_HOME"] = str(home)
        os.environ["FIREBREAK_TIME_SCALE"] = str(time_scale)
        os.environ.pop("FIREBREAK_DATABASE_URL", None)
        # Prefect keeps its own state outside the demo folder so a second demo starts warm.
        os.environ.setdefault("PREFECT_HOME", str(Path(".firebreak/prefect").resolve()))

        from integrations.sandbox import Sandbox

        console.print(Panel.fit("[bold]Firebreak demo[/]: a complaint about Acme Air goes viral"))
        with Sandbox() as sandbox:
            os.environ.update(sandbox.env())
            from firebreak.settings import get_settings

            get_settings.cache_clear()
            settings = get_settings()
            _run(settings, seed, started, sandbox, home)

    def _run(settings, seed, started, sandbox, home) -> None:  # type: ignore[no-untyped-def]
        from firebreak import incidents
        from firebreak.demo_stream import mention_stream
        from firebreak.signals.ingest import Ingestor, build_detection, load_triggers
        from firebreak.store.db import engine_for
        from firebreak.store.models import Incident
        from firebreak.timeline_export import to_html, to_markdown

        db = engine_for(settings.effective_database_url)
        opened: list[int] = []
        ingestor = Ingestor(
            db,
            build_detection(load_triggers(settings.playbooks_dir)),
            on_incident_opened=opened.append,
        )
        stream = list(mention_stream(datetime.now(UTC) - timedelta(hours=3), seed=seed))
        console.print(
            f"1. Replaying {len(stream)} signals (3 hours of mentions and contact-centre volume)"
            " through triage and detection, accelerated."
        )
        totals: Counter[str] = Counter()
        columns = (
            TextColumn("   {task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console, transient=False) as progress:
            task = progress.add_task("signals", total=len(stream))
            for i in range(0, len(stream), BATCH):
                batch = stream[i : i + BATCH]
                result = ingestor.ingest_body(orjson.dumps(batch), "application/json")
                totals.update(
                    accepted=result.accepted,
                    duplicates=result.duplicates,
                    rejected=len(result.rejected),
                    alerts=result.alerts,
                )
                progress.advance(task, len(batch))
        console.print(
            f"   accepted {totals['accepted']}, rejected {totals['rejected']}, "
            f"alerts {totals['alerts']}"
        )
        if not opened:
            fail("the stream crossed no trigger: no incident opened (check playbooks/).")
        incident_id = opened[0]
        with Session(db) as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None
            console.print(
                f"2. Incident [bold]{incident_id}[/] opened: {incident.title} "
                f"([bold red]{incident.severity}[/], playbook {incident.playbook})"
            )

        console.print(
            "3. Running the playbook through Prefect (ephemeral server; the first start takes"
            " 10-20 s). Comms approves and the executive acknowledges, as people would."
        )
        from flows.launcher import run_incident_flow

        stop = threading.Event()
        people = threading.Thread(target=_simulated_people, args=(db, stop, 1.5), daemon=True)
        people.start()
        try:
            status = run_incident_flow(incident_id)
        finally:
            stop.set()
            people.join(timeout=2)
        console.print(f"   playbook run: [bold]{status}[/]")

        with Session(db) as session:
            incident = session.get(Incident, incident_id)
            assert incident is not None
            events = incidents.timeline(session, incident_id)
            steps = incidents.step_runs(session, incident_id)
        table = Table("time", "event", "by", "what happened", title=f"Incident {incident_id}")
        for e in events:
            table.add_row(f"{e.at:%H:%M:%S}", e.kind, e.actor, e.summary)
        console.print(table)

        calls = Table("service", "requests the sandbox received", title="What went out")
        for service in ("slack", "jira", "pagerduty"):
            paths = Counter(f"{r.method} {r.path}" for r in sandbox.requests(service))
            calls.add_row(service, ", ".join(f"{p} x{n}" for p, n in paths.most_common()))
        console.print(calls)

        md, page = home / f"incident-{incident_id}.md", home / f"incident-{incident_id}.html"
        md.write_text(to_markdown(incident, events, steps), encoding="utf-8")
        page.write_text(to_html(incident, events, steps), encoding="utf-8")
        console.print(f"Timeline written to {md} and {page}")
        console.print(f"Demo finished in {time.monotonic() - started:.1f} s.")
