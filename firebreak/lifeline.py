"""Child processes that end with their parent, however the parent ends (even SIGKILL).

A child polls its parent's pid: once the parent is gone (the child is re-parented), it stops.
Polling, not `prctl(PR_SET_PDEATHSIG)`: that signal fires when the *thread* that started the
child exits, and our children are started from short-lived threads (a playbook run, a request).

`python -m firebreak.lifeline PPID -m MODULE ARGS...` runs MODULE as `python -m` would, watched.
"""

from __future__ import annotations

import contextlib
import logging
import os
import runpy
import signal
import sys
import threading
import time

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0
# After SIGTERM to itself, a child that has not exited this long after is ended at once.
STOP_SECONDS = 5.0


def _stop_self() -> None:
    # SIGTERM first: a server shuts down cleanly (its database closed); then for good.
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(STOP_SECONDS)
    os._exit(0)


def watch_parent(parent_pid: int | None = None, *, poll: float = POLL_SECONDS) -> None:
    """Stop this process when `parent_pid` (default: the current parent) is gone."""
    parent = parent_pid or os.getppid()

    def loop() -> None:
        while True:
            time.sleep(poll)
            if os.getppid() != parent:
                _stop_self()
                return

    threading.Thread(target=loop, name="lifeline", daemon=True).start()


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "-m":
        raise SystemExit("usage: python -m firebreak.lifeline PPID -m MODULE [ARGS...]")
    watch_parent(int(argv[0]))
    module = argv[2]
    sys.argv = [module, *argv[3:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main(sys.argv[1:])
