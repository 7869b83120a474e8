"""Fault storms per service, injected at the wire by the sandbox: social-media-storm runs through
the real Slack, Jira and PagerDuty clients on the playbook's virtual clock (minutes of waiting cost
milliseconds). Each storm: the playbook finishes, the public response is not held up by Jira or
PagerDuty, and nothing is done twice (sandbox recordings and the timeline)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from firebreak.actions.templates import TemplateRenderer
from firebreak.playbook.engine import Engine, RunResult
from firebreak.playbook.loader import load_playbook
from firebreak.playbook.runtime import (
    InMemoryRuntime,
    MemoryIncident,
    ScriptedAnswer,
    VirtualClock,
)
from firebreak.roles import DEFAULT_ROLES_FILE, RoleBindings
from firebreak.settings import Settings
from integrations.factory import build_integrations
from integrations.policy import RetryPolicy
from integrations.sandbox import Sandbox

pytestmark = pytest.mark.faults

PLAYBOOKS = Path(__file__).resolve().parents[2] / "playbooks"
# The adapters retry once, briefly; every longer wait is the engine's, on the virtual clock.
QUICK = RetryPolicy(retries=1, max_delay=0.05, timeout=3.0)
ANSWERS = {
    "approve_statement": ScriptedAnswer("approved", after=300, by="dana"),
    "exec_ack": ScriptedAnswer("acknowledged", after=180, by="sam"),
}
ANNOUNCE = "Use this statement, word for word"
TARGETS = {
    "slack": "POST /api/chat.postMessage",
    "jira": "POST /rest/api/2/issue$",
    "pagerduty": "POST /v2/enqueue",
}


def _prepare(settings: Settings | None = None) -> tuple[Engine, InMemoryRuntime]:
    playbook = load_playbook(PLAYBOOKS / "social-media-storm.yaml")
    clock = VirtualClock()
    runtime = InMemoryRuntime(
        build_integrations(settings or Settings(), policy=QUICK),
        RoleBindings.load(DEFAULT_ROLES_FILE),
        clock=clock,
        incident=MemoryIncident(
            id=7, title="Storm", severity="sev1", playbook=playbook.name, opened_at=clock.now()
        ),
        answers=dict(ANSWERS),
    )
    engine = Engine(playbook, runtime, templates=TemplateRenderer(PLAYBOOKS / "templates"))
    return engine, runtime


def _run(settings: Settings | None = None) -> tuple[RunResult, InMemoryRuntime]:
    engine, runtime = _prepare(settings)
    return engine.run(), runtime


def _nothing_twice(sb: Sandbox) -> None:
    texts = Counter(m["text"] for m in sb.state("slack")["messages"])
    assert [t for t, n in texts.items() if n > 1] == []
    issues = sb.state("jira")["issues"]
    summaries = Counter(str(i.get("summary") or i.get("fields", {}).get("summary")) for i in issues)
    assert len(issues) == 5 and max(summaries.values()) == 1  # the epic and four tasks
    pages = sb.state("pagerduty")["pages"]
    assert len(pages) == 1


def _finished(result: RunResult, runtime: InMemoryRuntime) -> None:
    assert result.status == "succeeded", runtime.timeline
    for step in ("announce_statement", "publish_script", "followups", "page_execs", "brief"):
        assert result.steps[step].status == "succeeded", step
    assert "step.failed" not in [e.kind for e in runtime.timeline]


STORMS: dict[str, dict[str, Any]] = {
    # 429 with Retry-After 30 s, twelve tries in a row: six minutes of rate limiting.
    "429": {"status": 429, "retry_after": 30, "tries": 12},
    # Bursts of 5xx without Retry-After, ten tries: the per-service back-off, about seven minutes.
    "500": {"status": 500, "retry_after": None, "tries": 10},
    "503": {"status": 503, "retry_after": None, "tries": 10},
}
# Requests the client itself makes per try (QUICK retries once where the client retries that
# status), so a storm of `tries` engine attempts is this many faulty answers.
PER_TRY = {
    # Retry-After beyond the adapter's cap: straight to the engine, no early retry.
    ("slack", "429"): 1,
    ("jira", "429"): 1,
    ("jira", "500"): 1,
}


@pytest.mark.parametrize("kind", sorted(STORMS))
@pytest.mark.parametrize("service", ["slack", "jira", "pagerduty"])
def test_a_storm_is_waited_out_and_the_public_response_goes_out_once(
    sandboxed: Sandbox, service: str, kind: str
) -> None:
    storm = dict(STORMS[kind])
    tries = storm.pop("tries")
    times = tries * PER_TRY.get((service, kind), 2)
    # Slack's storm hits every method; the others' the requests that create things.
    sandboxed.fail(service, TARGETS[service] if service != "slack" else "", times=times, **storm)

    result, runtime = _run()

    _finished(result, runtime)
    _nothing_twice(sandboxed)
    recorded = sandboxed.requests()
    faulted = [i for i, r in enumerate(recorded) if r.service == service and r.fault]
    assert len(faulted) == times
    assert "step.retrying" in [e.kind for e in runtime.timeline]
    if service != "slack":
        # The statement went out while Jira or PagerDuty was still failing.
        announce = next(
            i for i, r in enumerate(recorded) if r.service == "slack" and ANNOUNCE in str(r.body)
        )
        assert announce < faulted[-1]


@pytest.mark.parametrize("service", ["slack", "jira", "pagerduty"])
def test_stalls_delay_but_nothing_is_done_twice(sandboxed: Sandbox, service: str) -> None:
    # Slower than usual, within the client's timeout: answers arrive late, nothing is repeated.
    sandboxed.slow(service, "", seconds=0.5, times=6)
    result, runtime = _run()
    _finished(result, runtime)
    _nothing_twice(sandboxed)
    requests = sandboxed.requests(service)
    assert [r.fault for r in requests[:6]] == ["slow 0.5s"] * min(6, len(requests))


def test_a_jira_refusal_is_said_once_and_the_public_response_still_goes_out(
    sandboxed: Sandbox,
) -> None:
    # The epic is filed; Jira then refuses the tasks (a 400 is not retried).
    sandboxed.fail("jira", TARGETS["jira"], status=400, retry_after=None, times=None, after=1)
    result, runtime = _run()
    assert result.status == "failed" and result.failed_step == "followups"
    assert result.steps["announce_statement"].status == "succeeded"
    assert result.steps["publish_script"].status == "succeeded"
    assert result.steps["chase"].status == "skipped"
    failed = [e for e in runtime.timeline if e.kind == "step.failed"]
    assert len(failed) == 1 and "HTTP 400" in failed[0].summary
    assert len([r for r in sandboxed.requests("jira") if r.fault]) == 1  # not retried


class _LateProxy:
    """A TCP port that refuses connections until `open()`, then forwards to `target`."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._server: socket.socket | None = None

    def open(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self._server = server
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        if self._server is not None:
            self._server.close()


def test_refused_connections_to_jira_are_waited_out(
    sandboxed: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    jira = sandboxed.url("jira").removeprefix("http://").split(":")
    proxy = _LateProxy((jira[0], int(jira[1])))
    monkeypatch.setenv("FIREBREAK_JIRA_URL", f"http://127.0.0.1:{proxy.port}")
    engine, runtime = _prepare(Settings())
    clock = runtime.clock
    assert isinstance(clock, VirtualClock)
    refused: list[str] = []

    # Jira comes back once the engine has been refused three times. The watcher takes part in
    # the virtual clock (time moves on only while it sleeps), so this happens at the same point
    # of every run.
    def watch() -> None:
        try:
            while len(refused) < 3:
                clock.sleep(1.0)
                refused[:] = [
                    e.summary
                    for e in runtime.timeline
                    if e.kind == "step.retrying" and "connection refused" in e.summary
                ]
            proxy.open()
        finally:
            clock.leave()

    clock.join()
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        result = engine.run()
    finally:
        watcher.join(timeout=5)
        proxy.close()
    _finished(result, runtime)
    _nothing_twice(sandboxed)
    assert len(refused) >= 3
