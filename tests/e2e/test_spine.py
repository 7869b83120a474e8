"""The spine, end to end: signals in, incident opened, playbook run through a real Prefect flow,
and the requests the sandbox recorded show the war room, the page and the Jira work."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from sqlmodel import Session, select

pytestmark = pytest.mark.prefect


def _answer_gates(db, stop: threading.Event) -> None:  # type: ignore[no-untyped-def]
    """A comms approver and an executive, answering every gate as it opens."""
    from firebreak import gates

    people = {"approval": ("dana (comms)", "approve"), "ack": ("sam (exec)", "acknowledge")}
    while not stop.wait(0.1):
        with Session(db) as session:
            for gate in gates.pending_gates(session):
                who, decision = people[gate.kind]
                gates.decide(
                    session,
                    incident_id=gate.incident_id,
                    step_id=gate.step_id,
                    decision=decision,
                    by=who,
                )
                session.commit()


def test_viral_complaint_runs_the_social_media_storm_playbook(sandboxed, monkeypatch):
    from firebreak import incidents
    from firebreak.demo_stream import mention_stream
    from firebreak.settings import get_settings
    from firebreak.signals.ingest import Ingestor, build_detection, load_triggers
    from firebreak.store.db import engine_for
    from firebreak.store.models import Gate, Incident
    from flows.launcher import run_incident_flow

    monkeypatch.setenv("FIREBREAK_TIME_SCALE", "600")
    get_settings.cache_clear()
    settings = get_settings()
    db = engine_for(settings.effective_database_url)

    opened: list[int] = []
    ingestor = Ingestor(
        db, build_detection(load_triggers(settings.playbooks_dir)), on_incident_opened=opened.append
    )
    stream = list(mention_stream(datetime.now(UTC) - timedelta(hours=3)))
    for i in range(0, len(stream), 500):
        ingestor.ingest_body(orjson.dumps(stream[i : i + 500]), "application/json")

    # One viral complaint, one incident: the rest of the wave escalates it, never duplicates it.
    assert len(opened) == 1
    incident_id = opened[0]

    stop = threading.Event()
    people = threading.Thread(target=_answer_gates, args=(db, stop), daemon=True)
    people.start()
    try:
        status = run_incident_flow(incident_id)
    finally:
        stop.set()
        people.join(timeout=5)
    assert status == "succeeded", status

    slack = sandboxed.requests("slack")
    created = [r for r in slack if r.path.endswith("/conversations.create")]
    assert len(created) == 1
    channel_name = created[0].body["name"]
    assert channel_name.startswith("crisis-")
    posts = [r for r in slack if r.path.endswith("/chat.postMessage")]
    channels = {c["name"]: c["id"] for c in sandboxed.state("slack")["channels"]}
    channel_id = channels[channel_name]
    assert any(p.body["channel"] == channel_id for p in posts), "the war room got no brief"

    jira = [r for r in sandboxed.requests("jira") if r.method == "POST"]
    issue_posts = [r.body["fields"] for r in jira if r.path == "/rest/api/2/issue"]
    kinds = [f["issuetype"].get("name") or f["issuetype"].get("id") for f in issue_posts]
    assert len(issue_posts) >= 2, kinds  # the epic and at least one follow-up task

    pages = [r.body for r in sandboxed.requests("pagerduty") if r.path == "/v2/enqueue"]
    triggers = [p for p in pages if p["event_action"] == "trigger"]
    assert triggers and all(p["dedup_key"] for p in triggers)

    with Session(db) as session:
        incident = session.get(Incident, incident_id)
        assert incident is not None and incident.flow_run_id
        kinds_on_timeline = [e.kind for e in incidents.timeline(session, incident_id)]
        gates_rows = session.exec(select(Gate).where(Gate.incident_id == incident_id)).all()
    assert kinds_on_timeline[0] == "incident.detected"
    assert "playbook.started" in kinds_on_timeline
    assert kinds_on_timeline.count("step.succeeded") >= 4
    assert all(g.status in ("approved", "acknowledged") for g in gates_rows)
