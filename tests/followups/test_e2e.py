"""The whole story: social-media-storm declared at the CLI, its follow-ups chased until done."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from cli.main import app
from firebreak.settings import get_settings
from tests.followups.test_chase import chaser_comments, done

pytestmark = pytest.mark.prefect
runner = CliRunner()


def timeline_kinds(incident: int) -> list[tuple[str, str]]:
    record = json.loads(
        runner.invoke(app, ["incident", "timeline", str(incident), "-f", "json"]).output
    )
    return [
        (e["kind"], e["summary"]) for e in record["timeline"] if e["kind"].startswith("followup.")
    ]


def test_social_media_storm_followups_are_chased_until_done(sandboxed, monkeypatch, people):
    monkeypatch.setenv("FIREBREAK_TIME_SCALE", "600")
    get_settings.cache_clear()
    declared = runner.invoke(
        app, ["incident", "declare", "-p", "social-media-storm", "-s", "sev2", "--by", "lead"]
    )
    assert declared.exit_code == 0 and "succeeded" in declared.output, declared.output
    [schedule] = json.loads(runner.invoke(app, ["followups", "list", "--json"]).output)
    assert schedule["issues"] == ["CRISIS-2", "CRISIS-3", "CRISIS-4", "CRISIS-5"]
    assert schedule["every_seconds"] == 86400 and schedule["step"] == "chase"

    done(sandboxed, "CRISIS-2", "CRISIS-4")
    first = runner.invoke(app, ["followups", "chase", "--now"])
    assert first.exit_code == 0, first.output
    assert {k: len(c) for k, c in chaser_comments(sandboxed).items()} == {
        "CRISIS-2": 0,
        "CRISIS-3": 1,
        "CRISIS-4": 0,
        "CRISIS-5": 1,
    }

    done(sandboxed, "CRISIS-3", "CRISIS-5")
    assert runner.invoke(app, ["followups", "chase", "--now"]).exit_code == 0
    assert "Nothing to chase" in runner.invoke(app, ["followups", "chase", "--now"]).output
    assert timeline_kinds(1) == [
        (
            "followup.scheduled",
            "Chasing 4 issue(s) every 1d: CRISIS-2, CRISIS-3, CRISIS-4, CRISIS-5",
        ),
        ("followup.chased", "2 of 4 follow-ups still open: CRISIS-3, CRISIS-5"),
        ("followup.done", "All 4 follow-ups done"),
    ]


def test_the_deployed_flow_chases_what_is_due(sandboxed, db, file_followups):
    from flows.followup_chase import chase_followups

    incident = file_followups()
    assert chase_followups() == []  # scheduled a moment ago: due in a day
    [result] = chase_followups(force=True)
    assert result["incident"] == incident and result["outcome"] == "chased"
    assert result["commented"] == ["CRISIS-2", "CRISIS-3", "CRISIS-4", "CRISIS-5"]
    assert all(len(c) == 1 for c in chaser_comments(sandboxed).values())
