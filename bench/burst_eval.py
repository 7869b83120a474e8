"""Minute-scale complaint bursts injected into NAB's real Twitter series: caught, how fast, at what
false-alarm rate, for the default spike trigger and a plain EWMA z-score (k 8) in the same run.

    .venv/bin/python bench/burst_eval.py                  # tuning seeds 1 2 3
    .venv/bin/python bench/burst_eval.py --seeds 101 102 103   # held-out seeds

Data: the NAB realTweets series in `../shared/data/nab-realtweets` (the six shipped there; the
rest of NAB is left unread). Each seed adds 5 bursts to each series, 30 in all, away from the
labelled windows (at least `GAP` from each, from each other and from the series' ends):

- start: uniform over the allowed times; ramp 10-60 min (linear) to a peak of 2.5-6x the local
  level (the median of the 2 hours before the start); held 30 min-4 h; then an exponential decay
  with a time constant of 20-90 min, cut once it is under 2% of the peak excess.
- the excess is added to the real counts (rounded), so the series keeps its own noise.

Everything is drawn from `random.Random(f"{seed}:{series}")`: a seed gives the same bursts on
every machine. The injected series is written as a `timestamp,value` file and scored through
`firebreak detect --format volume`'s own path (`DryRun` + `file_alerts`).

Scores: a burst is caught when an alert falls between its start and the start of its decay;
delay is from its start to that first alert; a false alarm is an alert outside every burst
(start to end of decay) and every labelled window, counted per stream-day.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from nab_eval import DATA, Series, ewma_alerts, load  # noqa: E402

from firebreak.detection.defaults import DEFAULT_PLAYBOOK, DEFAULT_SPIKE_TRIGGER  # noqa: E402
from firebreak.detection.dryrun import DryRun, file_alerts  # noqa: E402
from firebreak.detection.spec import Trigger  # noqa: E402

TUNING_SEEDS = (1, 2, 3)
HELD_OUT_SEEDS = (101, 102, 103)
BURSTS_PER_SERIES = 5
GAP = timedelta(hours=36)  # from labelled windows, other bursts and the series' ends
WARMUP = timedelta(days=3)  # no burst before the baseline has seen this much
STEP = timedelta(minutes=5)


@dataclass(frozen=True)
class Burst:
    start: datetime
    ramp: timedelta
    hold: timedelta
    peak: float  # multiple of the local level at the top
    tau: timedelta  # decay time constant
    level: float  # local level (median of the 2 h before start)

    @property
    def decay_start(self) -> datetime:
        return self.start + self.ramp + self.hold

    @property
    def end(self) -> datetime:
        # exp(-t/tau) < 0.02 from t = 3.9 tau
        return self.decay_start + self.tau * 3.9

    def excess(self, at: datetime) -> float:
        """Mentions added at `at` (a fraction of the peak excess times the local level)."""
        if at < self.start or at > self.end:
            return 0.0
        top = (self.peak - 1.0) * self.level
        if at < self.start + self.ramp:
            return top * (at - self.start) / self.ramp
        if at <= self.decay_start:
            return top
        return top * 2.718281828 ** (-(at - self.decay_start) / self.tau)


def _free(at: datetime, span: timedelta, busy: list[tuple[datetime, datetime]]) -> bool:
    return all(at + span + GAP <= a or at >= b + GAP for a, b in busy)


def plan(series: Series, seed: int, count: int = BURSTS_PER_SERIES) -> list[Burst]:
    """`count` bursts for `series`, drawn from `seed` alone (same on every machine)."""
    rng = random.Random(f"{seed}:{series.name}")
    first, last = series.times[0] + WARMUP, series.times[-1] - GAP
    busy = list(series.windows)
    bursts: list[Burst] = []
    tries = 0
    while len(bursts) < count:
        tries += 1
        if tries > 10_000:
            raise RuntimeError(f"{series.name}: no room for {count} bursts")
        ramp = timedelta(minutes=rng.uniform(10, 60))
        hold = timedelta(minutes=rng.uniform(30, 240))
        tau = timedelta(minutes=rng.uniform(20, 90))
        peak = rng.uniform(2.5, 6.0)
        span_seconds = (last - first).total_seconds()
        start = first + timedelta(seconds=rng.uniform(0, span_seconds))
        span = ramp + hold + tau * 3.9
        if start + span > last or not _free(start, span, busy):
            continue
        before = [
            v
            for t, v in zip(series.times, series.values, strict=True)
            if start - 2 * STEP * 12 <= t < start
        ]
        level = statistics.median(before) if before else 1.0
        burst = Burst(start, ramp, hold, peak, tau, max(level, 1.0))
        bursts.append(burst)
        busy.append((burst.start, burst.end))
    return sorted(bursts, key=lambda b: b.start)


def inject(series: Series, bursts: Sequence[Burst]) -> list[float]:
    values = []
    for at, value in zip(series.times, series.values, strict=True):
        values.append(float(round(value + sum(b.excess(at) for b in bursts))))
    return values


def write_volume(path: Path, times: Sequence[datetime], values: Sequence[float]) -> Path:
    lines = ["timestamp,value"]
    lines += [f"{at:%Y-%m-%d %H:%M:%S},{value:g}" for at, value in zip(times, values, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def detect_alerts(path: Path, trigger: Trigger = DEFAULT_SPIKE_TRIGGER) -> list[datetime]:
    """`firebreak detect FILE --format volume` without the printing: the same dry run."""
    run = DryRun({DEFAULT_PLAYBOOK: trigger})
    columns = dict.fromkeys(("created_at", "text", "author", "author_reach", "source_id", "brand"))
    alerts = file_alerts(path, "volume", run, columns=columns, source=None, channel=None)
    return [alert.at for alert in alerts]


@dataclass
class Tally:
    caught: int = 0
    bursts: int = 0
    false_alarms: int = 0
    days: float = 0.0
    delays: list[float] | None = None  # minutes

    def add(self, series: Series, bursts: Sequence[Burst], alerts: Sequence[datetime]) -> None:
        self.delays = self.delays or []
        self.bursts += len(bursts)
        self.days += series.days
        for burst in bursts:
            inside = [at for at in alerts if burst.start <= at <= burst.decay_start]
            if inside:
                self.caught += 1
                self.delays.append((min(inside) - burst.start).total_seconds() / 60)
        spans = [(b.start, b.end) for b in bursts] + list(series.windows)
        self.false_alarms += sum(1 for at in alerts if not any(a <= at <= b for a, b in spans))

    def line(self) -> str:
        delay = f"{statistics.median(self.delays):.0f} min" if self.delays else "-"
        per_day = self.false_alarms / self.days if self.days else 0.0
        return (
            f"{self.caught}/{self.bursts} bursts caught before decay, median delay {delay}, "
            f"{per_day:.3f} false alarms per stream-day "
            f"({self.false_alarms} in {self.days:.0f} days)"
        )


def evaluate(
    data: Sequence[Series],
    seed: int,
    detectors: dict[str, Callable[[Path, Series, list[float]], list[datetime]]],
    workdir: Path,
) -> dict[str, Tally]:
    tallies = {name: Tally() for name in detectors}
    for series in data:
        bursts = plan(series, seed)
        values = inject(series, bursts)
        path = write_volume(workdir / f"{series.name}-{seed}.csv", series.times, values)
        for name, alerts_of in detectors.items():
            tallies[name].add(series, bursts, alerts_of(path, series, values))
    return tallies


def _ewma(path: Path, series: Series, values: list[float]) -> list[datetime]:
    injected = Series(series.name, series.times, values, series.windows)
    return ewma_alerts(injected, 8, cooldown=DEFAULT_SPIKE_TRIGGER.cooldown)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(TUNING_SEEDS))
    parser.add_argument("--no-ewma", action="store_true", help="skip the EWMA baseline")
    args = parser.parse_args(argv)
    if not (args.data / "windows.json").exists():
        print(f"NAB data not found at {args.data}: nothing to evaluate (skipped).")
        return 0
    data = load(args.data)
    detectors: dict[str, Callable[[Path, Series, list[float]], list[datetime]]] = {
        "default trigger": lambda path, series, values: detect_alerts(path)
    }
    if not args.no_ewma:
        detectors["EWMA z-score k=8"] = _ewma
    print(f"Data: {args.data} ({len(data)} series), seeds {args.seeds}")
    print(
        f"Default spike trigger: {DEFAULT_SPIKE_TRIGGER.model_dump(mode='json', exclude_none=True)}"
    )
    pooled = {name: Tally() for name in detectors}
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds:
            tallies = evaluate(data, seed, detectors, Path(tmp))
            for name, tally in tallies.items():
                print(f"seed {seed:<4} {name:18} {tally.line()}")
                total = pooled[name]
                total.caught += tally.caught
                total.bursts += tally.bursts
                total.false_alarms += tally.false_alarms
                total.days += tally.days
                total.delays = (total.delays or []) + (tally.delays or [])
    for name, tally in pooled.items():
        print(f"ALL      {name:18} {tally.line()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
