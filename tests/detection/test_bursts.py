"""Minute-scale bursts: the benchmark's injection is reproducible, and a fast burst rule fires
through `firebreak detect` where the slow spike alone answers an hour or more later."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from firebreak.detection.engine import DetectionEngine
from firebreak.detection.spec import Trigger

BENCH = Path(__file__).parents[2] / "bench"


def _burst_eval():
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("burst_eval", BENCH / "burst_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["burst_eval"] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def _series(be, days: int = 30):
    start = datetime(2025, 1, 6, tzinfo=UTC)
    times = [start + timedelta(minutes=5 * i) for i in range(days * 288)]
    # A daily rhythm with a deterministic wobble, like a mention stream at 5-minute counts.
    values = [
        float(round(30 + 20 * math.sin(2 * math.pi * (t.hour - 8) / 24) + 7 * math.sin(i * 1.7)))
        for i, t in enumerate(times)
    ]
    window = (start + timedelta(days=12), start + timedelta(days=13, hours=12))
    return be.Series("SYN", times, values, [window])


def test_injection_is_the_same_for_a_seed_and_differs_between_seeds() -> None:
    be = _burst_eval()
    series = _series(be)
    first, again, other = be.plan(series, 7), be.plan(series, 7), be.plan(series, 8)
    assert first == again
    assert be.inject(series, first) == be.inject(series, again)
    assert [b.start for b in first] != [b.start for b in other]
    assert len(first) == be.BURSTS_PER_SERIES
    for burst in first:
        assert timedelta(minutes=10) <= burst.ramp <= timedelta(minutes=60)
        assert timedelta(minutes=30) <= burst.hold <= timedelta(hours=4)
        assert 2.5 <= burst.peak <= 6
        # away from the labelled window and from the start of the series
        (w_start, w_end) = series.windows[0]
        assert burst.end + be.GAP <= w_start or burst.start >= w_end + be.GAP
        assert burst.start >= series.times[0] + be.WARMUP
    injected = be.inject(series, first)
    top = first[0].start + first[0].ramp
    at = series.times.index(min(t for t in series.times if t >= top))
    assert injected[at] > series.values[at] * 1.5


def _volume_file(path: Path, burst_at: datetime | None) -> Path:
    start = datetime(2025, 1, 6, tzinfo=UTC)
    lines = ["timestamp,value"]
    for i in range(10 * 288):
        at = start + timedelta(minutes=5 * i)
        level = 40 + 25 * math.sin((at.hour - 8) / 24 * 2 * math.pi) + 6 * math.sin(i * 1.3)
        if burst_at is not None and burst_at <= at < burst_at + timedelta(minutes=90):
            # a 15-minute ramp to 4x, then held
            level *= 1 + 3 * min(1.0, (at - burst_at) / timedelta(minutes=15))
        lines.append(f"{at:%Y-%m-%d %H:%M:%S},{round(level)}")
    path.write_text("\n".join(lines) + "\n")
    return path


FAST = {
    "spike": {"factor": 2, "deviations": 3, "baseline": "24h", "min_count": 20, "within": "2h"},
    "burst": {
        "factor": 1.6,
        "deviations": 4,
        "within": "30m",
        "buckets": 6,
        "persist": 1,
        "min_count": 10,
        "cooldown": "6h",
    },
    "persist": 6,
    "cooldown": "24h",
}


def test_a_burst_rule_catches_a_minute_scale_burst_through_detect(tmp_path: Path) -> None:
    burst_at = datetime(2025, 1, 13, 14, 0, tzinfo=UTC)
    path = _volume_file(tmp_path / "v.csv", burst_at)
    # A shipped playbook with its trigger swapped for one with a burst rule.
    playbooks = Path(__file__).parents[2] / "playbooks"
    shutil.copytree(playbooks / "templates", tmp_path / "templates")
    shipped = (playbooks / "social-media-storm.yaml").read_text()
    head, rest = shipped.split("\ntrigger:\n", 1)
    steps = rest[rest.index("\nsteps:") :]
    playbook = tmp_path / "social-media-storm.yaml"
    playbook.write_text(f"{head}\ntrigger: {json.dumps(FAST)}\n{steps}")
    result = CliRunner().invoke(app, ["detect", str(path), "--playbook", str(playbook), "--json"])
    assert result.exit_code == 0, result.output
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(alerts) == 1, alerts
    at = datetime.fromisoformat(alerts[0]["at"])
    assert alerts[0]["rule"] == "burst"
    assert burst_at <= at <= burst_at + timedelta(minutes=20)


def test_a_burst_rule_is_held_back_by_its_own_cooldown_only() -> None:
    trigger = Trigger.model_validate(FAST)
    engine = DetectionEngine({"fast": trigger})
    start = datetime(2025, 1, 6, tzinfo=UTC)
    alerts = []
    for i in range(10 * 288):
        at = start + timedelta(minutes=5 * i)
        level = 40.0
        day = (at - start).days
        # two bursts 8 hours apart on day 8: the second is past the burst rule's 6 h cooldown
        # though well within the trigger's 24 h
        for hour in (6, 14):
            if day == 8 and hour <= at.hour < hour + 1:
                level = 200.0
        alerts += engine.observe({"type": "volume", "created_at": at, "value": level})
    assert [(a.at.day, a.at.hour, a.rule) for a in alerts] == [(14, 6, "burst"), (14, 14, "burst")]
