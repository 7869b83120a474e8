"""The crisis lead's commands as a user runs them: the sandbox and a real Prefect flow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from firebreak.settings import get_settings

pytestmark = pytest.mark.prefect
runner = CliRunner()


def test_declare_runs_the_playbook_and_the_timeline_exports(
    sandboxed, monkeypatch, people, firebreak_home
):
    monkeypatch.setenv("FIREBREAK_TIME_SCALE", "600")
    get_settings.cache_clear()
    result = runner.invoke(
        app,
        [
            "incident",
            "declare",
            "--playbook",
            "social-media-storm",
            "--title",
            "Wheelchair lost on AC212",
            "--severity",
            "sev1",
            "--by",
            "lead.on.duty",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Declared incident 1" in result.output
    assert "Playbook run finished: succeeded" in result.output

    listed = json.loads(runner.invoke(app, ["incident", "list", "--json"]).output)
    assert [(i["id"], i["severity"], i["declared_by"]) for i in listed] == [
        (1, "sev1", "lead.on.duty")
    ]
    record = json.loads(
        runner.invoke(app, ["incident", "timeline", "1", "--format", "json"]).output
    )
    kinds = [e["kind"] for e in record["timeline"]]
    assert kinds[0] == "incident.declared"
    assert "pagerduty.triggered" in kinds and kinds[-1] == "playbook.succeeded"
    # Secrets never reach the review record.
    text = json.dumps(record)
    for secret in sandboxed.env().values():
        if "token" in secret or len(secret) == 32:
            assert secret not in text

    markdown = runner.invoke(app, ["incident", "timeline", "1", "--format", "md"]).output
    assert markdown.startswith("# Incident 1: Wheelchair lost on AC212")
    page = firebreak_home / "t.html"
    runner.invoke(app, ["incident", "timeline", "1", "--format", "html", "-o", str(page)])
    assert "<title>Incident 1: Wheelchair lost on AC212</title>" in page.read_text()

    # Declaring again for the same scope escalates nothing and opens nothing new.
    again = runner.invoke(
        app, ["incident", "declare", "--playbook", "social-media-storm", "--no-run"]
    )
    assert "already open" in again.output
    assert len(json.loads(runner.invoke(app, ["incident", "list", "--json"]).output)) == 1


def test_unreachable_jira_is_a_clear_timeline_entry_and_the_response_goes_on(
    sandboxed, monkeypatch, people
):
    monkeypatch.setenv("FIREBREAK_TIME_SCALE", "600")
    monkeypatch.setenv("FIREBREAK_JIRA_URL", "http://127.0.0.1:9")  # nothing listens there
    get_settings.cache_clear()
    result = runner.invoke(
        app, ["incident", "declare", "-p", "social-media-storm", "-s", "sev2", "--by", "lead"]
    )
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    record = json.loads(runner.invoke(app, ["incident", "timeline", "1", "-f", "json"]).output)
    failed = [e for e in record["timeline"] if e["kind"] == "step.failed"]
    assert len(failed) == 1 and "epic" in failed[0]["summary"], record["timeline"]
    assert "unreachable" in failed[0]["summary"].lower()
    # What was accepted is kept: the war room and the approved script still went out.
    kinds = [e["kind"] for e in record["timeline"]]
    assert "slack.channel" in kinds and "script.published" in kinds
    assert any(r.path.endswith("conversations.create") for r in sandboxed.requests("slack"))


def test_unknown_playbook_lists_the_ones_that_exist(firebreak_home):
    result = runner.invoke(app, ["incident", "declare", "--playbook", "social-media-strom"])
    assert result.exit_code == 1
    said = " ".join(result.output.split())  # Rich wraps long lines
    assert "Did you mean 'social-media-storm'" in said
    assert "positive-wave" in said
    assert "Traceback" not in said


def test_the_demo_tells_the_whole_story(tmp_path: Path):
    """`make demo`'s command, in its own process, as a new user runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREBREAK_")}
    firebreak = Path(sys.executable).parent / "firebreak"
    done = subprocess.run(
        [str(firebreak), "demo", "--home", str(tmp_path / "demo")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Incident 1 opened" in done.stdout
    assert "playbook run: succeeded" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr
    md = (tmp_path / "demo" / "incident-1.md").read_text()
    assert "pagerduty.triggered" in md and "script.published" in md
    assert (tmp_path / "demo" / "incident-1.html").read_text().startswith("<!doctype html>")


def test_a_playbook_with_no_services_configured_fails_in_one_sentence(firebreak_home, capfd):
    result = runner.invoke(app, ["incident", "declare", "-p", "social-media-storm", "--by", "lead"])
    assert result.exit_code == 0, result.output
    assert "Playbook run finished: failed" in result.output
    record = json.loads(runner.invoke(app, ["incident", "timeline", "1", "-f", "json"]).output)
    last = record["timeline"][-1]
    assert last["kind"] == "playbook.failed"
    assert "no service is configured" in last["summary"] and "firebreak sandbox" in last["summary"]
    assert "Traceback" not in result.output + "".join(capfd.readouterr())


def test_a_held_incident_waits_for_a_person_and_resume_starts_it(sandboxed, monkeypatch, people):
    monkeypatch.setenv("FIREBREAK_TIME_SCALE", "600")
    # Any never-started incident counts as orphaned at once: only the hold keeps this one.
    monkeypatch.setenv("FIREBREAK_RESUME_GRACE_SECONDS", "0.001")
    get_settings.cache_clear()
    declared = runner.invoke(
        app, ["incident", "declare", "-p", "social-media-storm", "--no-run", "--by", "lead"]
    )
    assert "Not run: `firebreak incident resume 1` starts it" in declared.output

    # A sweep (what a running API does) leaves it alone: --no-run was deliberate.
    swept = runner.invoke(app, ["incident", "resume"])
    assert "nothing to resume" in swept.output
    assert not any(r.path.endswith("conversations.create") for r in sandboxed.requests("slack"))

    started = runner.invoke(app, ["incident", "resume", "1"])
    assert started.exit_code == 0, started.output
    said = " ".join(started.output.split())
    assert "never started; starting it" in said and "Playbook run finished: succeeded" in said
    record = json.loads(runner.invoke(app, ["incident", "timeline", "1", "-f", "json"]).output)
    kinds = [e["kind"] for e in record["timeline"]]
    assert kinds.index("playbook.held") < kinds.index("playbook.started")
    assert kinds[-1] == "playbook.succeeded" and "script.published" in kinds
    creates = [r for r in sandboxed.requests("slack") if r.path.endswith("conversations.create")]
    assert len(creates) == 1
