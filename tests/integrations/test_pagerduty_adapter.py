"""PagerDutyPager against the loopback Events API v2 emulator (TLS), through the real client."""

from __future__ import annotations

import pytest
import trustme

from firebreak.ports import IntegrationError
from integrations.pagerduty import PagerDutyPager
from integrations.policy import RetryPolicy
from integrations.sandbox import Sandbox
from tests.integrations.conftest import FAST, closed_port


def test_trigger_acknowledge_resolve_moves_the_incident(sb: Sandbox, pager: PagerDutyPager) -> None:
    key = pager.trigger(
        "Storm on #acme",
        dedup_key="firebreak-incident-7",
        severity="error",
        details={"mentions": 412},
        links=[{"href": "http://localhost/incidents/7", "text": "Incident 7"}],
    )
    assert key == "firebreak-incident-7"
    assert sb.state("pagerduty")["incidents"][key]["status"] == "triggered"
    pager.acknowledge(key)
    assert sb.state("pagerduty")["incidents"][key]["status"] == "acknowledged"
    pager.resolve(key)

    incident = sb.state("pagerduty")["incidents"][key]
    assert incident["status"] == "resolved"
    assert incident["events"] == ["trigger", "acknowledge", "resolve"]
    sent = sb.requests("pagerduty")[0].body
    assert sent == {
        "event_action": "trigger",
        "dedup_key": "firebreak-incident-7",
        "routing_key": sb.routing_key,
        "payload": {
            "summary": "Storm on #acme",
            "source": "firebreak",
            "severity": "error",
            "custom_details": {"mentions": 412},
        },
        "links": [{"href": "http://localhost/incidents/7", "text": "Incident 7"}],
    }


EXECS = "sbxexecutives0000000000000000000"  # bound in playbooks/roles.sandbox.yaml
DUTY = "sbxdutyexecutive0000000000000000"


def test_routing_key_per_call_pages_another_service(sb: Sandbox, pager: PagerDutyPager) -> None:
    pager.trigger("Exec page", dedup_key="exec-1", routing_key=EXECS)
    pager.resolve("exec-1", routing_key=EXECS)
    incident = sb.state("pagerduty")["incidents"]["exec-1"]
    assert incident["routing_key"] == EXECS and incident["status"] == "resolved"


def test_a_dedup_key_belongs_to_the_routing_key_that_triggered_it(
    sb: Sandbox, pager: PagerDutyPager
) -> None:
    """PagerDuty: events for a dedup key apply only through the routing key of its trigger."""
    pager.trigger("Exec page", dedup_key="page-1", routing_key=EXECS)
    pager.acknowledge("page-1")  # the default key: another service, dropped
    pager.resolve("page-1", routing_key=DUTY)  # dropped too
    (alert,) = sb.state("pagerduty")["alerts"]
    assert alert["status"] == "triggered" and alert["events"] == ["trigger"]

    pager.trigger("Duty page", dedup_key="page-1", routing_key=DUTY)  # that service's own alert
    assert [(p["routing_key"], p["dedup_key"]) for p in sb.state("pagerduty")["pages"]] == [
        (EXECS, "page-1"),
        (DUTY, "page-1"),
    ]


def test_a_second_trigger_with_an_open_alerts_key_notifies_nobody(
    sb: Sandbox, pager: PagerDutyPager
) -> None:
    pager.trigger("First page", dedup_key="same", routing_key=EXECS)
    pager.trigger("Second page", dedup_key="same", routing_key=EXECS)
    assert len(sb.state("pagerduty")["pages"]) == 1
    pager.resolve("same", routing_key=EXECS)
    pager.trigger("After the resolve", dedup_key="same", routing_key=EXECS)
    assert [p["summary"] for p in sb.state("pagerduty")["pages"]] == [
        "First page",
        "After the resolve",
    ]


def test_a_routing_key_the_account_does_not_have_is_refused(pager: PagerDutyPager) -> None:
    with pytest.raises(IntegrationError) as caught:
        pager.trigger("x", dedup_key="d", routing_key="e" * 32)
    assert caught.value.message == (
        "PagerDuty refused trigger: HTTP 400: Event object is invalid: Invalid routing key"
    )
    assert not caught.value.retryable


def test_invalid_event_is_refused_with_pagerdutys_reasons(pager: PagerDutyPager) -> None:
    with pytest.raises(IntegrationError) as caught:
        pager.trigger("x", dedup_key="d", severity="catastrophic", routing_key="short")
    message = caught.value.message
    assert message.startswith("PagerDuty refused trigger: HTTP 400: Event object is invalid")
    assert "Length of 'routing_key' is incorrect (should be 32 characters)" in message
    assert "'payload.severity' is invalid" in message
    assert not caught.value.retryable


def test_rate_limit_is_retried_a_bounded_number_of_times(
    sb: Sandbox, pager: PagerDutyPager
) -> None:
    sb.fail("pagerduty", "/v2/enqueue", status=429, retry_after=0, times=2)
    assert pager.trigger("Storm", dedup_key="k1") == "k1"
    assert [r.fault for r in sb.requests("pagerduty")] == ["429", "429", None]

    sb.fail("pagerduty", "/v2/enqueue", status=429, retry_after=0, times=None)
    with pytest.raises(IntegrationError) as caught:
        pager.resolve("k1")
    assert caught.value.message.startswith("PagerDuty refused resolve: HTTP 429")
    assert caught.value.retryable
    assert sb.state("pagerduty")["incidents"]["k1"]["status"] == "triggered"


def test_outage_exhausts_retries_into_a_clear_error(sb: Sandbox, pager: PagerDutyPager) -> None:
    sb.fail("pagerduty", "/v2/enqueue", status=502, times=None)
    with pytest.raises(IntegrationError) as caught:
        pager.trigger("Storm", dedup_key="k2")
    assert caught.value.message == "PagerDuty refused trigger: HTTP 502: Internal server error"
    assert caught.value.retryable
    assert len(sb.requests("pagerduty")) == 1 + FAST.retries


def test_unreachable_pagerduty_fails_fast_and_clearly(sb: Sandbox) -> None:
    url = f"https://127.0.0.1:{closed_port()}"
    dead = PagerDutyPager(
        sb.routing_key, base_url=url, ca_file=sb.ca_file, policy=RetryPolicy(1, 0.01)
    )
    with pytest.raises(IntegrationError) as caught:
        dead.trigger("Storm", dedup_key="k3")
    assert caught.value.message == f"PagerDuty at {url} is unreachable: connection refused"


def test_a_server_not_signed_by_the_configured_ca_is_not_trusted(sb: Sandbox, tmp_path) -> None:  # type: ignore[no-untyped-def]
    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    wary = PagerDutyPager(
        sb.routing_key, base_url=sb.url("pagerduty"), ca_file=other_ca, policy=RetryPolicy(1, 0.01)
    )
    with pytest.raises(IntegrationError) as caught:
        wary.trigger("Storm", dedup_key="k4")
    assert caught.value.message.endswith("is unreachable: certificate not trusted")
    assert sb.state("pagerduty")["incidents"] == {}


def test_plain_http_and_unreadable_ca_are_configuration_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(IntegrationError, match="must start with https://"):
        PagerDutyPager("k" * 32, base_url="http://127.0.0.1:1")
    with pytest.raises(IntegrationError, match="cannot read the PagerDuty CA file"):
        PagerDutyPager("k" * 32, ca_file=tmp_path / "missing.pem")


def test_missing_routing_key_says_which_setting_to_set() -> None:
    pager = PagerDutyPager(None, base_url="https://127.0.0.1:1")
    with pytest.raises(IntegrationError, match="FIREBREAK_PAGERDUTY_ROUTING_KEY"):
        pager.trigger("Storm", dedup_key="k5")


def test_a_pagerduty_that_answers_too_slowly_is_a_retryable_timeout(sb: Sandbox) -> None:
    impatient = PagerDutyPager(
        sb.routing_key,
        base_url=sb.url("pagerduty"),
        ca_file=sb.ca_file,
        policy=RetryPolicy(retries=0, max_delay=0.01, timeout=0.2),
    )
    sb.slow("pagerduty", "/v2/enqueue", seconds=0.5, times=1)
    with pytest.raises(IntegrationError) as caught:
        impatient.trigger("Storm", dedup_key="slow-1")
    assert caught.value.message == f"PagerDuty at {sb.url('pagerduty')} did not answer in time"
    assert caught.value.retryable
