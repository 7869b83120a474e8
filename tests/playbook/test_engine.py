"""The engine on the in-memory runtime, with stub services and a virtual clock."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from firebreak.playbook.engine import Engine
from firebreak.playbook.model import Playbook, validation_context
from firebreak.playbook.rehearse import FailureSpec, StubServices
from firebreak.playbook.runtime import (
    Decision,
    InMemoryRuntime,
    MemoryIncident,
    ScriptedAnswer,
    VirtualClock,
)
from firebreak.roles import RoleBindings

ROLES = RoleBindings.from_mapping(
    {
        "comms": {"slack_users": ["U1"], "slack_channel": "comms"},
        "execs": {"slack_channel": "execs", "pagerduty_routing_key": "rk-execs"},
        "duty": {"slack_channel": "duty", "pagerduty_routing_key": "rk-duty"},
        "ceo": {"slack_channel": "ceo", "pagerduty_routing_key": "rk-ceo"},
    }
)


def playbook(*steps: dict[str, Any]) -> Playbook:
    raw = {
        "name": "test",
        "version": 1,
        "roles": {"comms": "c", "execs": "e", "duty": "d", "ceo": "o"},
        "steps": list(steps),
    }
    return Playbook.model_validate(raw, context=validation_context(raw))


def post(step_id: str, text: str = "hello", **extra: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "uses": "slack.post",
        "with": {"channel": "comms", "text": text},
        **extra,
    }


def run(
    book: Playbook,
    *,
    answers: dict[str, ScriptedAnswer] | None = None,
    failures: list[FailureSpec] | None = None,
    severity: str = "sev2",
    runtime: InMemoryRuntime | None = None,
) -> tuple[Any, InMemoryRuntime, StubServices]:
    clock = VirtualClock()
    services = StubServices(clock, failures or [])
    runtime = runtime or InMemoryRuntime(
        services.integrations(),
        ROLES,
        clock=clock,
        incident=MemoryIncident(id=7, severity=severity, opened_at=clock.now()),
        answers=answers,
    )
    return Engine(book, runtime).run(), runtime, services


def test_independent_steps_run_concurrently() -> None:
    seen: set[str] = set()
    both = threading.Barrier(2, timeout=5)

    def wrapper(step: Any, fn: Any) -> dict[str, Any]:
        seen.add(threading.current_thread().name)
        both.wait()  # deadlocks (and fails) unless the two steps are in flight together
        return fn()

    clock = VirtualClock()
    services = StubServices(clock)
    runtime = InMemoryRuntime(services.integrations(), ROLES, clock=clock)
    result = Engine(playbook(post("a"), post("b")), runtime, step_wrapper=wrapper).run()
    assert result.status == "succeeded"
    assert len(seen) == 2


def test_false_condition_skips_the_step_and_its_dependents() -> None:
    book = playbook(
        post("page", **{"if": "${{ incident.severity == 'sev1' }}"}),
        post("after_page", needs=["page"]),
        post("always"),
    )
    result, runtime, services = run(book, severity="sev2")
    assert result.steps["page"].status == "skipped"
    assert "condition is false" in (result.steps["page"].reason or "")
    assert result.steps["after_page"].status == "skipped"
    assert result.steps["always"].status == "succeeded"
    assert [c.args["channel"] for c in services.calls_to("chat.post")] == ["comms"]
    assert runtime.kinds().count("step.skipped") == 2


def test_retryable_failure_is_retried_with_backoff_on_the_clock_then_succeeds() -> None:
    book = playbook(post("a", retry={"attempts": 3, "backoff": "30s", "factor": 2}))
    failures = [FailureSpec(call="chat.post", times=2, retryable=True, message="ratelimited")]
    result, runtime, services = run(book, failures=failures)
    assert result.steps["a"].status == "succeeded"
    assert result.steps["a"].attempts == 3
    assert len(services.calls_to("chat.post")) == 3
    retries = [e for e in runtime.timeline if e.kind == "step.retrying"]
    assert [e.at - runtime.incident.opened_at for e in retries] == [
        timedelta(0),
        timedelta(seconds=30),
    ]
    assert runtime.clock.now() - runtime.incident.opened_at == timedelta(seconds=90)


def test_non_retryable_failure_is_not_retried_and_fails_the_run() -> None:
    book = playbook(post("a", retry={"attempts": 3}), post("b", needs=["a"]))
    failures = [FailureSpec(call="chat.post", retryable=False, message="channel_not_found")]
    result, _, _ = run(book, failures=failures)
    assert result.status == "failed"
    assert result.steps["a"].attempts == 1
    assert "channel_not_found" in (result.steps["a"].error or "")
    assert result.steps["b"].status == "skipped"


def test_on_failure_continue_and_handler_step() -> None:
    book = playbook(
        post("flaky", text="flaky", on_failure="continue"),
        post("next", needs=["flaky"]),
        post("broken", text="broken", on_failure="recover"),
        post("recover", text="recovering"),
    )
    failures = [
        FailureSpec(call="chat.post", match="'flaky'", retryable=False),
        FailureSpec(call="chat.post", match="'broken'", retryable=False),
    ]
    result, _, _ = run(book, failures=failures)
    assert result.steps["flaky"].status == "failed"
    assert result.steps["next"].status == "succeeded"
    assert result.steps["broken"].status == "failed"
    assert result.steps["recover"].status == "succeeded"
    assert result.status == "succeeded"


def test_handler_step_is_skipped_when_nothing_fails() -> None:
    result, _, _ = run(playbook(post("fine", on_failure="recover"), post("recover")))
    assert result.steps["recover"].status == "skipped"


def _approval(**branches: Any) -> dict[str, Any]:
    return {
        "id": "approve",
        "uses": "approval.request",
        "with": {"subject": "Publish?", "approvers": "comms", "timeout": "30m"},
        **branches,
    }


GATED = (
    _approval(on_approved=["yes"], on_rejected=["no"], on_timeout=["late"]),
    post("yes"),
    post("no"),
    post("late"),
)


def test_gate_approved_runs_only_the_approved_branch() -> None:
    answers = {"approve": ScriptedAnswer("approved", after=600, by="dana")}
    result, runtime, _ = run(playbook(*GATED), answers=answers)
    assert {s: result.steps[s].status for s in ("yes", "no", "late")} == {
        "yes": "succeeded",
        "no": "skipped",
        "late": "skipped",
    }
    assert result.steps["approve"].outputs["by"] == "dana"
    approved = next(e for e in runtime.timeline if e.kind == "gate.approved")
    assert approved.actor == "dana"
    assert approved.at - runtime.incident.opened_at == timedelta(minutes=10)


def test_gate_rejected_runs_only_the_rejected_branch() -> None:
    answers = {"approve": ScriptedAnswer("rejected", after=60, by="dana", comment="no")}
    result, _, _ = run(playbook(*GATED), answers=answers)
    assert result.steps["no"].status == "succeeded"
    assert result.steps["yes"].status == "skipped"


def test_gate_timeout_fails_closed() -> None:
    result, runtime, _ = run(playbook(*GATED))
    assert result.steps["approve"].outputs["outcome"] == "timed_out"
    assert result.steps["yes"].status == "skipped"
    assert result.steps["late"].status == "succeeded"
    timed_out = next(e for e in runtime.timeline if e.kind == "gate.timed_out")
    assert timed_out.at - runtime.incident.opened_at == timedelta(minutes=30)
    assert "fails closed" in timed_out.summary


def test_ladder_rungs_fire_at_their_virtual_times_and_stop_at_ack() -> None:
    book = playbook(
        {
            "id": "ack",
            "uses": "ack.wait",
            "with": {
                "audience": "execs",
                "sla": "30m",
                "escalate": [
                    {"after": "15m", "notify": "duty", "via": "pagerduty"},
                    {"after": "30m", "notify": "ceo", "via": "slack"},
                    {"after": "45m", "notify": "ceo", "via": "pagerduty"},
                ],
            },
        }
    )
    answers = {"ack": ScriptedAnswer("acknowledged", after=40 * 60, by="sam")}
    result, runtime, services = run(book, answers=answers)
    rungs = [e for e in runtime.timeline if e.kind == "escalation"]
    assert [e.at - runtime.incident.opened_at for e in rungs] == [
        timedelta(minutes=15),
        timedelta(minutes=30),
    ]
    assert result.steps["ack"].outputs == {
        "acknowledged_by": "sam",
        "escalations": ["duty", "ceo"],
        "outcome": "acknowledged",
    }
    assert [c.args["dedup_key"] for c in services.calls_to("pager.trigger")] == [
        "firebreak/incident-7/ack/escalation-0/duty"
    ]
    assert "rk-duty" not in str([e.data for e in runtime.timeline] + [e.summary for e in rungs])


def test_effects_are_not_repeated_when_the_run_is_repeated() -> None:
    book = playbook(
        {
            "id": "room",
            "uses": "slack.create_channel",
            "with": {"name": "crisis", "invite": ["comms"]},
        },
        post("hello", needs=["room"]),
    )
    first, runtime, services = run(book)
    again = Engine(book, runtime).run()  # a restarted flow: same runtime, same effects table
    assert first.status == again.status == "succeeded"
    assert len(services.calls_to("chat.create_channel")) == 1
    assert len(services.calls_to("chat.post")) == 1
    assert again.steps["room"].outputs == first.steps["room"].outputs


def test_runtime_expression_error_is_on_the_timeline_and_follows_on_failure() -> None:
    book = playbook(
        post("bad", text="${{ steps.nowhere.channel }}", on_failure="tell"),
        post("tell", text="the post failed"),
    )
    result, runtime, _ = run(book)
    assert result.steps["bad"].status == "failed"
    assert result.steps["tell"].status == "succeeded"
    errors = [e for e in runtime.timeline if e.kind == "template.error"]
    assert errors and "nowhere" in errors[0].summary


def test_manual_decision_through_the_runtime_is_taken() -> None:
    clock = VirtualClock()
    services = StubServices(clock)
    runtime = InMemoryRuntime(services.integrations(), ROLES, clock=clock)
    original = runtime.open_gate

    def open_and_decide(*args: Any) -> int:
        gate_id = original(*args)
        runtime.decide(gate_id, Decision("rejected", "lee", "not yet"))
        return gate_id

    runtime.open_gate = open_and_decide  # type: ignore[method-assign]
    result = Engine(playbook(*GATED), runtime).run()
    assert result.steps["approve"].outputs["outcome"] == "rejected"
    assert result.steps["no"].status == "succeeded"


def test_a_rerun_gate_keeps_the_deadline_it_was_opened_with() -> None:
    """As after a crash: the gate was opened 20 minutes before this attempt with a 30-minute
    timeout, so the re-run step times out 10 minutes in, not 30."""
    clock = VirtualClock()
    services = StubServices(clock, [])
    runtime = InMemoryRuntime(
        services.integrations(),
        ROLES,
        clock=clock,
        incident=MemoryIncident(id=7, severity="sev2", opened_at=clock.now()),
    )
    earlier = clock.now() - timedelta(minutes=20)
    runtime.open_gate(
        "approve", "approval", "comms", {"text": "Publish?"}, earlier + timedelta(minutes=30)
    )
    result, runtime, _ = run(playbook(*GATED), runtime=runtime)
    assert result.steps["approve"].outputs["outcome"] == "timed_out"
    timed_out = next(e for e in runtime.timeline if e.kind == "gate.timed_out")
    assert timed_out.at - runtime.incident.opened_at == timedelta(minutes=10)


def test_a_failed_step_skips_only_what_needs_it_and_the_run_fails() -> None:
    book = playbook(
        post("filed", text="file"),
        post("chase", needs=["filed"]),
        {"id": "pause", "uses": "wait", "with": {"for": "10m"}},
        post("announce", text="statement", needs=["pause"]),
    )
    failures = [FailureSpec(call="chat.post", match="file", retryable=False, message="boom")]
    result, runtime, _ = run(book, failures=failures)
    assert result.status == "failed"
    assert result.failed_step == "filed"
    assert {sid: r.status for sid, r in result.steps.items()} == {
        "filed": "failed",
        "chase": "skipped",
        "pause": "succeeded",
        "announce": "succeeded",
    }
    failed = next(e for e in runtime.timeline if e.kind == "step.failed")
    assert failed.summary.endswith("steps that need it are skipped, the others go on")


def test_on_failure_stop_stops_the_whole_playbook() -> None:
    book = playbook(
        post("first", text="file", on_failure="stop"),
        post("later", needs=["first"]),
        {"id": "pause", "uses": "wait", "with": {"for": "10m"}},
        post("other", text="statement", needs=["pause"]),
    )
    failures = [FailureSpec(call="chat.post", match="file", retryable=False, message="boom")]
    result, runtime, _ = run(book, failures=failures)
    assert result.status == "failed"
    assert result.steps["later"].status == "skipped"
    assert result.steps["other"].status == "skipped"
    failed = next(e for e in runtime.timeline if e.kind == "step.failed")
    assert failed.summary.endswith("the playbook stops")


def test_a_passing_service_fault_is_waited_out_beyond_the_steps_attempts() -> None:
    book = playbook(post("a", retry={"attempts": 2, "backoff": "10s"}))
    failures = [FailureSpec(call="chat.post", times=6, retryable=True, message="ratelimited")]
    result, runtime, services = run(book, failures=failures)
    assert result.status == "succeeded"
    assert result.steps["a"].attempts == 7
    assert len(services.calls_to("chat.post")) == 7
    assert runtime.kinds().count("step.retrying") == 6
    assert "step.failed" not in runtime.kinds()


def test_a_service_fault_outlasting_the_playbooks_fault_budget_fails_the_step() -> None:
    raw_step = post("a", retry={"attempts": 3, "backoff": "10s"})
    raw = {"name": "test", "version": 1, "roles": {"comms": "c"}, "fault_budget": "2m"}
    book = Playbook.model_validate(
        {**raw, "steps": [raw_step]}, context=validation_context({**raw, "steps": [raw_step]})
    )
    failures = [FailureSpec(call="chat.post", times=1000, retryable=True, message="down")]
    result, runtime, _ = run(book, failures=failures)
    assert result.status == "failed"
    assert "down" in (result.steps["a"].error or "")
    waited = runtime.clock.now() - runtime.incident.opened_at
    assert timedelta(minutes=2) <= waited < timedelta(minutes=3)
    assert runtime.kinds().count("step.failed") == 1


def test_a_refusal_is_said_once_and_not_retried_whatever_the_budget() -> None:
    book = playbook(post("a", retry={"attempts": 3}))
    failures = [FailureSpec(call="chat.post", retryable=False, message="channel_not_found")]
    result, runtime, services = run(book, failures=failures)
    assert result.steps["a"].attempts == 1
    assert len(services.calls_to("chat.post")) == 1
    assert "step.retrying" not in runtime.kinds()
    assert runtime.kinds().count("step.failed") == 1


def test_a_gate_whose_ask_cannot_be_posted_stays_open_is_decided_and_asks_again() -> None:
    answers = {"approve": ScriptedAnswer("approved", after=600, by="dana")}
    failures = [
        FailureSpec(call="chat.post", match="Approval needed", times=3, message="ratelimited")
    ]
    result, runtime, services = run(playbook(*GATED), answers=answers, failures=failures)
    assert result.status == "succeeded"
    assert result.steps["approve"].outputs["outcome"] == "approved"
    assert result.steps["yes"].status == "succeeded"
    asks = [c for c in services.calls_to("chat.post") if "Approval needed" in str(c)]
    assert len(asks) == 4  # three refused, the fourth posted, none after
    assert runtime.kinds().count("gate.ask_failed") == 1
    assert runtime.kinds().count("gate.asked") == 1


def test_a_gate_whose_ask_is_refused_says_so_once_and_can_still_be_decided() -> None:
    answers = {"approve": ScriptedAnswer("rejected", after=60, by="dana")}
    failures = [
        FailureSpec(
            call="chat.post", match="Approval needed", retryable=False, message="not_in_channel"
        )
    ]
    result, runtime, services = run(playbook(*GATED), answers=answers, failures=failures)
    assert result.steps["approve"].outputs["outcome"] == "rejected"
    assert result.steps["no"].status == "succeeded"
    asks = [c for c in services.calls_to("chat.post") if "Approval needed" in str(c)]
    assert len(asks) == 1
    failed = [e for e in runtime.timeline if e.kind == "gate.ask_failed"]
    assert len(failed) == 1 and "not_in_channel" in failed[0].summary
