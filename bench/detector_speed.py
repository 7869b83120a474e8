"""Detector core speed: signals per second on one core, filter expression included.

    .venv/bin/python bench/detector_speed.py [--signals 1000000] [--shipped-signals 100000]

Feeds mention dicts through a trigger with a filter expression, a threshold, a reach and a
negative-share rule, and compares with a naive detector that rescans its window on every signal
(measured in the same run on fewer signals, since it is slow). Reports peak RSS, sampled as the
stream goes, to show memory stays flat.

Then the cost ingestion pays: triaged mentions (the texts of `bench/ingest_speed.py`) through the
five shipped playbooks' triggers at once, in microseconds per signal, against the 100 us per
signal that the 10,000 signals/s ingestion target allows for everything.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ingest_speed import make_signals
from firebreak.detection.engine import DetectionEngine
from firebreak.detection.spec import Trigger
from firebreak.expressions import compile_expression

TRIGGER = Trigger.model_validate(
    {
        "signals": "${{ signal.label == 'negative' and signal.kind == 'complaint' }}",
        "threshold": {"count": 5000, "within": "15m"},
        "reach": {"total": 1e12, "within": "1h"},
        "negative_share": {"share": 0.99, "min_count": 30, "within": "30m"},
        "cooldown": "2h",
    }
)
START = datetime(2025, 1, 1, tzinfo=UTC)
LABELS = ("negative", "negative", "neutral", "positive")
KINDS = ("complaint", "complaint", "venting", "praise", "question")


def stream(count: int) -> Iterator[dict]:
    """Mentions 0.1 s apart; a few dicts reused so that building them is not what is measured."""
    templates = [
        {
            "type": "mention",
            "label": LABELS[i % 4],
            "kind": KINDS[i % 5],
            "author_reach": 100 + i,
            "value": 1.0,
            "brand": "acme",
        }
        for i in range(20)
    ]
    times = [START + timedelta(milliseconds=100 * i) for i in range(count)]
    for i, at in enumerate(times):
        signal = templates[i % 20]
        signal["created_at"] = at
        yield signal


def naive_count(signals: list[dict], within: timedelta, limit: float) -> int:
    """The baseline: keep the window's signals and re-sum them on every signal."""
    check = compile_expression("signal.label == 'negative' and signal.kind == 'complaint'")
    window: deque[dict] = deque()
    alerts = 0
    for signal in signals:
        if not check.evaluate({"signal": signal}):
            continue
        now = signal["created_at"]
        window.append(dict(signal))
        while window and window[0]["created_at"] <= now - within:
            window.popleft()
        count = sum(s["value"] for s in window)
        reach = sum(s["author_reach"] for s in window)
        negative = sum(s["value"] for s in window if s["label"] == "negative")
        if count >= limit and reach >= 0 and negative >= 0:
            alerts += 1
    return alerts


def shipped_triggers() -> dict[str, Trigger]:
    from firebreak.playbook.catalog import available
    from firebreak.playbook.loader import load_playbook

    playbooks = Path(__file__).resolve().parents[1] / "playbooks"
    loaded = (load_playbook(playbooks / f"{name}.yaml") for name in available(playbooks))
    return {pb.name: pb.trigger for pb in loaded if pb.trigger is not None}


def triaged(count: int) -> list[dict]:
    """Mentions as ingestion hands them to detection: parsed times, triage label and kind."""
    from firebreak.triage import Triager

    triager = Triager()
    rows = []
    for raw in make_signals(count):
        scored = triager.score(raw["text"], author=raw["author"], reach=raw["author_reach"])
        rows.append(
            {
                **raw,
                "created_at": datetime.fromisoformat(raw["created_at"]),
                "value": None,
                "sentiment": scored.sentiment,
                "label": scored.label,
                "kind": scored.kind,
                "priority": scored.priority,
            }
        )
    return rows


def shipped_us_per_signal(signals: list[dict]) -> tuple[float, int, int]:
    """Best of three fresh engines: (us per signal, alerts, detectors)."""
    best = float("inf")
    alerts: list = []
    triggers = shipped_triggers()
    for _ in range(3):
        engine = DetectionEngine(triggers)
        started = time.perf_counter()
        alerts = engine.feed(signals)
        best = min(best, time.perf_counter() - started)
    return best / len(signals) * 1e6, len(alerts), len(triggers)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--naive-signals", type=int, default=50_000)
    parser.add_argument("--shipped-signals", type=int, default=100_000)
    args = parser.parse_args()

    engine = DetectionEngine({"bench": TRIGGER})
    rss_marks = []
    elapsed = 0.0
    chunk = 100_000
    done = 0
    while done < args.signals:
        size = min(chunk, args.signals - done)
        signals = list(stream(size))
        for s in signals:  # continue the clock where the previous chunk stopped
            s["created_at"] += timedelta(milliseconds=100 * done)
        signals = [dict(s) for s in signals]
        started = time.perf_counter()
        engine.feed(signals)
        elapsed += time.perf_counter() - started
        done += size
        rss_marks.append(peak_rss_mb())
    rate = args.signals / elapsed

    naive_signals = [dict(s) for s in stream(args.naive_signals)]
    started = time.perf_counter()
    naive_count(naive_signals, timedelta(minutes=15), 5000)
    naive_rate = args.naive_signals / (time.perf_counter() - started)

    print(f"detector: {args.signals:,} signals in {elapsed:.2f} s = {rate:,.0f} signals/s")
    print(f"naive rescan-the-window: {naive_rate:,.0f} signals/s ({args.naive_signals:,} signals)")
    print(f"ratio detector / naive: {rate / naive_rate:.1f}x")
    print(
        "peak RSS (MB) after each 100k: "
        + ", ".join(f"{mark:.0f}" for mark in rss_marks[:3])
        + " ... "
        + ", ".join(f"{mark:.0f}" for mark in rss_marks[-3:])
    )
    if args.shipped_signals:
        us, alerts, detectors = shipped_us_per_signal(triaged(args.shipped_signals))
        print(
            f"{detectors} shipped triggers, {args.shipped_signals:,} triaged mentions: "
            f"{us:.2f} us/signal ({alerts} alerts), "
            f"{us / 100:.1%} of the 100 us/signal that 10,000 signals/s allows"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
