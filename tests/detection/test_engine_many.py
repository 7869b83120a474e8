"""Several triggers fed together (as ingestion does, one shared context per signal) raise exactly
the alerts each raises on its own, and count the signals they cannot read."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from firebreak.detection.engine import DetectionEngine
from firebreak.detection.spec import Trigger
from firebreak.playbook.catalog import available
from firebreak.playbook.loader import load_playbook

T0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
TEXTS = [
    "the app is DOWN again",
    "not working since this morning",
    "our CEO should answer",
    "@ceo this is unsafe, my kid got a burn",
    "injured by the seat",
    "great crew, thanks",
    "where is my bag?",
]


def shipped() -> dict[str, Trigger]:
    loaded = (load_playbook(PLAYBOOKS / f"{name}.yaml") for name in available(PLAYBOOKS))
    return {pb.name: pb.trigger for pb in loaded if pb.trigger is not None}


def stream(count: int, seed: int = 3) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    signals = []
    for i in range(count):
        signal: dict[str, Any] = {
            "created_at": T0 + timedelta(seconds=i),
            "value": None,
            "author_reach": rng.choice((10, 5_000, 400_000)),
            "label": rng.choice(("negative", "negative", "neutral", "positive")),
            "kind": rng.choice(("complaint", "venting", "praise", "question")),
            "text": rng.choice(TEXTS),
        }
        if rng.random() < 0.9:
            signal["brand"] = rng.choice(("acme", "Acme", "acme", "globex"))
        signals.append(signal)
    return signals


def summary(alerts: list) -> list[tuple]:
    return [(a.playbook, a.scope, a.at, a.severity, a.rule, a.value) for a in alerts]


def test_shipped_triggers_together_raise_what_each_raises_alone() -> None:
    triggers = shipped()
    assert len(triggers) >= 5
    signals = stream(6000)
    together = summary(DetectionEngine(triggers).feed(signals))
    alone = [
        alert
        for name, trigger in triggers.items()
        for alert in summary(DetectionEngine({name: trigger}).feed(signals))
    ]
    assert sorted(together, key=str) == sorted(alone, key=str)
    assert {playbook for playbook, *_ in together} >= {
        "executive-callout",
        "product-safety",
        "social-media-storm",
    }


def test_one_signal_at_a_time_equals_the_batch() -> None:
    signals = stream(3000, seed=9)
    batch = DetectionEngine(shipped())
    single = DetectionEngine(shipped())
    one_by_one = [alert for signal in signals for alert in single.observe(signal)]
    assert summary(one_by_one) == summary(batch.feed(signals))
    assert one_by_one


def test_unreadable_signals_are_counted_per_trigger_and_do_not_stop_the_others() -> None:
    two = {"count": 2, "within": "1h"}
    triggers = {
        "filtered": Trigger.model_validate(
            {"signals": "${{ signal.kind == 'complaint' }}", "threshold": two}
        ),
        "scoped": Trigger.model_validate({"scope": "${{ signal.brand }}", "threshold": two}),
        "all": Trigger.model_validate({"threshold": two}),
    }
    engine = DetectionEngine(triggers)
    volume = [{"created_at": T0 + timedelta(seconds=i), "value": 1.0} for i in range(3)]
    alerts = engine.feed(volume)
    assert [a.playbook for a in alerts] == ["all"]
    unmatched = {d.playbook: d.unmatched for d in engine.detectors}
    assert unmatched == {"filtered": 3, "scoped": 3, "all": 0}


def test_detectors_leave_the_signal_as_they_found_it() -> None:
    signals = stream(500)
    before = [dict(s) for s in signals]
    DetectionEngine(shipped()).feed(signals)
    assert signals == before
