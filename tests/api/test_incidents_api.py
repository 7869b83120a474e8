"""Incidents through the API: declare, list, read, timeline, gate decisions, and detection."""

from __future__ import annotations

import importlib.util

import pytest
from sqlmodel import Session

from firebreak import gates
from tests.api.conftest import Api, auth, user_auth
from tests.signals.helpers import burst

PLAYBOOK_VALIDATION = importlib.util.find_spec("firebreak.playbook.validate") is not None


def _declare(api: Api, **body: object) -> dict:
    payload = {"playbook": "storm", "inputs": {"product": "app"}, **body}
    response = api.client.post("/api/v1/incidents", json=payload, headers=auth("lead"))
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_declare_unknown_playbook_lists_existing(api: Api) -> None:
    response = api.client.post(
        "/api/v1/incidents", json={"playbook": "strom"}, headers=auth("lead")
    )
    assert response.status_code == 422
    assert "'strom'" in response.json()["detail"] and "storm" in response.json()["detail"]
    assert api.launched == []


def test_declare_opens_and_launches_once_per_scope(api: Api) -> None:
    first = api.client.post(
        "/api/v1/incidents",
        json={
            "playbook": "storm",
            "title": "Recall rumour",
            "severity": "sev3",
            "scope": "acme",
            "inputs": {"product": "app"},
        },
        headers=auth("lead"),
    )
    assert first.status_code == 201
    incident = first.json()["incident"]
    assert first.json()["created"] is True
    assert incident["title"] == "Recall rumour" and incident["declared_by"].startswith("lead#")
    assert incident["inputs"]["product"] == "app"
    assert api.launched == [incident["id"]]

    again = _declare(api, severity="sev1", scope="acme")
    assert again["created"] is False and again["incident"]["id"] == incident["id"]
    assert again["incident"]["severity"] == "sev1"
    assert api.launched == [incident["id"]]


@pytest.mark.skipif(not PLAYBOOK_VALIDATION, reason="playbook validator not in this checkout")
def test_declare_checks_inputs_against_the_playbook(api: Api) -> None:
    response = api.client.post(
        "/api/v1/incidents",
        json={"playbook": "storm", "inputs": {"colour": "red"}},
        headers=auth("lead"),
    )
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "unknown input 'colour'" in detail and "'product' is required" in detail


def test_declare_bad_severity_is_clear(api: Api) -> None:
    response = api.client.post(
        "/api/v1/incidents", json={"playbook": "storm", "severity": "p1"}, headers=auth("lead")
    )
    assert response.status_code == 422
    assert response.json()["detail"].startswith("body/severity: Input should be 'sev1'")


def test_list_filter_read_and_timeline(api: Api) -> None:
    incident = _declare(api, scope="acme")["incident"]
    _declare(api, scope="globex")
    listed = api.client.get("/api/v1/incidents?status=open", headers=auth("reviewer")).json()
    assert {i["scope"] for i in listed} == {"acme", "globex"}
    assert api.client.get("/api/v1/incidents?status=resolved", headers=auth("lead")).json() == []
    assert api.client.get("/api/v1/incidents?status=bogus", headers=auth("lead")).status_code == 422

    detail = api.client.get(f"/api/v1/incidents/{incident['id']}", headers=auth("comms")).json()
    assert detail["id"] == incident["id"] and detail["steps"] == [] and detail["gates"] == []
    missing = api.client.get("/api/v1/incidents/999", headers=auth("comms"))
    assert missing.status_code == 404 and missing.json() == {"detail": "No incident with id 999"}

    timeline = api.client.get(
        f"/api/v1/incidents/{incident['id']}/timeline", headers=auth("reviewer")
    ).json()
    assert timeline["incident"]["id"] == incident["id"]
    assert [e["kind"] for e in timeline["timeline"]] == ["incident.declared"]
    markdown = api.client.get(
        f"/api/v1/incidents/{incident['id']}/timeline?format=md", headers=auth("reviewer")
    )
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert markdown.text.startswith(f"# Incident {incident['id']}: storm declared by hand")


def test_gate_decisions(api: Api) -> None:
    incident_id = _declare(api)["incident"]["id"]
    with Session(api.engine) as session:
        for step, kind in (("approve_statement", "approval"), ("exec_ack", "ack")):
            gates.open_gate(
                session,
                incident_id=incident_id,
                step_id=step,
                kind=kind,
                audience="comms",
                subject={"text": "We are sorry"},
                due_at=None,
            )
        session.commit()
    url = f"/api/v1/incidents/{incident_id}/gates"

    by_lead = api.client.post(
        f"{url}/approve_statement", json={"decision": "approve"}, headers=auth("lead")
    )
    assert by_lead.status_code == 403 and "only role comms" in by_lead.json()["detail"]

    approved = api.client.post(
        f"{url}/approve_statement",
        json={"decision": "approve", "comment": "ship it", "by": "dana"},
        headers=auth("comms"),
    )
    assert approved.status_code == 200
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"].startswith("dana (comms#")

    twice = api.client.post(
        f"{url}/approve_statement", json={"decision": "reject"}, headers=auth("comms")
    )
    assert twice.status_code == 409 and "already approved" in twice.json()["detail"]

    wrong_kind = api.client.post(
        f"{url}/exec_ack", json={"decision": "approve"}, headers=auth("lead")
    )
    assert wrong_kind.status_code == 409 and "acknowledge" in wrong_kind.json()["detail"]
    acked = api.client.post(
        f"{url}/exec_ack", json={"decision": "acknowledge"}, headers=auth("lead")
    )
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"

    unknown = api.client.post(f"{url}/nope", json={"decision": "acknowledge"}, headers=auth("lead"))
    assert unknown.status_code == 404 and "pending gates: none" in unknown.json()["detail"]
    bad = api.client.post(f"{url}/exec_ack", json={"decision": "maybe"}, headers=auth("lead"))
    assert bad.status_code == 422 and "body/decision" in bad.json()["detail"]

    events = api.client.get(
        f"/api/v1/incidents/{incident_id}/timeline", headers=auth("reviewer")
    ).json()["timeline"]
    decided = [e for e in events if e["kind"].startswith("gate.")]
    assert [(e["kind"], e["data"]["decision"]) for e in decided] == [
        ("gate.decided", "approve"),
        ("gate.decided", "acknowledge"),
    ]
    assert decided[0]["actor"].startswith("dana") and "ship it" in decided[0]["summary"]


@pytest.mark.skipif(not PLAYBOOK_VALIDATION, reason="playbook loader not complete")
def test_detection_through_the_api_opens_one_incident(api: Api) -> None:
    response = api.client.post("/api/v1/signals", json=burst(60), headers=auth("ingest"))
    body = response.json()
    assert response.status_code == 200 and body["accepted"] == 60
    assert len(body["incidents_opened"]) == 1 and api.launched == body["incidents_opened"]
    listed = api.client.get("/api/v1/incidents", headers=auth("lead")).json()
    assert len(listed) == 1 and listed[0]["scope"] == "acme"
    assert listed[0]["trigger"]["rule"] == "threshold"


def _two_person_gate(api: Api) -> tuple[int, str]:
    """An incident with a statement approval that needs two people; its decision URL."""
    incident_id = _declare(api)["incident"]["id"]
    with Session(api.engine) as session:
        gates.open_gate(
            session,
            incident_id=incident_id,
            step_id="approve_statement",
            kind="approval",
            audience="comms",
            subject={"text": "We are sorry", "min_approvals": 2},
            due_at=None,
        )
        session.commit()
    return incident_id, f"/api/v1/incidents/{incident_id}/gates/approve_statement"


def test_two_approvals_needed_means_two_different_people(api: Api) -> None:
    incident_id, url = _two_person_gate(api)
    dana, eve = user_auth(api, "dana", "comms"), user_auth(api, "eve", "comms")

    def decide(headers: dict[str, str], decision: str = "approve") -> object:
        return api.client.post(url, json={"decision": decision}, headers=headers)

    first = decide(dana)
    assert first.status_code == 200 and first.json()["status"] == "pending"
    again = decide(dana)
    assert again.status_code == 409 and "1 more approval(s) from someone else" in again.text
    second = decide(eve)
    assert second.status_code == 200 and second.json()["status"] == "approved"
    assert second.json()["decided_by"] == "dana and eve"
    summaries = [
        (e["actor"], e["summary"])
        for e in api.client.get(
            f"/api/v1/incidents/{incident_id}/timeline", headers=auth("reviewer")
        ).json()["timeline"]
        if e["kind"] == "gate.decided"
    ]
    assert summaries[0] == ("dana", "dana approved approve_statement (1 of 2)")
    assert summaries[1] == ("dana and eve", "dana and eve approved approve_statement")


def test_one_shared_token_is_one_approver_whatever_name_it_types(api: Api) -> None:
    """The "alice then bob" hole: names in the body never count as more people."""
    _, url = _two_person_gate(api)
    alice = {"decision": "approve", "by": "alice"}
    first = api.client.post(url, json=alice, headers=auth("comms"))
    assert first.status_code == 200 and first.json()["status"] == "pending"
    bob = api.client.post(url, json={"decision": "approve", "by": "bob"}, headers=auth("comms"))
    assert bob.status_code == 409 and "alice (comms#" in bob.json()["detail"]
    assert "1 more approval(s) from someone else" in bob.json()["detail"]


def test_a_user_token_cannot_decide_in_someone_elses_name(api: Api) -> None:
    _, url = _two_person_gate(api)
    dana = user_auth(api, "dana", "comms")
    posing = api.client.post(url, json={"decision": "approve", "by": "eve"}, headers=dana)
    assert posing.status_code == 403
    assert "signed in as dana" in posing.json()["detail"]


def test_one_rejection_stops_a_two_person_approval(api: Api) -> None:
    _, url = _two_person_gate(api)
    body = {"decision": "approve", "by": "dana"}
    assert api.client.post(url, json=body, headers=auth("comms")).json()["status"] == "pending"
    body = {"decision": "reject", "by": "eve", "comment": "not the facts"}
    rejected = api.client.post(url, json=body, headers=auth("comms"))
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
