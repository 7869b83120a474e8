"""Each rule on synthetic streams: fires when it should and not before; persist, cooldown,
severity, scopes, restart equivalence."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from firebreak.detection.engine import DetectionEngine
from firebreak.detection.spec import Trigger

T0 = datetime(2025, 1, 6, tzinfo=UTC)


def mention(at: datetime, **fields: Any) -> dict[str, Any]:
    signal = {
        "type": "mention",
        "created_at": at,
        "value": 1.0,
        "author_reach": 0,
        "label": "neutral",
    }
    signal.update(fields)
    return signal


def run(trigger: dict[str, Any], signals: list[dict[str, Any]], name: str = "pb") -> list:
    return DetectionEngine({name: Trigger.model_validate(trigger)}).feed(signals)


def test_threshold_fires_on_the_nth_signal_within_the_window_and_not_before() -> None:
    signals = [mention(T0 + timedelta(seconds=10 * i)) for i in range(60)]
    alerts = run({"threshold": {"count": 50, "within": "15m"}}, signals)
    assert len(alerts) == 1
    assert alerts[0].at == signals[49]["created_at"]
    assert alerts[0].value == 50 and alerts[0].rule == "threshold"


def test_threshold_ignores_signals_spread_wider_than_the_window() -> None:
    signals = [mention(T0 + timedelta(minutes=2 * i)) for i in range(100)]  # 7-8 per 15 min
    assert run({"threshold": {"count": 10, "within": "15m"}}, signals) == []


def test_filter_expression_selects_signals() -> None:
    trigger = {
        "signals": "${{ signal.label == 'negative' and signal.kind == 'complaint' }}",
        "threshold": {"count": 5, "within": "1h"},
    }
    praise = [
        mention(T0 + timedelta(seconds=i), label="positive", kind="praise") for i in range(20)
    ]
    assert run(trigger, praise) == []
    complaints = [
        mention(T0 + timedelta(seconds=i), label="negative", kind="complaint") for i in range(5)
    ]
    assert len(run(trigger, praise + complaints)) == 1


def test_volume_signals_count_by_value() -> None:
    signals = [
        {"type": "volume", "created_at": T0 + timedelta(minutes=5 * i), "value": 20.0}
        for i in range(4)
    ]
    alerts = run({"threshold": {"count": 60, "within": "1h"}}, signals)
    assert [a.at for a in alerts] == [T0 + timedelta(minutes=10)]


def test_reach_rule_sums_author_reach() -> None:
    small = [mention(T0 + timedelta(seconds=i), author_reach=1000) for i in range(50)]
    big = [mention(T0 + timedelta(seconds=60), author_reach=2_000_000)]
    trigger = {"reach": {"total": 1_000_000, "within": "1h"}}
    assert run(trigger, small) == []
    alerts = run(trigger, small + big)
    assert len(alerts) == 1 and alerts[0].rule == "reach" and alerts[0].value == 2_050_000


def test_negative_share_needs_both_share_and_min_count() -> None:
    trigger = {"negative_share": {"share": 0.6, "min_count": 30, "within": "30m"}}
    few = [mention(T0 + timedelta(seconds=i), label="negative") for i in range(10)]
    assert run(trigger, few) == []
    mixed = [
        mention(T0 + timedelta(seconds=i), label="negative" if i % 2 else "positive")
        for i in range(100)
    ]
    assert run(trigger, mixed) == []  # 50%
    angry = [
        mention(T0 + timedelta(seconds=i), label="negative" if i % 4 else "neutral")
        for i in range(100)
    ]
    alerts = run(trigger, angry)
    assert len(alerts) == 1 and alerts[0].rule == "negative_share" and alerts[0].value >= 0.6


def daily_stream(days: int, spike_day: int | None = None, spike_hour: int = 14) -> list[dict]:
    """Volume every 5 minutes with a daily rhythm (quiet nights, busy afternoons)."""
    signals = []
    for i in range(days * 288):
        at = T0 + timedelta(minutes=5 * i)
        hour = at.hour + at.minute / 60
        level = 20 + 15 * math.sin((hour - 8) / 24 * 2 * math.pi)
        if (
            spike_day is not None
            and at.day - T0.day == spike_day
            and spike_hour <= hour < spike_hour + 3
        ):
            level *= 5
        signals.append({"type": "volume", "created_at": at, "value": round(level)})
    return signals


SPIKE = {
    "spike": {"factor": 2, "baseline": "24h", "min_count": 20, "within": "1h"},
    "persist": 2,
    "cooldown": "6h",
}


def test_spike_learns_the_daily_rhythm_and_stays_quiet_on_it() -> None:
    assert run(SPIKE, daily_stream(10)) == []


def test_spike_fires_on_a_burst_over_the_rhythm() -> None:
    alerts = run(SPIKE, daily_stream(10, spike_day=6))
    assert len(alerts) == 1
    at = alerts[0].at
    assert at.day - T0.day == 6 and 14 <= at.hour < 17
    assert alerts[0].value >= 2 * alerts[0].baseline


def test_spike_baseline_is_not_dragged_up_by_the_crisis() -> None:
    """A second identical burst a day later still fires: the first did not become normal."""
    stream = daily_stream(10, spike_day=6)
    again = daily_stream(10, spike_day=7)
    merged = [max(a, b, key=lambda s: s["value"]) for a, b in zip(stream, again, strict=True)]
    alerts = run(SPIKE, merged)
    assert [a.at.day - T0.day for a in alerts] == [6, 7]


def test_persist_waits_for_consecutive_windows() -> None:
    trigger = {"threshold": {"count": 10, "within": "12m"}, "persist": 3}
    burst = [mention(T0 + timedelta(seconds=i)) for i in range(20)]  # all in one bucket
    assert run(trigger, burst) == []
    steady = [mention(T0 + timedelta(seconds=15 * i)) for i in range(60)]  # 4 a minute
    alerts = run(trigger, steady)
    assert len(alerts) == 1
    # Above from the 10th signal (0:02:15, in the 1-minute bucket 2): the third consecutive
    # bucket above starts at 0:04.
    assert alerts[0].at == T0 + timedelta(minutes=4)
    assert run({**trigger, "persist": 1}, steady)[0].at == steady[9]["created_at"]


def test_cooldown_holds_back_a_second_alert_for_the_same_scope() -> None:
    trigger = {"threshold": {"count": 5, "within": "5m"}, "cooldown": "1h"}
    signals = [
        mention(T0 + timedelta(minutes=10 * i, seconds=s)) for i in range(12) for s in range(6)
    ]
    alerts = run(trigger, signals)
    assert [a.at - T0 for a in alerts] == [timedelta(seconds=4), timedelta(hours=1, seconds=4)]


def test_severity_expression_reads_the_window() -> None:
    trigger = {
        "reach": {"total": 1000, "within": "1h"},
        "severity": "${{ 'sev1' if window.reach > 1000000 else 'sev2' }}",
        "scope": "${{ signal.brand }}",
    }
    signals = [
        mention(T0, brand="acme", author_reach=5000),
        mention(T0, brand="globex", author_reach=5_000_000),
    ]
    alerts = run(trigger, signals)
    assert {(a.scope, a.severity) for a in alerts} == {("acme", "sev2"), ("globex", "sev1")}


def test_scopes_are_counted_separately() -> None:
    trigger = {"threshold": {"count": 10, "within": "1h"}, "scope": "${{ signal.brand }}"}
    signals = [mention(T0 + timedelta(seconds=i), brand=("a", "b")[i % 2]) for i in range(18)]
    assert run(trigger, signals) == []  # 9 each
    alerts = run(trigger, [*signals, mention(T0 + timedelta(seconds=30), brand="a")])
    assert [a.scope for a in alerts] == ["a"]


def test_signals_missing_a_filtered_key_are_not_counted() -> None:
    trigger = {
        "signals": "${{ signal.kind == 'complaint' }}",
        "threshold": {"count": 1, "within": "1h"},
    }
    assert run(trigger, [{"type": "volume", "created_at": T0, "value": 5.0}]) == []


def test_restart_rebuild_neither_misses_nor_repeats_alerts() -> None:
    triggers = {
        "spike": Trigger.model_validate({**SPIKE, "cooldown": "2h"}),
        "count": Trigger.model_validate({"threshold": {"count": 300, "within": "1h"}}),
    }
    stream = daily_stream(10, spike_day=6)
    alone = DetectionEngine(triggers).feed(stream)
    assert len(alone) >= 2
    cut = next(i for i, s in enumerate(stream) if s["created_at"] > alone[0].at)
    first = DetectionEngine(triggers)
    before = first.feed(stream[:cut])
    restarted = DetectionEngine(triggers)
    replayed = restarted.rebuild(stream[:cut])
    after = restarted.feed(stream[cut:])
    assert replayed == before
    assert before + after == alone


def test_rebuild_keeps_cooldown_from_stored_alert_times() -> None:
    trigger = Trigger.model_validate({"threshold": {"count": 3, "within": "5m"}, "cooldown": "1h"})
    engine = DetectionEngine({"pb": trigger})
    engine.rebuild([], last_alerts={("pb", "pb"): T0})
    late = [mention(T0 + timedelta(minutes=30, seconds=i)) for i in range(5)]
    assert engine.feed(late) == []
    assert engine.horizon == timedelta(hours=1)


@pytest.mark.parametrize(
    ("block", "message"),
    [
        ({"persist": 2}, "at least one rule"),
        ({"threshold": {"count": 5, "within": "soon"}}, "duration"),
        ({"threshold": {"count": 5, "within": "5m", "extra": 1}}, "extra"),
        ({"signals": "signal.label == 'x'", "threshold": {"count": 1, "within": "1m"}}, "${{"),
        (
            {"signals": "${{ signal.label == }}", "threshold": {"count": 1, "within": "1m"}},
            "syntax",
        ),
    ],
)
def test_bad_trigger_blocks_say_what_is_wrong(block: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message.replace("$", r"\$")):
        Trigger.model_validate(block)


def noisy_stream(days: int, rise_day: int, rise: float) -> list[dict]:
    """Volume every 5 minutes, about 40 a bucket with seeded noise, `rise`-fold for 8 hours."""
    rng = random.Random(7)
    signals = []
    for i in range(days * 288):
        at = T0 + timedelta(minutes=5 * i)
        level = 40.0 * rng.uniform(0.7, 1.3)
        if at.day - T0.day == rise_day and 10 <= at.hour < 18:
            level *= rise
        signals.append({"type": "volume", "created_at": at, "value": round(level)})
    return signals


SUSTAINED = {
    "spike": {"factor": 2, "deviations": 3, "min_count": 20, "within": "2h", "slack": 1.25},
    "persist": 2,
    "cooldown": "12h",
}


def test_sustained_excess_fires_on_a_lasting_rise_the_spike_line_misses() -> None:
    stream = noisy_stream(6, rise_day=4, rise=1.5)
    assert run(SUSTAINED, stream) == []
    with_cusum = {**SUSTAINED, "spike": {**SUSTAINED["spike"], "sustained": 20}}
    alerts = run(with_cusum, stream)
    assert len(alerts) == 1
    assert alerts[0].at.day - T0.day == 4 and 10 <= alerts[0].at.hour < 18


def test_sustained_excess_stays_quiet_on_noise_alone() -> None:
    with_cusum = {**SUSTAINED, "spike": {**SUSTAINED["spike"], "sustained": 20}}
    assert run(with_cusum, noisy_stream(6, rise_day=4, rise=1.0)) == []
