"""A playbook run killed mid-way (kill -9) resumes from the command line and does nothing twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from firebreak import gates, incidents
from firebreak.settings import get_settings
from firebreak.store.db import engine_for
from firebreak.store.models import Effect

pytestmark = pytest.mark.prefect
runner = CliRunner()
FIREBREAK = Path(sys.executable).parent / "firebreak"
DONE_BEFORE_THE_KILL = {"war_room", "brief", "page_execs", "holding_statement", "epic"}


def declare_and_kill_mid_way(firebreak_home: Path) -> None:
    """Declare in a process of its own; kill it (and its Prefect server) once some steps
    succeeded and both gates wait for a person."""
    # At 60x the gates wait 30 real seconds for a person: the kill always comes first.
    env = {**os.environ, "FIREBREAK_TIME_SCALE": "60"}
    declare = [str(FIREBREAK), "incident", "declare", "-p", "social-media-storm", "-s", "sev1"]
    child = subprocess.Popen(
        [*declare, "--by", "lead"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    db = engine_for(get_settings().effective_database_url)
    deadline = time.monotonic() + 90
    try:
        while True:
            time.sleep(0.1)
            assert child.poll() is None, child.communicate()[0].decode()
            assert time.monotonic() < deadline, "the run never reached its gates"
            with Session(db) as session:
                steps = {r.step_id: r.status for r in incidents.step_runs(session, 1)}
                waiting = {g.step_id for g in gates.pending_gates(session, 1)}
                # A gate's row is written before its ask is posted: kill only once both asks
                # are stored, or the resumed run would rightly post an ask it never recorded.
                asked = set(session.exec(select(Effect.key).where(Effect.key.endswith(":ask"))))
            done = {s for s, status in steps.items() if status == "succeeded"}
            both = {"approve_statement", "exec_ack"}
            if (
                done >= DONE_BEFORE_THE_KILL
                and waiting == both
                and asked == {f"1:{s}:ask" for s in both}
            ):
                break
    finally:
        os.killpg(child.pid, signal.SIGKILL)  # the whole process group: like a container dying
        child.wait()
    assert "publish_script" not in steps


def test_a_killed_run_resumes_and_does_nothing_twice(sandboxed, firebreak_home, monkeypatch):
    declare_and_kill_mid_way(firebreak_home)
    # While nobody ran the playbook, comms approved and an executive acknowledged.
    db = engine_for(get_settings().effective_database_url)
    with Session(db) as session:
        for step, decision in (("approve_statement", "approve"), ("exec_ack", "acknowledge")):
            gates.decide(session, incident_id=1, step_id=step, decision=decision, by="cora")
            session.commit()

    monkeypatch.setenv("FIREBREAK_TIME_SCALE", "600")
    get_settings.cache_clear()
    result = runner.invoke(app, ["incident", "resume"])

    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())
    assert "Incident 1: incident 1's run died with its process" in said
    assert "resuming (attempt 2). Playbook run finished: succeeded" in said
    record = json.loads(runner.invoke(app, ["incident", "timeline", "1", "-f", "json"]).output)
    events = record["timeline"]
    kinds = [e["kind"] for e in events]
    assert kinds.count("playbook.started") == 1 and kinds[-1] == "playbook.succeeded"
    (resumed,) = [e for e in events if e["kind"] == "playbook.resumed"]
    done = len(resumed["data"]["done"])
    assert done >= len(DONE_BEFORE_THE_KILL)
    assert resumed["summary"] == (
        f"Resumed after an interruption: {done} steps already done, {15 - done} to go"
    )
    # The approved statement reached the contact centre, word for word.
    assert "script.published" in kinds

    # Nothing was done twice: one war room, one epic, one page per dedup key, no repeated post.
    slack = sandboxed.requests("slack")
    assert sum(r.path.endswith("conversations.create") for r in slack) == 1
    posts = Counter(
        (r.body.get("channel"), r.body.get("text")) for r in slack if r.path.endswith("postMessage")
    )
    assert posts and max(posts.values()) == 1, posts
    created = [r.body for r in sandboxed.requests("jira") if r.method == "POST"]
    issues = [b for b in created if "fields" in b]
    summaries = Counter(b["fields"]["summary"] for b in issues)
    assert summaries["Crisis 1: social-media-storm declared by hand"] == 1  # the epic
    assert len(issues) == 5 and max(summaries.values()) == 1, summaries  # and its 4 tasks
    pages = Counter(
        r.body["dedup_key"]
        for r in sandboxed.requests("pagerduty")
        if r.body.get("event_action") == "trigger"
    )
    assert pages and max(pages.values()) == 1, pages

    # Once finished, there is nothing left to resume, and asking by id says why.
    assert "nothing to resume" in runner.invoke(app, ["incident", "resume"]).output
    again = runner.invoke(app, ["incident", "resume", "1"])
    assert again.exit_code == 1
    assert "already ended (playbook.succeeded)" in " ".join(again.output.split())


def test_the_api_start_up_gives_up_on_a_run_past_its_resume_limit(firebreak_home, monkeypatch):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from firebreak.store.models import PlaybookRun

    monkeypatch.setenv("FIREBREAK_RESUME_MAX_ATTEMPTS", "2")
    get_settings.cache_clear()
    db = engine_for(get_settings().effective_database_url)
    with Session(db) as session:
        incidents.open_or_escalate(
            session, title="Storm", playbook="social-media-storm", scope="s", severity="sev2"
        )
        incidents.append_event(session, 1, "playbook.started", "started")
        incidents.append_event(session, 1, "playbook.resumed", "resumed twice already")
        session.add(PlaybookRun(incident_id=1, owner="gone-host:1", attempt=3))
        session.commit()
    monkeypatch.setenv("FIREBREAK_RESUME_GRACE_SECONDS", "0.001")
    get_settings.cache_clear()
    time.sleep(0.01)

    with TestClient(create_app()) as client:  # start-up resumes, or here gives up
        assert client.get("/healthz").status_code == 200

    with Session(db) as session:
        last = incidents.timeline(session, 1)[-1]
    assert last.kind == "playbook.abandoned"
    assert "a person must take over" in last.summary
