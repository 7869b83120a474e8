"""Rehearsal: run a playbook on stubbed services, a virtual clock and scripted people.

A rehearsal file sits beside the playbook (`<name>.rehearsal.yaml`) and holds scenarios: the
incident, who answers which gate when (approve, reject, acknowledge after N minutes, or never),
which service calls fail, and what must happen (steps run or skipped, in order, and outputs).
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from firebreak.expressions import Duration
from firebreak.playbook.engine import Engine, RunResult
from firebreak.playbook.runtime import (
    InMemoryRuntime,
    MemoryIncident,
    ScriptedAnswer,
    TimelineEntry,
    VirtualClock,
)
from firebreak.ports import (
    Ask,
    ChannelRef,
    IntegrationError,
    Integrations,
    IssueRef,
    MessageRef,
    TaskSpec,
)
from firebreak.roles import RoleBindings, RoleError

# ------------------------------------------------------------------------------ the file format


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class AnswerSpec(_Strict):
    outcome: Literal["approved", "rejected", "acknowledged", "never"]
    after: Duration = timedelta(0)
    by: str = "rehearsal"
    comment: str | None = None


class FailureSpec(_Strict):
    call: str = Field(description="chat.post, chat.create_channel, tracker.create_epic, ...")
    times: int = Field(default=1, ge=1, description="How many calls fail before it works again")
    match: str | None = Field(
        default=None, description="Only calls whose arguments contain this text fail"
    )
    retryable: bool = True
    message: str = "injected failure"
    delay: Duration | None = Field(default=None, description="The call hangs this long first")


class IncidentSpec(_Strict):
    title: str = "Rehearsal incident"
    severity: Literal["sev1", "sev2", "sev3", "sev4"] = "sev2"
    scope: str = "rehearsal"
    inputs: dict[str, Any] = Field(default_factory=dict)


class Expectation(_Strict):
    status: Literal["succeeded", "failed"] | None = None
    steps: list[dict[str, str]] = Field(
        default_factory=list, description="In order: `- step_id: succeeded|failed|skipped`"
    )
    outputs: dict[str, Any] = Field(default_factory=dict, description="`step.output: value`")
    timeline: list[str] = Field(default_factory=list, description="Kinds that must appear")


class Scenario(_Strict):
    name: str
    incident: IncidentSpec = Field(default_factory=IncidentSpec)
    answers: dict[str, AnswerSpec] = Field(default_factory=dict)
    failures: list[FailureSpec] = Field(default_factory=list)
    expect: Expectation = Field(default_factory=Expectation)


class RehearsalFile(_Strict):
    roles: str | None = Field(default=None, description="Roles file, relative to this file")
    scenarios: list[Scenario] = Field(min_length=1)


class RehearsalError(Exception):
    """The rehearsal file cannot be read; the message says where and why."""


def rehearsal_path_for(playbook_path: Path) -> Path:
    return playbook_path.with_name(playbook_path.name.removesuffix(".yaml") + ".rehearsal.yaml")


def load_rehearsal(path: Path) -> RehearsalFile:
    try:
        data = YAML(typ="safe").load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise RehearsalError(f"cannot read {path}: {exc.strerror}") from None
    except YAMLError as exc:
        raise RehearsalError(f"{path}: not valid YAML: {exc}") from None
    try:
        return RehearsalFile.model_validate(data)
    except ValidationError as exc:
        lines = [
            f"{path}: {'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        raise RehearsalError("\n".join(lines)) from None


# ------------------------------------------------------------------------- the stubbed services


@dataclass
class StubCall:
    call: str
    args: dict[str, Any]


@dataclass
class StubServices:
    """Slack, Jira and PagerDuty as rehearsal sees them: deterministic answers, scripted faults."""

    clock: VirtualClock
    failures: list[FailureSpec] = field(default_factory=list)
    calls: list[StubCall] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._left = {id(f): f.times for f in self.failures}

    def _call(self, call: str, **args: Any) -> int:
        with self._lock:
            self.calls.append(StubCall(call, args))
            failure = next(
                (
                    f
                    for f in self.failures
                    if f.call == call
                    and self._left[id(f)] > 0
                    and (f.match is None or f.match in repr(args))
                ),
                None,
            )
            if failure is not None:
                self._left[id(failure)] -= 1
            number = next(self._ids)
        if failure is not None:
            if failure.delay:
                self.clock.sleep(failure.delay.total_seconds())
            raise IntegrationError(call.split(".")[0], failure.message, retryable=failure.retryable)
        return number

    def calls_to(self, call: str) -> list[StubCall]:
        return [c for c in self.calls if c.call == call]

    # ChatPort
    def create_channel(
        self, name: str, *, private: bool = False, marker: str | None = None
    ) -> ChannelRef:
        n = self._call("chat.create_channel", name=name)
        return ChannelRef(id=f"C{n:06d}", name=name)

    def find_channel(self, name: str, *, marker: str, private: bool = False) -> ChannelRef | None:
        return None  # a rehearsal is never interrupted mid-call

    def invite(self, channel_id: str, user_ids: list[str]) -> None:
        self._call("chat.invite", channel=channel_id, users=list(user_ids))

    def post(
        self,
        channel: str,
        text: str,
        *,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        marker: str | None = None,
    ) -> MessageRef:
        n = self._call("chat.post", channel=channel, text=text)
        return MessageRef(channel=channel, ts=f"1700000000.{n:06d}")

    def find_message(self, channel: str, marker: str) -> MessageRef | None:
        return None  # a rehearsal is never interrupted mid-call

    def ask(self, channel: str, ask: Ask) -> MessageRef:
        # Recorded as a post, so a rehearsal's `chat.post` failures reach asks too.
        n = self._call("chat.post", channel=channel, text=ask.text, ask=ask.kind)
        return MessageRef(channel=channel, ts=f"1700000000.{n:06d}")

    def close_ask(self, channel: str, ts: str, asked_text: str, outcome: str) -> None:
        text = f"{asked_text}\n\n{outcome}" if asked_text else outcome
        self._call("chat.update", channel=channel, ts=ts, text=text)

    def update(self, channel: str, ts: str, text: str) -> None:
        self._call("chat.update", channel=channel, ts=ts, text=text)

    # TrackerPort
    assigns_by = "username"

    def create_epic(
        self, summary: str, description: str = "", *, labels: list[str] | None = None
    ) -> IssueRef:
        n = self._call("tracker.create_epic", summary=summary)
        return IssueRef(key=f"CRISIS-{n}", url=f"https://jira.rehearsal/browse/CRISIS-{n}")

    def create_tasks(self, epic_key: str, tasks: list[TaskSpec]) -> list[IssueRef]:
        self._call("tracker.create_tasks", epic=epic_key, tasks=[t.summary for t in tasks])
        refs = []
        for _ in tasks:
            n = next(self._ids)
            refs.append(IssueRef(f"CRISIS-{n}", f"https://jira.rehearsal/browse/CRISIS-{n}"))
        return refs

    def find_labelled(self, labels: list[str]) -> dict[str, IssueRef]:
        return {}

    def comment(self, key: str, body: str) -> None:
        self._call("tracker.comment", issue=key, body=body)

    def transition(self, key: str, to: str) -> None:
        self._call("tracker.transition", issue=key, to=to)

    # PagerPort
    def trigger(
        self,
        summary: str,
        *,
        dedup_key: str,
        source: str = "firebreak",
        severity: str = "critical",
        details: dict[str, Any] | None = None,
        links: list[dict[str, str]] | None = None,
        routing_key: str | None = None,
    ) -> str:
        self._call("pager.trigger", summary=summary, dedup_key=dedup_key, severity=severity)
        return dedup_key

    def acknowledge(self, dedup_key: str, *, routing_key: str | None = None) -> None:
        self._call("pager.acknowledge", dedup_key=dedup_key)

    def resolve(self, dedup_key: str, *, routing_key: str | None = None) -> None:
        self._call("pager.resolve", dedup_key=dedup_key)

    def integrations(self) -> Integrations:
        return Integrations(chat=self, tracker=self, pager=self)


# ------------------------------------------------------------------------------------ running


@dataclass
class ScenarioReport:
    name: str
    result: RunResult
    timeline: list[TimelineEntry]
    mismatches: list[str]
    started: Any
    services: StubServices

    @property
    def ok(self) -> bool:
        return not self.mismatches


def run_scenario(
    playbook: Any,
    scenario: Scenario,
    roles: RoleBindings,
    *,
    templates_dir: Path | None = None,
) -> ScenarioReport:
    from firebreak.actions.templates import TemplateRenderer

    clock = VirtualClock()
    services = StubServices(clock, list(scenario.failures))
    answers = {
        step: ScriptedAnswer(
            None if a.outcome == "never" else a.outcome, a.after.total_seconds(), a.by, a.comment
        )
        for step, a in scenario.answers.items()
    }
    incident = MemoryIncident(
        id=1,
        title=scenario.incident.title,
        severity=scenario.incident.severity,
        scope=scenario.incident.scope,
        playbook=playbook.name,
        opened_at=clock.now(),
        inputs=dict(scenario.incident.inputs),
    )
    runtime = InMemoryRuntime(
        services.integrations(), roles, clock=clock, incident=incident, answers=answers
    )
    templates = TemplateRenderer(templates_dir) if templates_dir else None
    result = Engine(playbook, runtime, templates=templates).run()
    mismatches = check(playbook, scenario, result, runtime.timeline)
    return ScenarioReport(
        scenario.name, result, runtime.timeline, mismatches, incident.opened_at, services
    )


def check(
    playbook: Any, scenario: Scenario, result: RunResult, timeline: list[TimelineEntry]
) -> list[str]:
    """What differs from the scenario's expectations, as `- expected` / `+ actual` lines."""
    out: list[str] = []
    expect = scenario.expect
    if expect.status and expect.status != result.status:
        out.append(f"run status:\n  - expected {expect.status}\n  + actual   {result.status}")
    expected: list[tuple[str, str]] = []
    for entry in expect.steps:
        for step_id, status in entry.items():
            expected.append((step_id, status))
    known = set(result.steps)
    for step_id, status in expected:
        if step_id not in known:
            out.append(f"step {step_id}: no such step (steps: {', '.join(result.steps)})")
            continue
        actual = result.steps[step_id]
        if actual.status != status:
            why = actual.error or actual.reason or ""
            out.append(
                f"step {step_id}:\n  - expected {status}\n  + actual   {actual.status}"
                + (f" ({why})" if why else "")
            )
    if expected:
        listed = {s for s, _ in expected}
        for step_id in result.steps:
            if step_id not in listed:
                out.append(
                    f"step {step_id}: not in the expected list (it {result.steps[step_id].status})"
                )
        want = [s for s, status in expected if status != "skipped" and s in known]
        got = [s for s in result.order if s in set(want)]
        if want != got and not out:
            out.append(
                "order of executed steps:\n  - expected "
                + " -> ".join(want)
                + "\n  + actual   "
                + " -> ".join(got)
            )
    for path, value in expect.outputs.items():
        step_id, _, name = path.partition(".")
        step = result.steps.get(step_id)
        if step is None or name not in step.outputs:
            have = ", ".join(step.outputs) if step else "step did not run"
            out.append(f"output {path}: missing ({have})")
        elif step.outputs[name] != value:
            out.append(
                f"output {path}:\n  - expected {value!r}\n  + actual   {step.outputs[name]!r}"
            )
    kinds = [entry.kind for entry in timeline]
    for kind in expect.timeline:
        if kind not in kinds:
            out.append(f"timeline: no '{kind}' entry (kinds seen: {', '.join(sorted(set(kinds)))})")
    return out


def rehearse(
    playbook_path: Path,
    rehearsal_path: Path | None = None,
    *,
    roles_file: Path | None = None,
    scenario: str | None = None,
) -> list[ScenarioReport]:
    """Load the playbook and its rehearsal file, run every scenario (or the named one)."""
    from firebreak.playbook.loader import load_playbook

    rehearsal_path = rehearsal_path or rehearsal_path_for(playbook_path)
    if not rehearsal_path.is_file():
        raise RehearsalError(
            f"no rehearsal file {rehearsal_path} (write one beside the playbook, or pass "
            "--rehearsal FILE)"
        )
    spec = load_rehearsal(rehearsal_path)
    playbook = load_playbook(playbook_path)
    if roles_file is None and spec.roles:
        roles_file = rehearsal_path.parent / spec.roles
    try:
        roles = RoleBindings.load(roles_file)
    except RoleError as exc:
        raise RehearsalError(str(exc)) from None
    missing = [r for r in (getattr(playbook, "roles", None) or {}) if r not in roles]
    if missing:
        raise RehearsalError(
            f"{roles.source} does not bind the roles {', '.join(missing)} that "
            f"{playbook_path.name} declares"
        )
    chosen = [s for s in spec.scenarios if scenario is None or s.name == scenario]
    if not chosen:
        names = ", ".join(repr(s.name) for s in spec.scenarios)
        raise RehearsalError(f"no scenario named {scenario!r} in {rehearsal_path} ({names})")
    templates_dir = playbook_path.resolve().parent / "templates"
    found = templates_dir if templates_dir.is_dir() else None
    return [run_scenario(playbook, s, roles, templates_dir=found) for s in chosen]
