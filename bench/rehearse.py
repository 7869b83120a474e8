"""How fast a rehearsal runs: virtual playbook time covered per wall-clock second.

    .venv/bin/python bench/rehearse.py

Baseline in the same run: the same scenarios' virtual span, i.e. what a real-time run would take.
"""

from __future__ import annotations

import time
from pathlib import Path

from firebreak.playbook.rehearse import rehearse

PLAYBOOKS = Path(__file__).resolve().parent.parent / "playbooks"


def main() -> None:
    for name in ("social-media-storm", "service-outage", "product-safety", "positive-wave"):
        started = time.perf_counter()
        reports = rehearse(PLAYBOOKS / f"{name}.yaml")
        wall = time.perf_counter() - started
        virtual = sum(
            (r.timeline[-1].at - r.started).total_seconds() for r in reports if r.timeline
        )
        print(
            f"{name:<20} {len(reports)} scenarios  wall {wall * 1000:7.1f} ms  "
            f"virtual {virtual / 60:7.1f} min  ratio {virtual / wall:,.0f}x real time"
        )


if __name__ == "__main__":
    main()
