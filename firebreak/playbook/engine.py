"""Runs a validated playbook for one incident against a `Runtime`.

Steps form a DAG through `needs`. Every step whose dependencies are done is started at once, each
in its own thread (so a gate waiting for a person never holds up the war room). Gate branches
(`on_approved`, `on_rejected`, `on_timeout`) and `on_failure: <step>` handlers run only when taken;
everything else a branch did not take is skipped, and every transition lands on the timeline.
"""

from __future__ import annotations

import contextlib
import contextvars
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, ValidationError
from tenacity import RetryCallState, Retrying, retry_if_exception

from firebreak.actions import ACTIONS, GATE_ACTIONS
from firebreak.actions.base import ActionContext, ActionError, RunState, StepTimeout
from firebreak.actions.templates import TemplateRenderer, TemplateRenderError
from firebreak.expressions import ExpressionError, compile_condition, compile_value
from firebreak.playbook.faults import (
    DEFAULT_FAULT_BUDGET,
    MAX_WAIT,
    is_transient,
    transient_wait,
)
from firebreak.playbook.model import ON_FAILURE_POLICIES
from firebreak.playbook.runtime import Runtime
from firebreak.ports import IntegrationError, ServiceNotConfigured
from firebreak.roles import RoleError

StepWrapper = Callable[[Any, Callable[[], dict[str, Any]]], dict[str, Any]]

SUCCEEDED, FAILED, SKIPPED = "succeeded", "failed", "skipped"
# The outcome of a gate step names the branch that runs next.
BRANCH_OF_OUTCOME = {
    "approved": "on_approved",
    "rejected": "on_rejected",
    "timed_out": "on_timeout",
    "timeout": "on_timeout",
}
BRANCHES = ("on_approved", "on_rejected", "on_timeout")


@dataclass
class StepResult:
    status: str
    outputs: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    attempts: int = 0
    reason: str | None = None  # why a step was skipped
    unconfigured: bool = False  # failed for want of a service: the rest of the playbook runs
    started_at: datetime | None = None
    finished_at: datetime | None = None


@dataclass
class RunResult:
    status: str  # succeeded | failed
    steps: dict[str, StepResult]
    failed_step: str | None = None
    order: list[str] = field(default_factory=list)
    """Steps that ran, in the order they started (clock time, then playbook order)."""


class StepFailure(Exception):
    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.message = message
        self.attempts = attempts


# ------------------------------------------------------------------------------- step accessors
# The playbook model is pydantic; these read it without caring whether an optional field is
# absent or None, so the engine also runs plain objects built in tests.


def _field(step: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = getattr(step, name, None)
        if value is not None:
            return value
    return default


def _condition(step: Any) -> Any:
    return _field(step, "if_", "condition", "when")


def _needs(step: Any) -> list[str]:
    return list(_field(step, "needs", default=[]))


def _branch(step: Any, name: str) -> list[str]:
    value = _field(step, name, default=[])
    return [value] if isinstance(value, str) else list(value)


def _on_failure(step: Any) -> str:
    return str(_field(step, "on_failure", default="fail"))


def _seconds(value: Any) -> float:
    if value is None:
        return 0.0
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float):
        return float(value)
    from firebreak.expressions import parse_duration

    return parse_duration(str(value)).total_seconds()


def _raw_args(step: Any) -> tuple[Any, type[BaseModel] | None]:
    """The step's `with:` as written (expressions unrendered) and the model that checks it."""
    args = _field(step, "with_", "args", "with")
    if isinstance(args, BaseModel):
        data = args.model_dump(by_alias=True, exclude_unset=True, mode="python")
        return data, type(args)
    return dict(args or {}), None


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, StepTimeout):
        return True
    return isinstance(exc, IntegrationError | ActionError) and exc.retryable


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ExpressionError | TemplateRenderError | RoleError | StepTimeout):
        return str(exc)
    if isinstance(exc, ActionError):
        return exc.message
    if isinstance(exc, IntegrationError):
        return str(exc)
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'with'}: {e['msg']}" for e in exc.errors()
        )
        return f"arguments invalid after rendering: {problems}"
    return f"{type(exc).__name__}: {exc}"


class Engine:
    def __init__(
        self,
        playbook: Any,
        runtime: Runtime,
        step_wrapper: StepWrapper | None = None,
        *,
        templates: TemplateRenderer | None = None,
        max_workers: int = 32,
        done: Mapping[str, StepResult] | None = None,
        fault_budget: float | None = None,
    ) -> None:
        """`done`: steps that succeeded in an earlier, interrupted attempt of this run. They are
        not run again; their outputs are back in `steps.*` and in the run's shared state."""
        self.playbook = playbook
        self.runtime = runtime
        self.step_wrapper: StepWrapper = step_wrapper or (lambda step, fn: fn())
        self.templates = templates or TemplateRenderer()
        self.state = RunState()
        self.steps: dict[str, Any] = {step.id: step for step in playbook.steps}
        self.order = {step_id: index for index, step_id in enumerate(self.steps)}
        self.results: dict[str, StepResult] = {}
        self._lock = threading.Lock()
        self._max_workers = max(1, min(max_workers, len(self.steps)))
        # Seconds a step keeps waiting out a service's transient faults: the playbook's own
        # `fault_budget` wins over the installation's (settings), which wins over the default.
        own = _field(playbook, "fault_budget")
        self.fault_budget = (
            _seconds(own)
            if own is not None
            else (fault_budget if fault_budget is not None else DEFAULT_FAULT_BUDGET)
        )
        # A step named in a gate branch or an on_failure handler waits for its trigger.
        self.triggers: dict[str, list[tuple[str, str]]] = {}
        for step in playbook.steps:
            for branch in BRANCHES:
                for target in _branch(step, branch):
                    self.triggers.setdefault(target, []).append((step.id, branch))
            handler = _on_failure(step)
            if handler not in ON_FAILURE_POLICIES:
                self.triggers.setdefault(handler, []).append((step.id, "on_failure"))
        # A step the playbook no longer has (edited since) is forgotten, not restored.
        self.restored: dict[str, StepResult] = {
            sid: result
            for sid, result in (done or {}).items()
            if sid in self.steps and result.status == SUCCEEDED
        }
        self.results.update(self.restored)
        self._restore_state()

    # ------------------------------------------------------------------------------ context
    def context(self) -> dict[str, Any]:
        incident = self.runtime.incident
        inputs = dict(self._input_defaults())
        inputs.update(incident.inputs or {})
        with self._lock:
            steps = {
                sid: dict(result.outputs)
                for sid, result in self.results.items()
                if result.status != SKIPPED
            }
        return {
            "incident": {
                "id": incident.id,
                "number": incident.id,
                "title": incident.title,
                "severity": incident.severity,
                "scope": incident.scope,
                "playbook": incident.playbook,
                "opened_at": incident.opened_at.isoformat(),
                "inputs": inputs,
            },
            "inputs": inputs,
            "steps": steps,
            "roles": self.runtime.roles.context(),
            "now": self.runtime.clock.now().isoformat(),
        }

    def _input_defaults(self) -> Iterator[tuple[str, Any]]:
        for name, spec in (getattr(self.playbook, "inputs", None) or {}).items():
            default = getattr(spec, "default", None)
            if default is not None:
                yield name, default

    # ---------------------------------------------------------------------------- resuming
    def _restore_state(self) -> None:
        """Rebuild what actions share (drafted statements, their approvals) from restored steps,
        in the order they first ran, so a resumed run publishes only what was approved."""

        def first_ran(sid: str) -> tuple[float, int]:
            started = self.restored[sid].started_at
            return (started.timestamp() if started else 0.0, self.order[sid])

        ordered = sorted(self.restored, key=first_ran)
        for sid in ordered:
            restore = _STATE_RESTORERS.get(self.steps[sid].uses)
            if restore is not None:
                restore(self, self.steps[sid], self.restored[sid].outputs)

    def rendered_args(self, step: Any) -> dict[str, Any]:
        raw, _ = _raw_args(step)
        compiled = step.compiled_with() if hasattr(step, "compiled_with") else compile_value(raw)
        return dict(compiled.render(self.context()))

    # ------------------------------------------------------------------------------- the run
    def run(self) -> RunResult:
        pending = {sid: step for sid, step in self.steps.items() if sid not in self.restored}
        running: dict[Future[StepResult], str] = {}
        done: queue.Queue[Future[StepResult]] = queue.Queue()
        failed_step: str | None = None  # a step whose `on_failure: stop` ended the playbook
        first_failure: str | None = None  # the first step whose failure fails the run
        finished = 0
        with ThreadPoolExecutor(self._max_workers, thread_name_prefix="step") as pool:
            while pending or running:
                if failed_step is None:
                    # The scheduler holds a virtual clock while it submits: a step that fails
                    # at once and sleeps must not move time before its siblings have started.
                    self._join()
                    try:
                        for step_id in list(pending):
                            verdict = self._readiness(step_id)
                            if verdict is None:
                                continue
                            step = pending.pop(step_id)
                            if verdict is not True:
                                self._skip(step, verdict)
                                continue
                            reason = self._condition_false(step)
                            if reason is not None:
                                self._skip(step, reason)
                                continue
                            ctx = contextvars.copy_context()
                            self._join()  # counted busy from now, before its thread even starts
                            future = pool.submit(ctx.run, self._execute, step)
                            running[future] = step_id
                            future.add_done_callback(done.put)
                    finally:
                        self._leave()
                    if any(
                        self._readiness(sid) is not None for sid in pending
                    ):  # skipping may have settled more steps: go round again before waiting
                        continue
                while finished:
                    finished -= 1
                    self._leave()
                if not running:
                    for step_id, step in list(pending.items()):
                        reason = (
                            f"the playbook stopped after '{failed_step}' failed"
                            if failed_step
                            else "nothing it waits for happened"
                        )
                        self._skip(step, reason)
                        pending.pop(step_id)
                    break
                future = done.get()
                finished += 1
                step_id = running.pop(future)
                result = future.result()
                policy = _on_failure(self.steps[step_id])
                if result.status == FAILED and not result.unconfigured:
                    # `fail` fails the run but only skips the steps that need this one, so a
                    # follow-up that fails cannot hold up the public response; `stop` stops all.
                    if policy in ("fail", "stop"):
                        first_failure = first_failure or step_id
                    if policy == "stop":
                        failed_step = failed_step or step_id
        failed_step = failed_step or first_failure
        status = FAILED if failed_step else SUCCEEDED
        ran = [sid for sid, r in self.results.items() if r.status != SKIPPED]
        ran.sort(key=lambda sid: (self.results[sid].started_at or datetime.min, self.order[sid]))
        steps = {sid: self.results[sid] for sid in self.steps if sid in self.results}
        return RunResult(status, steps, failed_step, ran)

    def _readiness(self, step_id: str) -> bool | str | None:
        """True: ready to run; a string: skip for that reason; None: not yet."""
        with self._lock:
            results = dict(self.results)
        for need in _needs(self.steps[step_id]):
            result = results.get(need)
            if result is None:
                return None
            if result.status == SKIPPED:
                return f"it needs '{need}', which was skipped"
            if result.status == FAILED and _on_failure(self.steps[need]) != "continue":
                return f"it needs '{need}', which failed"
        triggers = self.triggers.get(step_id)
        if not triggers:
            return True
        waiting = False
        for owner, branch in triggers:
            result = results.get(owner)
            if result is None:
                waiting = True
            elif self._taken(owner, branch, result):
                return True
        if waiting:
            return None
        return "; ".join(self._not_taken(owner, branch) for owner, branch in triggers)

    def _taken(self, owner: str, branch: str, result: StepResult) -> bool:
        if branch == "on_failure":
            return result.status == FAILED
        if result.status != SUCCEEDED:
            return False
        outcome = result.outputs.get("outcome")
        return BRANCH_OF_OUTCOME.get(str(outcome)) == branch

    def _not_taken(self, owner: str, branch: str) -> str:
        result = self.results[owner]
        if branch == "on_failure":
            return f"'{owner}' did not fail"
        if result.status != SUCCEEDED:
            return f"'{owner}' {result.status}"
        return f"'{owner}' ended {result.outputs.get('outcome')}, not {branch}"

    def _condition_false(self, step: Any) -> str | None:
        source = _condition(step)
        if source is None:
            return None
        try:
            compiled = step.compiled_if() if hasattr(step, "compiled_if") else None
            value = (compiled or compile_condition(source)).evaluate(self.context())
        except ExpressionError as exc:
            # Fails closed: a condition that cannot be evaluated does not run its step.
            self.runtime.record(
                "expression.error",
                f"Could not evaluate the condition of '{step.id}': {exc}",
                {"step": step.id, "if": str(source)},
            )
            return f"its condition could not be evaluated: {exc}"
        if not value:
            return f"its condition is false: {source}"
        return None

    def _skip(self, step: Any, reason: str) -> None:
        now = self.runtime.clock.now()
        with self._lock:
            self.results[step.id] = StepResult(
                SKIPPED, reason=reason, started_at=now, finished_at=now
            )
        self.runtime.step_finished(step.id, step.uses, SKIPPED, {}, None, 0)
        self.runtime.record(
            "step.skipped", f"Skipped {step.id}: {reason}", {"step": step.id, "action": step.uses}
        )

    # ---------------------------------------------------------------------------- one step
    def _execute(self, step: Any) -> StepResult:
        # Counted busy on a virtual clock from submission until the scheduler has seen the result
        # and started what follows, so time never jumps past a step about to start.
        started = self.runtime.clock.now()
        self.runtime.step_started(step.id, step.uses)
        self.runtime.record(
            "step.started",
            f"Started {step.id} ({step.uses})",
            {"step": step.id, "action": step.uses},
        )
        attempts = [0]
        try:
            outputs = self.step_wrapper(step, lambda: self._attempts(step, attempts))
            result = StepResult(SUCCEEDED, dict(outputs or {}), attempts=attempts[0])
        except StepFailure as exc:
            result = StepResult(FAILED, error=exc.message, attempts=exc.attempts)
            result.unconfigured = isinstance(exc.__cause__, ServiceNotConfigured)
        except Exception as exc:  # a step wrapper's own failure must not stop the run
            result = StepResult(FAILED, error=_describe(exc), attempts=max(attempts[0], 1))
        result.started_at = started
        result.finished_at = self.runtime.clock.now()
        self._finish(step, result)
        return result

    def _finish(self, step: Any, result: StepResult) -> None:
        self.runtime.step_finished(
            step.id, step.uses, result.status, result.outputs, result.error, result.attempts
        )
        data = {"step": step.id, "action": step.uses, "attempts": result.attempts}
        if result.status == SUCCEEDED:
            outcome = result.outputs.get("outcome") if step.uses in GATE_ACTIONS else None
            summary = f"{step.id} succeeded" + (f": {outcome}" if outcome else "")
            self.runtime.record("step.succeeded", summary, data)
        else:
            policy = _on_failure(step)
            then = {
                "fail": "steps that need it are skipped, the others go on",
                "stop": "the playbook stops",
                "continue": "continuing",
            }.get(policy, f"running '{policy}'")
            if result.unconfigured and policy in ("fail", "stop"):
                then = "the other steps go on"
            self.runtime.record(
                "step.failed",
                f"{step.id} failed after {result.attempts} attempt(s): {result.error}; {then}",
                {**data, "error": result.error, "on_failure": policy},
            )
        with self._lock:
            self.results[step.id] = result

    def _attempts(self, step: Any, counter: list[int]) -> dict[str, Any]:
        retry = _field(step, "retry")
        tries = int(_field(retry, "attempts", default=1)) if retry else 1
        backoff = _seconds(_field(retry, "backoff", default=0)) if retry else 0.0
        factor = float(_field(retry, "factor", default=2.0)) if retry else 1.0
        clock = self.runtime.clock
        budget = self.fault_budget
        # A service's transient faults are waited out on the playbook clock until the step has
        # been failing for the fault budget; the step's `retry.attempts` counts other failures.
        first_fault: list[datetime | None] = [None]
        faults, others = [0], [0]

        def spent() -> float:
            since = first_fault[0]
            return 0.0 if since is None else (clock.now() - since).total_seconds()

        counted = [0]

        def note(state: RetryCallState) -> BaseException | None:
            """Count this failed attempt once (tenacity asks `wait` and `stop` about it)."""
            exc = state.outcome.exception() if state.outcome else None
            if counted[0] != state.attempt_number:
                counted[0] = state.attempt_number
                if is_transient(exc):
                    faults[0] += 1
                    if first_fault[0] is None:
                        first_fault[0] = clock.now()
                else:  # the service answered: a later fault starts afresh
                    faults[0], first_fault[0] = 0, None
                    others[0] += 1
            return exc

        def stop(state: RetryCallState) -> bool:
            if is_transient(note(state)):
                return spent() >= budget
            return others[0] >= tries

        def wait(state: RetryCallState) -> float:
            exc = note(state)
            if isinstance(exc, IntegrationError) and is_transient(exc):
                # The step's own back-off is a floor, capped like the service's waits.
                own = min(backoff * factor ** (faults[0] - 1), max(backoff, MAX_WAIT))
                pause = max(own, transient_wait(exc, faults[0]))
                return min(pause, max(budget - spent(), 0.0))
            return float(backoff * factor ** (others[0] - 1))

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            pause = state.next_action.sleep if state.next_action else 0
            if is_transient(exc):
                left = max(budget - spent(), 0.0)
                summary = (
                    f"{step.id}: attempt {state.attempt_number} failed "
                    f"({_describe(exc) if exc else 'unknown'}); a passing fault: trying again in "
                    f"{pause:g}s ({left:g}s of the {budget:g}s fault budget left)"
                )
            else:
                summary = (
                    f"{step.id}: attempt {others[0]} of {tries} failed "
                    f"({_describe(exc) if exc else 'unknown'}); retrying in {pause:g}s"
                )
            self.runtime.record(
                "step.retrying", summary, {"step": step.id, "attempt": state.attempt_number}
            )

        retrying = Retrying(
            stop=stop,
            wait=wait,
            retry=retry_if_exception(_retryable),
            sleep=clock.sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            for attempt in retrying:
                with attempt:
                    counter[0] = attempt.retry_state.attempt_number
                    return self._attempt(step)
        except Exception as exc:
            if isinstance(exc, ExpressionError | TemplateRenderError | ValidationError):
                self.runtime.record(
                    "template.error",
                    f"{step.id}: could not render its arguments: {_describe(exc)}",
                    {"step": step.id, "action": step.uses},
                )
            raise StepFailure(_describe(exc), counter[0]) from exc
        raise StepFailure("no attempt was made", counter[0])  # pragma: no cover

    def _attempt(self, step: Any) -> dict[str, Any]:
        action = ACTIONS.get(step.uses)
        if action is None:
            raise ActionError(f"unknown action '{step.uses}'")
        context = self.context()
        raw, model = _raw_args(step)
        compiled = step.compiled_with() if hasattr(step, "compiled_with") else compile_value(raw)
        rendered = compiled.render(context)
        if model is not None:
            rendered = model.model_validate(rendered).model_dump(by_alias=True, mode="python")
        timeout = _seconds(_field(step, "timeout"))
        deadline = self.runtime.clock.now() + timedelta(seconds=timeout) if timeout else None
        ctx = ActionContext(
            runtime=self.runtime,
            step_id=step.id,
            action=step.uses,
            context=context,
            templates=self.templates,
            state=self.state,
            deadline=deadline,
        )
        if deadline is None or step.uses in GATE_ACTIONS or step.uses == "wait":
            # Waiting actions watch the deadline themselves, on the runtime clock.
            return action(ctx, rendered)
        return self._within(deadline, step, lambda: action(ctx, rendered))

    def _within(
        self, deadline: datetime, step: Any, fn: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        """Run `fn` in a helper thread and give up at `deadline` on the runtime clock."""
        box: queue.Queue[tuple[bool, Any]] = queue.Queue(maxsize=1)
        context = contextvars.copy_context()

        def work() -> None:
            with self._participant(joined=True):
                try:
                    box.put((True, fn()))
                except BaseException as exc:
                    box.put((False, exc))

        # The helper does the work while this thread only watches: it stops counting as busy.
        self._join()
        with self._idle():
            threading.Thread(target=context.run, args=(work,), daemon=True).start()
            while True:
                try:
                    ok, value = box.get(timeout=0.01)
                except queue.Empty:
                    if self.runtime.clock.now() >= deadline:
                        raise StepTimeout(f"step '{step.id}' passed its timeout") from None
                    continue
                if ok:
                    return value
                raise value

    def _join(self) -> None:
        join = getattr(self.runtime.clock, "join", None)
        if join is not None:
            join()

    def _leave(self) -> None:
        leave = getattr(self.runtime.clock, "leave", None)
        if leave is not None:
            leave()

    @contextlib.contextmanager
    def _participant(self, *, joined: bool = False) -> Iterator[None]:
        """Count this thread as busy on a virtual clock (no-op on a real one)."""
        leave = getattr(self.runtime.clock, "leave", None)
        if leave is None:
            yield
            return
        if not joined:
            self._join()
        try:
            yield
        finally:
            leave()

    @contextlib.contextmanager
    def _idle(self) -> Iterator[None]:
        idle = getattr(self.runtime.clock, "idle", None)
        if idle is None:
            yield
            return
        with idle():
            yield


def _restore_draft(engine: Engine, step: Any, outputs: Mapping[str, Any]) -> None:
    if "text" in outputs:
        engine.state.add_statement(step.id, str(outputs["text"]), str(outputs.get("template", "")))


def _restore_approval(engine: Engine, step: Any, outputs: Mapping[str, Any]) -> None:
    if outputs.get("outcome") != "approved":
        return
    try:
        subject = str(engine.rendered_args(step)["subject"])
    except (ExpressionError, KeyError):
        return  # nothing counts as approved: publishing then refuses, saying why
    engine.state.approve_matching(subject, str(outputs.get("by") or ""))


# The actions whose results live in the run's shared state as well as in their outputs.
_STATE_RESTORERS: dict[str, Callable[[Engine, Any, Mapping[str, Any]], None]] = {
    "statement.draft": _restore_draft,
    "approval.request": _restore_approval,
}


def run_playbook(
    playbook: Any, runtime: Runtime, step_wrapper: StepWrapper | None = None
) -> RunResult:
    return Engine(playbook, runtime, step_wrapper).run()


__all__ = ["Engine", "RunResult", "StepResult", "run_playbook"]
