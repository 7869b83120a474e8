"""The faults measured in issue 8, through `firebreak incident declare` and a real Prefect flow at
time scale 600: a Slack rate limit asking for 10 s while the gates post their asks, and Jira 500s
while the follow-up tasks are filed. Both used to fail the whole playbook."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from cli.main import app
from firebreak.settings import get_settings

pytestmark = [pytest.mark.faults, pytest.mark.prefect]
runner = CliRunner()


def test_slack_rate_limits_and_jira_errors_delay_the_playbook_but_it_finishes(
    sandboxed, monkeypatch, people
):
    monkeypatch.setenv("FIREBREAK_TIME_SCALE", "600")
    get_settings.cache_clear()
    sandboxed.fail("slack", "chat.postMessage", status=429, retry_after=10, times=6)
    # The epic goes through; the next three issue creations (the tasks) get a 500.
    sandboxed.fail(
        "jira", "POST /rest/api/2/issue$", status=500, retry_after=None, times=3, after=1
    )

    result = runner.invoke(
        app, ["incident", "declare", "-p", "social-media-storm", "-s", "sev2", "--by", "lead"]
    )

    assert result.exit_code == 0, result.output
    assert "Playbook run finished: succeeded" in result.output
    record = json.loads(runner.invoke(app, ["incident", "timeline", "1", "-f", "json"]).output)
    kinds = [e["kind"] for e in record["timeline"]]
    assert "step.failed" not in kinds, record["timeline"]
    assert "script.published" in kinds and "jira.tasks" in kinds
    assert kinds.count("step.retrying") >= 2
    assert len([r for r in sandboxed.requests("slack") if r.fault]) == 6
    assert len([r for r in sandboxed.requests("jira") if r.fault]) == 3
    # Nothing twice: every Slack text once, the epic and its four tasks once each.
    texts = Counter(m["text"] for m in sandboxed.state("slack")["messages"])
    assert [t for t, n in texts.items() if n > 1] == []
    assert any("word for word" in t for t in texts)
    assert len(sandboxed.state("jira")["issues"]) == 5
