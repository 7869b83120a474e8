"""Spike detection quality on NAB's real Twitter volume series, against a plain EWMA z-score.

    .venv/bin/python bench/nab_eval.py
    .venv/bin/python bench/nab_eval.py --data /tmp/nab-heldout

`--data` points at any folder laid out like the default one (`../shared/data/nab-realtweets`):
`Twitter_volume_*.csv` files (timestamp,value) and a `windows.json` mapping each file name to its
labelled windows. For each series: windows hit (an alert inside a labelled window), false alarms
(alerts outside every window) per stream-day, and the median delay from window start to first
alert. The detector runs with the default spike trigger (`firebreak.detection.defaults`), one
setting for all series. The EWMA z-score baseline is measured in the same run, swept over its
threshold.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firebreak.detection.defaults import DEFAULT_SPIKE_TRIGGER  # noqa: E402
from firebreak.detection.engine import DetectionEngine  # noqa: E402
from firebreak.detection.spec import Trigger  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "nab-realtweets"


@dataclass(frozen=True)
class Series:
    name: str
    times: list[datetime]
    values: list[float]
    windows: list[tuple[datetime, datetime]]

    @property
    def days(self) -> float:
        return (self.times[-1] - self.times[0]).total_seconds() / 86400


@dataclass(frozen=True)
class Score:
    hits: int
    windows: int
    false_alarms: int
    days: float
    delays: list[float]  # hours from window start to the first alert inside it

    @property
    def false_per_day(self) -> float:
        return self.false_alarms / self.days if self.days else 0.0


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def load(folder: Path = DATA) -> list[Series]:
    windows = json.loads((folder / "windows.json").read_text())
    series = []
    for path in sorted(folder.glob("*.csv")):
        with path.open(newline="") as fh:
            rows = list(csv.DictReader(fh))
        series.append(
            Series(
                name=path.stem.removeprefix("Twitter_volume_"),
                times=[_utc(row["timestamp"]) for row in rows],
                values=[float(row["value"]) for row in rows],
                windows=[(_utc(a), _utc(b)) for a, b in windows.get(path.name, [])],
            )
        )
    return series


def score(series: Series, alerts: Sequence[datetime]) -> Score:
    hits, false_alarms, delays = 0, 0, []
    for start, end in series.windows:
        inside = [at for at in alerts if start <= at <= end]
        if inside:
            hits += 1
            delays.append((min(inside) - start).total_seconds() / 3600)
    for at in alerts:
        if not any(start <= at <= end for start, end in series.windows):
            false_alarms += 1
    return Score(hits, len(series.windows), false_alarms, series.days, delays)


def detector_alerts(series: Series, trigger: Trigger = DEFAULT_SPIKE_TRIGGER) -> list[datetime]:
    engine = DetectionEngine({"nab": trigger})
    signals = (
        {"type": "volume", "created_at": at, "value": value}
        for at, value in zip(series.times, series.values, strict=True)
    )
    return [alert.at for alert in engine.feed(signals)]


def ewma_alerts(
    series: Series, k: float, alpha: float = 0.05, cooldown: timedelta = timedelta(hours=6)
) -> list[datetime]:
    """The plain baseline: z-score of each raw count against an EWMA mean and variance."""
    mean, var, alerts = series.values[0], 0.0, []
    last: datetime | None = None
    for n, (at, value) in enumerate(zip(series.times, series.values, strict=True)):
        std = var**0.5
        quiet = last is not None and at - last < cooldown
        if n > 288 and std > 0 and (value - mean) / std > k and not quiet:
            alerts.append(at)
            last = at
        diff = value - mean
        mean += alpha * diff
        var = (1 - alpha) * (var + alpha * diff * diff)
    return alerts


def total(scores: Sequence[Score]) -> tuple[int, int, float, float | None]:
    hits = sum(s.hits for s in scores)
    windows = sum(s.windows for s in scores)
    per_day = sum(s.false_alarms for s in scores) / sum(s.days for s in scores)
    delays = [d for s in scores for d in s.delays]
    return hits, windows, per_day, statistics.median(delays) if delays else None


def run(alerts_of: Callable[[Series], list[datetime]], data: list[Series]) -> list[Score]:
    return [score(series, alerts_of(series)) for series in data]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data",
        type=Path,
        default=DATA,
        help=f"folder with Twitter_volume_*.csv and windows.json (default: {DATA})",
    )
    folder: Path = parser.parse_args(argv).data
    if not (folder / "windows.json").exists():
        print(f"NAB data not found at {folder}: nothing to evaluate (skipped).")
        return 0
    data = load(folder)
    if not data:
        print(f"No Twitter_volume_*.csv files in {folder}: nothing to evaluate (skipped).")
        return 0
    trigger = DEFAULT_SPIKE_TRIGGER
    print(f"Data: {folder} ({len(data)} series)")
    print(f"Default spike trigger: {trigger.model_dump(mode='json', exclude_none=True)}")
    print(f"{'series':8} {'hits':>6} {'false':>6} {'false/day':>10} {'median delay h':>15}")
    scores = run(lambda s: detector_alerts(s, trigger), data)
    for series, s in zip(data, scores, strict=True):
        delay = f"{statistics.median(s.delays):.1f}" if s.delays else "-"
        print(
            f"{series.name:8} {s.hits:>3}/{s.windows:<2} {s.false_alarms:>6} "
            f"{s.false_per_day:>10.3f} {delay:>15}"
        )
    hits, windows, per_day, delay = total(scores)
    delay_text = f"{delay:.1f} h" if delay is not None else "-"
    print(
        f"DETECTOR: {hits}/{windows} windows at {per_day:.3f} false alarms per stream-day, "
        f"median delay {delay_text}"
    )
    cooldown = trigger.cooldown
    hours = cooldown.total_seconds() / 3600
    print(f"\nEWMA z-score on raw counts (alpha 0.05, same {hours:g} h cooldown), swept over k:")
    beaten_by = []
    for k in (2.5, 3, 3.5, 4, 5, 6, 8, 10, 12, 15):
        e_scores = run(lambda s, k=k: ewma_alerts(s, k, cooldown=cooldown), data)
        e_hits, _, e_per_day, e_delay = total(e_scores)
        e_delay_text = f"{e_delay:.1f} h" if e_delay is not None else "-"
        print(
            f"  k={k:<5} {e_hits:>2}/{windows} windows at {e_per_day:.3f} false/day, "
            f"median delay {e_delay_text}"
        )
        if hits >= e_hits and per_day <= e_per_day:
            beaten_by.append(k)
    dominated = len(beaten_by)
    print(f"The detector is at least as good on both axes as {dominated} of 10 EWMA settings.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
