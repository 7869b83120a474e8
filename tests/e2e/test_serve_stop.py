"""`firebreak serve` stopped every way (Ctrl-C, SIGTERM, SIGKILL) with a playbook in flight:
no process of its outlives it, and the next start resumes the run to its end, nothing twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select

from firebreak import gates, incidents
from firebreak.settings import get_settings
from firebreak.store.db import engine_for
from firebreak.store.models import Effect

pytestmark = [pytest.mark.prefect, pytest.mark.faults]
FIREBREAK = Path(sys.executable).parent / "firebreak"
GATES = {"approve_statement", "exec_ack"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIREBREAK_TIME_SCALE": "60",  # the gates wait 30 real seconds: the stop comes first
        "FIREBREAK_RUN_SWEEP_SECONDS": "1",
        "FIREBREAK_RESUME_GRACE_SECONDS": "1",
        "FIREBREAK_INGEST_WORKER": "true",  # a child process of its own, to be counted too
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(FIREBREAK), "serve", "--port", str(free_port())],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its session id is its pid: its children are counted by it
        )


def left_in_session(sid: int) -> list[str]:
    """The live processes of session `sid` (zombies are not left running)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            found.append(f"{entry.name}: {(entry / 'cmdline').read_bytes()[:120]!r}")
    return found


def wait_for(what: str, check, process: subprocess.Popen[bytes], log: Path, limit: float = 150):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit
    while not check():
        assert process.poll() is None, f"serve exited:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} never happened:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


def waiting_at_both_gates(db) -> bool:  # type: ignore[no-untyped-def]
    with Session(db) as session:
        waiting = {g.step_id for g in gates.pending_gates(session, 1)}
        asked = set(session.exec(select(Effect.key).where(Effect.key.endswith(":ask"))))
    return waiting == GATES and asked == {f"1:{s}:ask" for s in GATES}


def stop(process: subprocess.Popen[bytes], how: signal.Signals) -> list[str]:
    """Stop `serve` with `how`; the processes of its session still alive a while later."""
    os.kill(process.pid, how)
    process.wait(timeout=120)
    deadline = time.monotonic() + 30  # children watch their parent every second
    while (left := left_in_session(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@pytest.mark.parametrize(
    "how", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name
)
def test_serve_stopped_leaves_nothing_behind_and_the_next_start_finishes_the_run(
    sandboxed, firebreak_home, how
):
    db = engine_for(get_settings().effective_database_url)
    with Session(db) as session:  # a launcher died before the run began: serve picks it up
        incidents.open_or_escalate(
            session, title="Storm", playbook="social-media-storm", scope="s", severity="sev1"
        )
        session.commit()
    log = firebreak_home / "serve.log"

    first = serve(log)
    try:
        wait_for("both gates asked", lambda: waiting_at_both_gates(db), first, log)
        assert stop(first, how) == []
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
    with Session(db) as session:
        kinds = [e.kind for e in incidents.timeline(session, 1)]
        assert "playbook.crashed" not in kinds and kinds.count("playbook.started") == 1
        # While nobody ran the playbook, comms approved and an executive acknowledged.
        for step, decision in (("approve_statement", "approve"), ("exec_ack", "acknowledge")):
            gates.decide(session, incident_id=1, step_id=step, decision=decision, by="cora")
            session.commit()

    def finished() -> bool:
        with Session(db) as session:
            return incidents.timeline(session, 1)[-1].kind == "playbook.succeeded"

    second = serve(log)
    try:
        wait_for("the resumed run's end", finished, second, log)
        assert stop(second, signal.SIGTERM) == []
    finally:
        if second.poll() is None:
            os.killpg(second.pid, signal.SIGKILL)

    with Session(db) as session:
        kinds = [e.kind for e in incidents.timeline(session, 1)]
    assert "playbook.crashed" not in kinds and "playbook.resumed" in kinds
    assert kinds.count("playbook.started") == 1 and "script.published" in kinds
    slack = sandboxed.requests("slack")
    assert sum(r.path.endswith("conversations.create") for r in slack) == 1
    posts = Counter(
        (r.body.get("channel"), r.body.get("text")) for r in slack if r.path.endswith("postMessage")
    )
    assert posts and max(posts.values()) == 1, posts
