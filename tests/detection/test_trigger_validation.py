"""A trigger that could never fire (a misspelt field) or never page (an unknown severity) is a
validation error, located at file:line:column like every other playbook error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from firebreak.detection.checks import signal_fields
from firebreak.detection.engine import DetectionEngine
from firebreak.detection.spec import Trigger
from firebreak.playbook.validate import validate_text
from firebreak.signals.prepare import Preparer
from firebreak.signals.schema import SignalIn
from firebreak.triage import Triager

PLAYBOOK = """\
name: storm
version: 1
description: Negative mentions pile up.
trigger:
  signals: {signals}
  threshold: {{count: 20, within: 15m}}
  severity: {severity}
steps:
  - id: settle
    uses: incident.set_severity
    with: {{severity: sev2}}
"""


def problems(signals: str, severity: str = "sev2") -> list[tuple[int, int, str, str | None]]:
    text = PLAYBOOK.format(signals=signals, severity=severity)
    playbook, diagnostics = validate_text(text, "storm.yaml")
    assert (playbook is None) == bool(diagnostics)
    return [(d.line, d.column, d.message, d.hint) for d in diagnostics]


def column_of(word: str, line: str) -> int:
    return line.index(word) + 1


def test_a_misspelt_signal_field_is_located_with_the_right_name() -> None:
    signals = "\"${{ signal.lable == 'negative' }}\""
    [(line, column, message, hint)] = problems(signals)
    assert line == 5 and column == column_of("lable", f"  signals: {signals}")
    assert "signal.lable is not a field of a signal" in message
    assert hint is not None and "did you mean 'label'" in hint


def test_subscripts_plain_scalars_and_unknown_names_are_checked_too() -> None:
    signals = "${{ signal['knd'] == 'complaint' and sigal.brand == 'acme' }}"
    found = problems(signals)
    assert [(line, column) for line, column, _, _ in found] == [
        (5, column_of("knd", f"  signals: {signals}")),
        (5, column_of("sigal", f"  signals: {signals}")),
    ]
    assert "signal.knd is not a field" in found[0][2] and "'kind'" in str(found[0][3])
    assert "undefined name 'sigal'" in found[1][2]


def test_every_field_of_the_stored_signal_is_readable() -> None:
    test = " and ".join(f"signal.{name} != 'x'" for name in signal_fields())
    assert problems(f'"${{{{ {test} }}}}"') == []
    # Triage outputs are among them: a trigger on what triage adds must validate.
    assert {"label", "kind", "priority", "sentiment"} <= set(signal_fields())


def test_the_fields_checked_are_the_keys_ingestion_hands_to_detection() -> None:
    row = Preparer(Triager()).rows([SignalIn(text="@acme lost my bag, no answer")])[0]
    assert set(row) == set(signal_fields())


@pytest.mark.parametrize(
    ("severity", "word", "wanted"),
    [
        ("high", "high", "not one of sev1, sev2, sev3, sev4"),
        ("\"${{ 'sev1' if window.count > 50 else 'high' }}\"", "'high'", "severity 'high'"),
        ("\"${{ 'sev1' if window.cont > 50 else 'sev3' }}\"", "cont", "window.cont is not"),
    ],
)
def test_bad_severities_are_located(severity: str, word: str, wanted: str) -> None:
    [(line, column, message, _)] = problems("\"${{ signal.label == 'negative' }}\"", severity)
    assert line == 7 and wanted in message
    if word != severity:  # inside an expression: the column of the fault itself
        assert column == column_of(word, f"  severity: {severity}")


def test_validate_command_reports_file_line_column(tmp_path: Path) -> None:
    path = tmp_path / "storm.yaml"
    path.write_text(
        PLAYBOOK.format(signals="\"${{ signal.lable == 'negative' }}\"", severity="high")
    )
    result = CliRunner().invoke(app, ["playbook", "validate", str(path)])
    assert result.exit_code == 1
    said = " ".join(result.output.split())
    assert f"{path}:5:24: signal.lable is not a field" in said
    assert f"{path}:7:13:" in said and "'high' is not one of" in said
    assert "Traceback" not in result.output


def test_shipped_playbooks_validate() -> None:
    result = CliRunner().invoke(app, ["playbook", "validate", "playbooks"])
    assert result.exit_code == 0, result.output


def test_a_severity_read_from_a_signal_falls_back_to_the_default() -> None:
    # Validation cannot know what `signal.topic` holds; an alert must still carry a real severity.
    trigger = Trigger.model_validate(
        {"threshold": {"count": 2, "within": "1h"}, "severity": "${{ signal.topic }}"}
    )
    engine = DetectionEngine({"t": trigger})
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    signals = [
        {"created_at": t0 + timedelta(minutes=i), "value": 1.0, "topic": "urgent"} for i in range(3)
    ]
    [alert] = engine.feed(signals)
    assert alert.severity == "sev2"
