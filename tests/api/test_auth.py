"""Every endpoint: 401 without or with a bad token, 403 naming the admitted roles."""

from __future__ import annotations

import pytest

from tests.api.conftest import Api, auth

ENDPOINTS = [
    ("POST", "/api/v1/signals", "ingest", "lead"),
    ("POST", "/api/v1/incidents", "lead", "ingest"),
    ("GET", "/api/v1/incidents", "reviewer", "ingest"),
    ("GET", "/api/v1/incidents/1", "comms", "ingest"),
    ("GET", "/api/v1/incidents/1/timeline", "lead", "ingest"),
    ("POST", "/api/v1/incidents/1/gates/approve", "lead", "reviewer"),
]


@pytest.mark.parametrize(("method", "path", "_ok", "wrong"), ENDPOINTS)
def test_auth_per_endpoint(api: Api, method: str, path: str, _ok: str, wrong: str) -> None:
    missing = api.client.request(method, path, json={})
    assert missing.status_code == 401
    assert "Missing bearer token" in missing.json()["detail"]
    assert missing.headers["www-authenticate"] == "Bearer"

    bad = api.client.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json() == {"detail": "Invalid bearer token"}

    forbidden = api.client.request(method, path, json={}, headers=auth(wrong))
    assert forbidden.status_code == 403
    assert "admits roles:" in forbidden.json()["detail"]
    assert f"your token has: {wrong}" in forbidden.json()["detail"]


@pytest.mark.parametrize(("method", "path", "ok", "_wrong"), ENDPOINTS)
def test_admitted_role_gets_past_auth(
    api: Api, method: str, path: str, ok: str, _wrong: str
) -> None:
    response = api.client.request(
        method, path, json=[] if "signals" in path else {}, headers=auth(ok)
    )
    assert response.status_code not in (401, 403), response.text


def test_healthz_needs_no_token_and_docs_are_served(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok", "database": "ok"}
    spec = api.client.get("/openapi.json").json()
    assert "/api/v1/signals" in spec["paths"]
    assert "SignalIn" in spec["components"]["schemas"]
    assert api.client.get("/docs").status_code == 200


def test_token_never_echoed(api: Api) -> None:
    response = api.client.get("/api/v1/incidents", headers=auth("ingest"))
    assert "tok-ingest" not in response.text
