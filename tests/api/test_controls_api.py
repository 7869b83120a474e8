"""Crisis controls over HTTP: resolve, reopen, severity up and down, notes, each naming who."""

from __future__ import annotations

from tests.api.conftest import Api, auth, user_auth


def _incident(api: Api, lead: dict[str, str]) -> int:
    body = {"playbook": "storm", "inputs": {"product": "app"}, "severity": "sev2"}
    declared = api.client.post("/api/v1/incidents", json=body, headers=lead)
    assert declared.status_code == 201, declared.text
    return int(declared.json()["incident"]["id"])


def _events(api: Api, incident_id: int) -> list[tuple[str, str, str]]:
    timeline = api.client.get(f"/api/v1/incidents/{incident_id}/timeline", headers=auth("reviewer"))
    return [(e["kind"], e["actor"], e["summary"]) for e in timeline.json()["timeline"]]


def test_a_lead_steers_an_incident_and_every_step_names_them(api: Api) -> None:
    lena = user_auth(api, "lena", "lead")
    omar = user_auth(api, "omar", "responder")
    incident = _incident(api, lena)
    base = f"/api/v1/incidents/{incident}"

    up = api.client.post(
        f"{base}/severity", json={"severity": "sev1", "reason": "press calls"}, headers=lena
    )
    assert up.status_code == 200 and up.json()["severity"] == "sev1"
    same = api.client.post(
        f"{base}/severity", json={"severity": "sev1", "reason": "x"}, headers=lena
    )
    assert same.status_code == 409 and "already sev1" in same.json()["detail"]
    down = api.client.post(
        f"{base}/severity", json={"severity": "sev3", "reason": "contained"}, headers=lena
    )
    assert down.status_code == 200 and down.json()["severity"] == "sev3"
    note = api.client.post(f"{base}/notes", json={"text": "Call centre briefed"}, headers=omar)
    assert note.status_code == 201
    done = api.client.post(f"{base}/resolve", json={"summary": "Refunds issued"}, headers=lena)
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    again = api.client.post(f"{base}/resolve", json={"summary": "x"}, headers=lena)
    assert again.status_code == 409 and "already resolved" in again.json()["detail"]
    back = api.client.post(f"{base}/reopen", json={"reason": "new complaints"}, headers=lena)
    assert back.status_code == 200 and back.json()["status"] == "open"

    assert _events(api, incident)[1:] == [
        ("severity.raised", "lena", "lena raised severity from sev2 to sev1: press calls"),
        ("severity.lowered", "lena", "lena lowered severity from sev1 to sev3: contained"),
        ("note", "omar", "Call centre briefed"),
        ("incident.resolved", "lena", "Resolved by lena: Refunds issued"),
        ("incident.reopened", "lena", "Reopened by lena: new complaints"),
    ]


def test_controls_refuse_bad_input_and_the_wrong_roles(api: Api) -> None:
    lena = user_auth(api, "lena", "lead")
    incident = _incident(api, lena)
    base = f"/api/v1/incidents/{incident}"
    bad = api.client.post(
        f"{base}/severity", json={"severity": "sev9", "reason": "x"}, headers=lena
    )
    assert bad.status_code == 422 and "severity" in bad.json()["detail"]
    empty = api.client.post(f"{base}/resolve", json={"summary": "   "}, headers=lena)
    assert empty.status_code == 422 and "summary is empty" in empty.json()["detail"]
    missing = api.client.post(f"{base}/notes", json={}, headers=lena)
    assert missing.status_code == 422 and "text" in missing.json()["detail"]
    nowhere = api.client.post("/api/v1/incidents/999/resolve", json={"summary": "x"}, headers=lena)
    assert nowhere.status_code == 404 and "999" in nowhere.json()["detail"]
    comms = api.client.post(f"{base}/resolve", json={"summary": "x"}, headers=auth("comms"))
    assert comms.status_code == 403
    open_ = api.client.post(f"{base}/reopen", json={"reason": "x"}, headers=lena)
    assert open_.status_code == 409 and "nothing to reopen" in open_.json()["detail"]
    assert _events(api, incident)[1:] == []
