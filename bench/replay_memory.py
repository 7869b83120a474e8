"""Peak RSS of `firebreak replay` while a long mention stream goes through ingestion.

    .venv/bin/python bench/replay_memory.py [--signals 1000000]

Writes an NDJSON stream of N mentions to a temp file (generated lazily: varied authors, texts,
reach and brands, spread over several days so the detectors' windows roll, with a few viral
bursts so incidents open), then runs the real CLI in a subprocess as a user would:
`firebreak replay FILE --fast --no-launch` into a fresh SQLite home (FIREBREAK_HOME=tmpdir).
`--no-launch` keeps Prefect out: each new incident gets a `playbook.launch_pending` timeline
event instead of a flow run, so what is measured is ingestion alone.

While it runs, the child's VmRSS (/proc/<pid>/status) is sampled every 0.25 s together with
the number of signals stored so far (`max(signal.id)` read from the same SQLite file: rows are
inserted in stream order and none is a duplicate), which tells how far through the stream the
child is. Prints the RSS at 10/25/50/75/100% of the stream, the peak (VmHWM as last sampled and
the kernel's ru_maxrss from wait4), signals/s, and "flat" when the RSS at 100% is within 10%
(or 20 MB) of the RSS at 25%. The same is measured first for N/10 signals as the baseline.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest_speed import BODIES, ENDINGS, OPENINGS, _cpu_model  # noqa: E402

MARKS = (0.10, 0.25, 0.50, 0.75, 1.00)
SAMPLE_SECONDS = 0.25
START = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
BRANDS = ("acme", "acme", "acme", "globex", "initech")
SOURCES = ("twitter", "twitter", "instagram", "reddit", "facebook")
EXTRAS = ("", "", "", " flight {n}", " order #{n}", " since {n} min", " ref {n}")
# Each burst is what one shipped playbook's trigger is written for (checked against the triager).
BURSTS = (
    (
        "@acme charged twice and nobody answers, never flying with you again",
        "@acme worst service ever, lost my bag and no refund #fail",
    ),
    (
        "@acme booking site down again, so frustrating",
        "@acme site not working, still cannot book, this is a joke",
    ),
    ("@acme the charger burned my hand, this is unsafe",),
    ("@acme hey CEO, your staff was rude and useless",),
    ("@acme thanks to the crew, amazing service today!",),
)
# A trickle of the outage complaint outside bursts, so the outage spike has a baseline to beat.
OUTAGE_SHARE = 0.01
BURST_MINUTES = 20
REGULARS = 20_000  # the loyal (or angry) few who post often


def mentions(
    count: int, days: float, *, seed: int = 11, start: datetime = START, prefix: str = "m"
) -> Iterator[bytes]:
    """NDJSON lines in time order over `days`, with one burst per shipped trigger kind."""
    rng = random.Random(seed)
    burst_size = max(300, count // 200)
    bursts = len(BURSTS) if count >= 2 * len(BURSTS) * burst_size else 0
    normal = count - bursts * burst_size
    step = (days * 86_400 - bursts * BURST_MINUTES * 60) / max(normal, 1)
    starts = {(k + 1) * count // (bursts + 1): k for k in range(bursts)}
    strangers = 2 * count  # a long tail: most authors post once or twice
    t = 0.0
    burst: int | None = None
    burst_end = 0
    for i in range(count):
        if i in starts:
            burst, burst_end = starts[i], i + burst_size
        if burst is not None and i >= burst_end:
            burst = None
        if burst is not None:
            t += BURST_MINUTES * 60 / burst_size * rng.uniform(0.2, 1.8)
            text = rng.choice(BURSTS[burst])
            brand = "acme"
        else:
            t += step * rng.expovariate(1.0)
            if rng.random() < OUTAGE_SHARE:
                text = rng.choice(BURSTS[1])
            else:
                text = f"{rng.choice(OPENINGS)} {rng.choice(BODIES)}{rng.choice(ENDINGS)}"
            brand = rng.choice(BRANDS)
        extra = rng.choice(EXTRAS)
        if extra:
            text += extra.format(n=rng.randrange(10, 9_999))
        if rng.random() < 0.4:
            author = f"regular{int(rng.paretovariate(1.2)) % REGULARS}"
        else:
            author = f"user{rng.randrange(strangers)}"
        reach = min(int(rng.lognormvariate(5.0, 2.0)), 50_000_000)
        yield orjson.dumps(
            {
                "source": rng.choice(SOURCES),
                "source_id": f"{prefix}{i}",
                "author": author,
                "author_reach": reach,
                "text": text,
                "brand": brand,
                "language": "en",
                "created_at": (start + timedelta(seconds=t)).isoformat(),
            }
        )


def write_stream(path: Path, lines: Iterator[bytes]) -> None:
    with path.open("wb") as fh:
        for line in lines:
            fh.write(line)
            fh.write(b"\n")


@dataclass
class Run:
    signals: int
    seconds: float = 0.0
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (s, stored, rss kB)
    hwm_kb: int = 0
    maxrss_kb: int = 0
    returncode: int = 0
    output: str = ""

    def rss_at(self, fraction: float) -> tuple[int, int]:
        """(RSS kB, stored) at the first sample with `fraction` of the stream stored, else the
        last sample taken (the child may exit between the final flush and the next sample)."""
        wanted = math.ceil(fraction * self.signals)
        for _, stored, rss in self.samples:
            if stored >= wanted:
                return rss, stored
        _, stored, rss = self.samples[-1]
        return rss, stored

    @property
    def peak_kb(self) -> int:
        return max(self.hwm_kb, self.maxrss_kb)

    def flat(self) -> bool:
        quarter, _ = self.rss_at(0.25)
        full, _ = self.rss_at(1.0)
        return abs(full - quarter) <= max(0.10 * quarter, 20 * 1024)


def _status(pid: int) -> tuple[int, int] | None:
    """(VmRSS, VmHWM) in kB, or None once the process has exited."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    values = {}
    for line in text.splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line[:5]] = int(line.split()[1])
    if "VmRSS" not in values:
        return None  # a zombie has no memory left to report
    return values["VmRSS"], values["VmHWM"]


def _stored(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=0.1) as conn:
            row = conn.execute("SELECT max(id) FROM signal").fetchone()
    except sqlite3.Error:
        return 0  # not migrated yet, or busy: the next sample will tell
    return int(row[0] or 0)


def replay(stream: Path, signals: int, home: Path, already: int = 0) -> Run:
    env = {**os.environ, "FIREBREAK_HOME": str(home), "PYTHONPATH": str(ROOT), "COLUMNS": "100"}
    env.pop("FIREBREAK_DATABASE_URL", None)
    firebreak = Path(sys.executable).with_name("firebreak")
    cli = [str(firebreak)] if firebreak.exists() else [sys.executable, "-m", "cli.main"]
    cmd = [*cli, "replay", str(stream), "--fast", "--no-launch"]
    db = home / "firebreak.db"
    run = Run(signals)
    log = home / "replay.log"
    with log.open("wb") as out:
        began = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, env, file_actions=_redirect(out.fileno()))
        while True:
            done, status, usage = os.wait4(pid, os.WNOHANG)
            if done:
                break
            memory = _status(pid)
            if memory is not None:
                run.samples.append((time.perf_counter() - began, _stored(db), memory[0]))
                run.hwm_kb = max(run.hwm_kb, memory[1])
            time.sleep(SAMPLE_SECONDS)
        run.seconds = time.perf_counter() - began
    run.returncode = os.waitstatus_to_exitcode(status)
    run.maxrss_kb = usage.ru_maxrss
    run.output = log.read_text(errors="replace")
    if _stored(db) != already + signals or run.returncode != 0:
        raise SystemExit(
            f"replay of {signals:,} signals stored {_stored(db):,} (exit {run.returncode}):\n"
            + run.output[-3000:]
        )
    if not run.samples:
        raise SystemExit("the replay ended before the first RSS sample")
    return run


def _redirect(fd: int) -> list[tuple[int, int, int]]:
    return [(os.POSIX_SPAWN_DUP2, fd, 1), (os.POSIX_SPAWN_DUP2, fd, 2)]


def _incidents(home: Path) -> int:
    with sqlite3.connect(home / "firebreak.db") as conn:
        return int(conn.execute("SELECT count(*) FROM incident").fetchone()[0])


def measure(signals: int, days: float, restart: int) -> tuple[Run, int, Run | None]:
    """The stream into a fresh home; then, if `restart`, that many more signals into the same
    home: a restarted process first restores detection and author history from the store."""
    with tempfile.TemporaryDirectory(prefix="firebreak-replay-mem-") as tmp:
        home = Path(tmp)
        stream = home / "mentions.ndjson"
        write_stream(stream, mentions(signals, days))
        run = replay(stream, signals, home)
        incidents = _incidents(home)
        if not restart:
            return run, incidents, None
        later = START + timedelta(days=days, hours=1)
        more = home / "more.ndjson"
        write_stream(more, mentions(restart, 0.1, seed=5, start=later, prefix="r"))
        return run, incidents, replay(more, restart, home, already=signals)


def report(run: Run, incidents: int) -> None:
    mb = 1024
    marks = []
    for fraction in MARKS:
        rss, stored = run.rss_at(fraction)
        marks.append(f"{fraction:.0%} {rss / mb:.0f} MB")
        if stored < math.ceil(fraction * run.signals):
            marks[-1] += f" (last sample, {stored:,} stored)"
    # The rate once the child is ingesting: from the first sample with rows to the last one.
    busy = [(s, n) for s, n, _ in run.samples if n > 0]
    steady = (busy[-1][1] - busy[0][1]) / (busy[-1][0] - busy[0][0]) if len(busy) > 1 else 0.0
    print(
        f"{run.signals:,} signals: {run.seconds:.1f} s wall = {run.signals / run.seconds:,.0f} "
        f"signals/s (while ingesting: {steady:,.0f}/s), {incidents} incident(s) opened, "
        f"{len(run.samples)} samples"
    )
    print("  RSS at " + ", ".join(marks))
    print(
        f"  peak {run.peak_kb / mb:.0f} MB (VmHWM last sampled {run.hwm_kb / mb:.0f} MB, "
        f"ru_maxrss {run.maxrss_kb / mb:.0f} MB); "
        f"verdict: {'flat' if run.flat() else 'NOT flat'} (100% vs 25%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--signals", type=int, default=1_000_000)
    parser.add_argument("--days", type=float, default=6.0, help="Time span of the stream.")
    parser.add_argument(
        "--restart",
        type=int,
        default=10_000,
        help="Then replay this many more into the same home (0: skip): the restore's cost.",
    )
    args = parser.parse_args()
    if args.signals < 10_000:
        parser.error("--signals: at least 10,000 (the baseline runs a tenth of it)")

    print(f"machine: {os.cpu_count()} CPUs, {_cpu_model()}")
    print(f"firebreak replay FILE --fast --no-launch, {args.days:g} days of mentions")
    base, base_incidents, _ = measure(args.signals // 10, args.days, 0)
    report(base, base_incidents)
    full, full_incidents, restarted = measure(args.signals, args.days, args.restart)
    report(full, full_incidents)
    print(
        f"ratio peak({args.signals:,}) / peak({args.signals // 10:,}): "
        f"{full.peak_kb / base.peak_kb:.2f}"
    )

    if restarted is not None:
        print(
            f"restart: {restarted.signals:,} more into the same home (restore first): "
            f"{restarted.seconds:.1f} s wall, peak {restarted.peak_kb / 1024:.0f} MB "
            f"(+{(restarted.peak_kb - full.peak_kb) / 1024:.0f} MB over the stream's peak)"
        )


if __name__ == "__main__":
    main()
