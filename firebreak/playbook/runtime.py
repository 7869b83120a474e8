"""What a playbook run needs around it, as one protocol, and an in-memory implementation.

The flow (`flows/`) provides a database-backed runtime with a real clock; rehearsal and tests use
`InMemoryRuntime` with a `VirtualClock`, so a 30-minute escalation ladder runs in milliseconds.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from firebreak.ports import Integrations
from firebreak.roles import RoleBindings


class Clock(Protocol):
    def now(self) -> datetime: ...
    def sleep(self, seconds: float) -> None: ...

    @property
    def poll_interval(self) -> float:
        """Seconds between two looks at a waiting gate, in the clock's own time."""
        ...


@dataclass(frozen=True)
class Decision:
    """A person's answer to a gate."""

    outcome: str  # approved | rejected | acknowledged
    by: str
    comment: str | None = None


@dataclass
class TimelineEntry:
    at: datetime
    kind: str
    summary: str
    data: dict[str, Any]
    actor: str


@dataclass
class StepRecord:
    step_id: str
    action: str
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 0


@runtime_checkable
class IncidentView(Protocol):
    id: int
    title: str
    severity: str
    scope: str
    playbook: str
    opened_at: datetime
    inputs: dict[str, Any]

    def set_severity(self, severity: str) -> None: ...
    def resolve(self, reason: str) -> None: ...


class Runtime(Protocol):
    integrations: Integrations
    roles: RoleBindings
    clock: Clock
    incident: IncidentView

    def record(
        self, kind: str, summary: str, data: dict[str, Any] | None = None, actor: str = "firebreak"
    ) -> None: ...

    def step_started(self, step_id: str, action: str) -> None: ...

    def step_finished(
        self,
        step_id: str,
        action: str,
        status: str,
        outputs: dict[str, Any] | None = None,
        error: str | None = None,
        attempts: int = 1,
    ) -> None: ...

    def effect(
        self,
        key: str,
        fn: Callable[[], dict[str, Any]],
        find: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Run `fn` once for `key`; later calls return the stored result without running it.

        The intent is stored before `fn` runs. Found without a result (the process died during
        the call), the effect may have happened: `find` asks the service, and what it finds is
        adopted instead of doing the effect a second time.
        """
        ...

    def open_gate(
        self,
        step_id: str,
        kind: str,
        audience: str | None,
        subject: dict[str, Any],
        due_at: datetime | None,
    ) -> int: ...

    def poll_gate(self, gate_id: int) -> Decision | None: ...

    def gate_due(self, gate_id: int) -> datetime | None:
        """When the gate falls due, as stored when it was first opened (a resumed step keeps
        its original deadline and ladder, rather than starting them again)."""
        ...

    def close_gate(self, gate_id: int, status: str) -> None: ...


# Set on a graceful shutdown: a run that next waits on the wall clock (a gate, a timer, a retry's
# back-off) parks there instead, so it starts nothing more and stays resumable by the next process.
_stopping = threading.Event()


def stop_waiting() -> None:
    """From now on, every wait on a `SystemClock` parks until the process exits."""
    _stopping.set()


def resume_waiting() -> None:
    """Waits started from now on run normally again (runs already parked stay parked)."""
    _stopping.clear()


def stopping() -> bool:
    return _stopping.is_set()


class SystemClock:
    """Wall time, optionally scaled (`time_scale=60`: a playbook minute lasts one second)."""

    def __init__(self, time_scale: float = 1.0, poll_interval: float = 5.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        self._scale = time_scale
        self._start_real = datetime.now(UTC)
        self.poll_interval = poll_interval

    def now(self) -> datetime:
        elapsed = datetime.now(UTC) - self._start_real
        return self._start_real + elapsed * self._scale

    def sleep(self, seconds: float) -> None:
        if _stopping.wait(max(0.0, seconds) / self._scale):
            threading.Event().wait()  # parked: the process is shutting down


class VirtualClock:
    """Time that only moves when every sleeper agrees: the earliest wake-up jumps the clock.

    Concurrent steps each sleep on it. Once every participant (a thread running a step) is asleep,
    the sleeper with the earliest wake time advances `now` to it and returns; the others wait until
    the clock reaches theirs. No real time passes, so ladders and timeouts rehearse in
    milliseconds, and in the same order every time.
    """

    def __init__(self, start: datetime | None = None, poll_interval: float = 30.0) -> None:
        self._now = start or datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
        self.poll_interval = poll_interval
        self._cond = threading.Condition()
        self._sleepers: list[tuple[datetime, int]] = []
        self._seq = itertools.count()
        self._active = 0  # threads doing a step's work; time waits until all of them sleep

    def now(self) -> datetime:
        with self._cond:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._cond:
            self._now += timedelta(seconds=seconds)
            self._cond.notify_all()

    def join(self) -> None:
        """A thread is about to do a step's work: time must not jump past it meanwhile."""
        with self._cond:
            self._active += 1

    def leave(self) -> None:
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    @contextmanager
    def idle(self) -> Iterator[None]:
        """A participant that only watches another thread's work stops holding time back."""
        with self._cond:
            self._active -= 1
            self._cond.notify_all()
        try:
            yield
        finally:
            with self._cond:
                self._active += 1

    def sleep(self, seconds: float) -> None:
        with self._cond:
            entry = (self._now + timedelta(seconds=max(0.0, seconds)), next(self._seq))
            heapq.heappush(self._sleepers, entry)
            self._cond.notify_all()  # one more asleep: the earliest may now move the clock
            while True:
                if self._now >= entry[0]:
                    break
                if self._sleepers[0] == entry and len(self._sleepers) >= self._active:
                    self._now = entry[0]
                    break
                self._cond.wait(timeout=0.05)
            self._sleepers.remove(entry)
            heapq.heapify(self._sleepers)
            self._cond.notify_all()


@dataclass
class MemoryIncident:
    id: int = 1
    title: str = "Rehearsal incident"
    severity: str = "sev2"
    scope: str = "rehearsal"
    playbook: str = ""
    opened_at: datetime = field(default_factory=lambda: datetime(2026, 1, 15, 9, 0, tzinfo=UTC))
    inputs: dict[str, Any] = field(default_factory=dict)
    status: str = "open"
    resolution: str | None = None

    def set_severity(self, severity: str) -> None:
        self.severity = severity

    def resolve(self, reason: str) -> None:
        self.status = "resolved"
        self.resolution = reason


@dataclass(frozen=True)
class ScriptedAnswer:
    """A person's scripted answer to a gate: `outcome` after `after` seconds (None: never)."""

    outcome: str | None  # approved | rejected | acknowledged | None (never answers)
    after: float = 0.0
    by: str = "rehearsal"
    comment: str | None = None


@dataclass
class MemoryGate:
    id: int
    step_id: str
    kind: str
    audience: str | None
    subject: dict[str, Any]
    opened_at: datetime
    due_at: datetime | None
    status: str = "pending"
    decision: Decision | None = None


class InMemoryRuntime:
    """A complete runtime in memory: timeline, step runs, effects and gates in plain containers."""

    def __init__(
        self,
        integrations: Integrations,
        roles: RoleBindings,
        *,
        clock: Clock | None = None,
        incident: MemoryIncident | None = None,
        answers: dict[str, ScriptedAnswer] | None = None,
    ) -> None:
        self.integrations = integrations
        self.roles = roles
        self.clock: Clock = clock or VirtualClock()
        self.incident = incident or MemoryIncident(opened_at=self.clock.now())
        self.answers = dict(answers or {})
        self.timeline: list[TimelineEntry] = []
        self.steps: dict[str, StepRecord] = {}
        self.effects: dict[str, dict[str, Any]] = {}
        self.effect_calls: dict[str, int] = {}
        self.intents: set[str] = set()  # effects whose call started
        self.gates: dict[int, MemoryGate] = {}
        self._lock = threading.RLock()
        self._gate_ids = itertools.count(1)

    def record(
        self, kind: str, summary: str, data: dict[str, Any] | None = None, actor: str = "firebreak"
    ) -> None:
        with self._lock:
            self.timeline.append(
                TimelineEntry(self.clock.now(), kind, summary, dict(data or {}), actor)
            )

    def step_started(self, step_id: str, action: str) -> None:
        with self._lock:
            self.steps[step_id] = StepRecord(step_id, action, "running")

    def step_finished(
        self,
        step_id: str,
        action: str,
        status: str,
        outputs: dict[str, Any] | None = None,
        error: str | None = None,
        attempts: int = 1,
    ) -> None:
        with self._lock:
            self.steps[step_id] = StepRecord(
                step_id, action, status, dict(outputs or {}), error, attempts
            )

    def effect(
        self,
        key: str,
        fn: Callable[[], dict[str, Any]],
        find: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        with self._lock:
            if key in self.effects:
                return dict(self.effects[key])
            interrupted = key in self.intents
            self.intents.add(key)
        found = find() if find is not None and interrupted else None
        result = found if found is not None else fn()
        with self._lock:
            self.effect_calls[key] = self.effect_calls.get(key, 0) + 1
            self.effects.setdefault(key, dict(result))
            return dict(self.effects[key])

    def open_gate(
        self,
        step_id: str,
        kind: str,
        audience: str | None,
        subject: dict[str, Any],
        due_at: datetime | None,
    ) -> int:
        with self._lock:
            for gate in self.gates.values():
                if gate.step_id == step_id:
                    return gate.id  # a re-run finds its gate, and any decision taken meanwhile
            gate_id = next(self._gate_ids)
            self.gates[gate_id] = MemoryGate(
                gate_id, step_id, kind, audience, dict(subject), self.clock.now(), due_at
            )
            return gate_id

    def decide(self, gate_id: int, decision: Decision) -> None:
        """A person answers (tests and the scripted answers use it)."""
        with self._lock:
            gate = self.gates[gate_id]
            if gate.status == "pending" and gate.decision is None:
                gate.decision = decision

    def gate_due(self, gate_id: int) -> datetime | None:
        with self._lock:
            gate = self.gates.get(gate_id)
            return gate.due_at if gate is not None else None

    def poll_gate(self, gate_id: int) -> Decision | None:
        with self._lock:
            gate = self.gates[gate_id]
            if gate.decision is None:
                answer = self.answers.get(gate.step_id)
                if answer and answer.outcome:
                    ready_at = gate.opened_at + timedelta(seconds=answer.after)
                    if self.clock.now() >= ready_at:
                        gate.decision = Decision(answer.outcome, answer.by, answer.comment)
            return gate.decision

    def close_gate(self, gate_id: int, status: str) -> None:
        with self._lock:
            self.gates[gate_id].status = status

    def kinds(self) -> list[str]:
        return [entry.kind for entry in self.timeline]
