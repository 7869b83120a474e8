"""`firebreak detect` on generated files and bad input; a quality regression test on NAB."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app

SHARED = Path(__file__).parents[2].parent / "shared"
NAB = SHARED / "data" / "nab-realtweets"


def volume_file(path: Path, burst_day: int | None = 6) -> Path:
    start = datetime(2025, 1, 6, tzinfo=UTC)
    lines = ["timestamp,value"]
    for i in range(10 * 288):
        at = start + timedelta(minutes=5 * i)
        level = 40 + 25 * math.sin((at.hour - 8) / 24 * 2 * math.pi)
        if burst_day is not None and (at - start).days == burst_day and 13 <= at.hour < 17:
            level *= 6
        lines.append(f"{at:%Y-%m-%d %H:%M:%S},{round(level)}")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_detect_prints_one_json_object_per_alert(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["detect", str(volume_file(tmp_path / "v.csv")), "--json"])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(alerts) == 1
    assert set(alerts[0]) == {"at", "severity", "value", "baseline", "rule", "scope"}
    at = datetime.fromisoformat(alerts[0]["at"])
    assert at.day == 12 and 13 <= at.hour < 17
    assert alerts[0]["value"] > 2 * alerts[0]["baseline"]


def test_detect_is_silent_on_a_normal_rhythm(tmp_path: Path) -> None:
    path = volume_file(tmp_path / "v.csv", burst_day=None)
    result = CliRunner().invoke(app, ["detect", str(path), "--format", "volume", "--json"])
    assert result.exit_code == 0 and result.stdout == ""


def test_bad_rows_are_named_by_line_and_the_rest_kept(tmp_path: Path) -> None:
    path = volume_file(tmp_path / "v.csv")
    lines = path.read_text().splitlines()
    lines.insert(3, "yesterday,12")
    path.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(app, ["detect", str(path), "--json"])
    assert result.exit_code == 0
    assert f"{path}:4: skipped" in result.stderr
    assert len(result.stdout.splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["detect", "/nonexistent/v.csv"], "no such file"),
        (["detect", "{file}", "--format", "xml"], "--format 'xml'"),
        (["detect", "{file}", "--playbook", "no-such-playbook"], "no-such-playbook"),
    ],
)
def test_bad_invocations_fail_clearly(tmp_path: Path, args: list[str], message: str) -> None:
    path = volume_file(tmp_path / "v.csv", burst_day=None)
    result = CliRunner().invoke(app, [a.replace("{file}", str(path)) for a in args])
    assert result.exit_code == 1
    assert message in result.stderr
    assert "Traceback" not in result.output


def _nab_eval():
    spec = importlib.util.spec_from_file_location(
        "nab_eval", Path(__file__).parents[2] / "bench" / "nab_eval.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["nab_eval"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not (NAB / "windows.json").exists(), reason="NAB data absent (../shared)")
def test_nab_quality_does_not_regress() -> None:
    nab = _nab_eval()
    data = nab.load(NAB)
    hits, windows, per_day, _ = nab.total(nab.run(nab.detector_alerts, data))
    assert windows == 18
    # Measured with the default spike trigger (spike + CUSUM of sustained excess, persist 6,
    # cooldown 24h): 17/18 windows at 0.142 false alarms per stream-day. The goal is <= 0.2.
    assert hits >= 17
    assert per_day <= 0.15
