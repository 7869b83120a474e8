"""The API's run sweeper: interrupted and never-started playbook runs are picked up while the
API runs, not only when it starts (a CLI killed mid-run, a launch that died before its start).

Claims are compare-and-set in the database (`firebreak.playbook.runs`), so several APIs sweeping
the same database start each run once.
"""

from __future__ import annotations

import logging
import threading

from firebreak.settings import Settings

log = logging.getLogger("firebreak.api")


def sweep_once(settings: Settings) -> None:
    """Resume interrupted runs and start orphaned ones, in background threads."""
    try:
        from flows.launcher import resume_interrupted

        for outcome in resume_interrupted(settings=settings):
            log.warning("incident %s: %s", outcome.incident_id, outcome.message)
    except Exception:  # the API goes on; the next sweep (or `firebreak incident resume`) retries
        log.exception("could not resume interrupted playbook runs")


class RunSweeper:
    """Sweeps at once, then every `settings.run_sweep_seconds`, until stopped."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="run-sweeper", daemon=True)

    def _loop(self) -> None:
        while True:
            sweep_once(self._settings)
            if self._stop.wait(self._settings.run_sweep_seconds):
                return

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)
