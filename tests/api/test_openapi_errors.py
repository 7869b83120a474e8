"""The published OpenAPI document describes the error bodies and statuses the API answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

from tests.api.conftest import Api, auth

ERROR = {"$ref": "#/components/schemas/ErrorBody"}


@dataclass
class _Request:
    """An HTTP exchange in the shape openapi-core reads."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    data: bytes
    status_code: int
    content_type: str
    headers: Headers


def _exchange(response: httpx.Response) -> tuple[_Request, _Response]:
    sent = response.request
    request = _Request(
        host_url=f"{sent.url.scheme}://{sent.url.netloc.decode()}",
        path=sent.url.path,
        method=sent.method.lower(),
        body=sent.content or None,
        content_type=sent.headers.get("content-type", "application/json"),
        parameters=RequestParameters(
            query=ImmutableMultiDict(sent.url.params.multi_items()),
            header=Headers(dict(sent.headers)),
        ),
    )
    answer = _Response(
        response.content,
        response.status_code,
        response.headers.get("content-type", ""),
        Headers(dict(response.headers)),
    )
    return request, answer


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": operation
        for path, item in spec["paths"].items()
        for method, operation in item.items()
    }


def test_every_error_status_has_the_one_error_body(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    assert "HTTPValidationError" not in spec["components"]["schemas"]
    for name, operation in _operations(spec).items():
        for code, response in operation["responses"].items():
            if int(code) < 400 or (name == "GET /healthz" and code == "503"):
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == ERROR or ERROR in schema.get("anyOf", []), (name, code)
            assert response["description"], (name, code)


@pytest.mark.parametrize(
    ("operation", "statuses"),
    [
        ("POST /api/v1/signals", {"200", "207", "400", "401", "403", "413", "422", "500"}),
        ("POST /api/v1/incidents", {"200", "201", "400", "401", "403", "413", "422", "500"}),
        ("GET /api/v1/incidents", {"200", "401", "403", "413", "422", "500"}),
        ("GET /api/v1/incidents/{incident_id}", {"200", "401", "403", "404", "413", "422", "500"}),
        (
            "POST /api/v1/incidents/{incident_id}/gates/{step_id}",
            {"200", "400", "401", "403", "404", "409", "413", "422", "500"},
        ),
        ("GET /healthz", {"200", "413", "500", "503"}),
    ],
)
def test_each_route_documents_its_statuses(api: Api, operation: str, statuses: set[str]) -> None:
    spec = api.client.get("/openapi.json").json()
    assert set(_operations(spec)[operation]["responses"]) == statuses


def test_real_error_responses_validate_against_the_document(api: Api) -> None:
    """Each kind of error, as sent, checked against the document by openapi-core."""
    openapi = OpenAPI.from_dict(api.client.get("/openapi.json").json())
    calls = [
        ("GET", "/api/v1/incidents", {}, None, 401),
        ("GET", "/api/v1/incidents", auth("ingest"), None, 403),
        ("GET", "/api/v1/incidents/7", auth("lead"), None, 404),
        ("GET", f"/api/v1/incidents/{2**70}", auth("lead"), None, 422),
        ("POST", "/api/v1/incidents", auth("lead"), {"playbook": "nope"}, 422),
        ("POST", "/api/v1/incidents", auth("lead"), {"severity": "sev9"}, 422),
        ("POST", "/api/v1/signals", auth("ingest"), [{"text": ""}], 422),
        ("POST", "/api/v1/signals", auth("ingest"), {"text": 1, "value": -1}, 422),
    ]
    for method, path, headers, body, expected in calls:
        response = api.client.request(method, path, json=body, headers=headers)
        assert response.status_code == expected, (path, response.text)
        openapi.validate_response(*_exchange(response))
