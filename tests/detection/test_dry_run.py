"""`firebreak detect` is a dry run of ingestion: on one file it alerts where `replay` opens
incidents, including for triggers that filter on what triage adds (label, kind)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from cli.main import app
from firebreak.store.db import engine_for
from firebreak.store.models import Incident

PLAYBOOK = """\
name: complaints
version: 1
description: Complaints (as triage reads them) about a brand pile up.
trigger:
  signals: "${{ signal.label == 'negative' and signal.kind == 'complaint' }}"
  scope: "${{ signal.brand }}"
  threshold: {count: 20, within: 15m}
  cooldown: 10m
  severity: "${{ 'sev1' if window.count >= 40 else 'sev3' }}"
steps:
  - id: settle
    uses: incident.set_severity
    with: {severity: sev2}
"""

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
COMPLAINTS = [
    "@{brand} lost my bag again, third time, still no answer",
    "@{brand} where is my refund? been waiting three weeks, awful service",
    "@{brand} your app crashed again and support never replies, terrible",
]


def _post(i: int, brand: str, at: datetime, text: str) -> dict[str, Any]:
    # No `sentiment`: the label and kind the trigger reads come from triage alone.
    return {
        "source": "twitter",
        "source_id": f"{brand}-{i}",
        "author": f"user{i % 37}",
        "text": text.format(brand=brand),
        "brand": brand,
        "created_at": at.isoformat(),
    }


def stream() -> list[dict[str, Any]]:
    posts = []
    for i in range(120):  # a complaint wave on acme, 15 s apart
        posts.append(_post(i, "acme", T0 + timedelta(seconds=15 * i), COMPLAINTS[i % 3]))
    for i in range(60):  # praise on globex: no alert
        at = T0 + timedelta(seconds=20 * i)
        posts.append(_post(1000 + i, "globex", at, "@globex thanks, great flight today"))
    for i in range(80):  # later, complaints on globex
        at = T0 + timedelta(hours=2, seconds=10 * i)
        posts.append(_post(2000 + i, "globex", at, COMPLAINTS[i % 3]))
    posts.sort(key=lambda p: p["created_at"])
    # A few rows out of order, and re-sent duplicates: ingestion sorts each batch and drops the
    # repeats; the dry run must do the same.
    posts[40], posts[44] = posts[44], posts[40]
    posts.extend(posts[100:130])
    return posts


@pytest.fixture
def home(firebreak_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from firebreak.settings import get_settings

    folder = firebreak_home / "pb"
    folder.mkdir()
    (folder / "complaints.yaml").write_text(PLAYBOOK)
    monkeypatch.setenv("FIREBREAK_PLAYBOOKS_DIR", str(folder))
    get_settings.cache_clear()
    return firebreak_home


def _summary_row(output: str) -> list[str]:
    """The figures row of replay's summary table (accepted, duplicates, ..., escalated)."""
    rows = [line for line in output.splitlines() if line.count("│") == 7]
    return [cell.strip() for cell in rows[-1].split("│")[1:-1]]


def test_detect_alerts_where_replay_opens_incidents(home: Path, tmp_path: Path) -> None:
    path = tmp_path / "stream.ndjson"
    path.write_bytes(b"\n".join(orjson.dumps(p) for p in stream()) + b"\n")
    playbook = str(home / "pb" / "complaints.yaml")

    dry = CliRunner().invoke(
        app, ["detect", str(path), "--playbook", playbook, "--json", "--batch", "50"]
    )
    assert dry.exit_code == 0, dry.output
    alerts = [json.loads(line) for line in dry.stdout.splitlines()]
    assert "30 duplicate(s)" in dry.stderr

    live = CliRunner().invoke(app, ["replay", str(path), "--no-launch", "--batch", "50"])
    assert live.exit_code == 0, live.output
    accepted, duplicates, rejected, alert_count, *_ = _summary_row(live.output)
    assert (accepted, duplicates, rejected) == ("260", "30", "0")

    # The same number of alerts, and each incident opened at the dry run's first alert for its
    # scope, with the same severity: complaints on acme, then on globex, none for the praise.
    assert len(alerts) == int(alert_count) > 2
    db = engine_for(f"sqlite:///{(home / 'firebreak.db').resolve()}")
    with Session(db) as session:
        incidents = session.exec(select(Incident).order_by(Incident.id)).all()
    first: dict[str, dict[str, Any]] = {}
    for alert in alerts:
        first.setdefault(alert["scope"], alert)
    assert [i.scope for i in incidents] == list(first) == ["acme", "globex"]
    for incident in incidents:
        assert incident.trigger is not None
        assert incident.trigger["at"] == first[incident.scope]["at"]
        assert incident.trigger["severity"] == first[incident.scope]["severity"]
        # Later alerts raised the severity as far as the dry run's gravest one for the scope.
        gravest = min(a["severity"] for a in alerts if a["scope"] == incident.scope)
        assert incident.severity == gravest
