"""Out-of-range values at every endpoint: a 422 (or a per-item rejection) naming field and index.

The store's integer columns are 32-bit in PostgreSQL and SQLite refuses integers over 64 bits:
before, such a value reached the insert and failed the whole request with a 500.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from firebreak.store.models import Incident, Signal
from tests.api.conftest import Api, auth
from tests.signals.helpers import burst

HUGE = 2**70


def _count(api: Api, table: Any) -> int:
    with api.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar_one()


BAD_ITEMS: list[tuple[str, Any, str]] = [
    ("author_reach", HUGE, "less than or equal to 2147483647"),
    ("author_reach", -1, "greater than or equal to 0"),
    ("interval_seconds", HUGE, "less than or equal to 2147483647"),
    ("value", 1e300, "less than or equal to"),
    ("value", HUGE, "less than or equal to"),
    ("created_at", "0001-01-01T00:00:00+01:00", "out of range"),
    ("created_at", "9999-12-31T23:59:59-01:00", "out of range"),
    ("created_at", "2400-01-01T00:00:00Z", "out of range"),
    ("created_at", HUGE, "valid datetime"),
    ("text", "nul \u0000 inside", "NUL"),
    ("author", "x" * 257, "at most 256"),
    ("source_id", "x" * 129, "at most 128"),
]


def test_every_out_of_range_item_is_rejected_by_index_and_the_rest_kept(api: Api) -> None:
    items: list[dict[str, Any]] = []
    good = burst(len(BAD_ITEMS) + 1, prefix="good")
    for (fld, value, _), item in zip(BAD_ITEMS, good, strict=False):
        items.append(item)  # a good one before each bad one
        items.append({**item, "source_id": f"bad-{len(items)}", fld: value})
    items.append(good[-1])
    response = api.client.post("/api/v1/signals", json=items, headers=auth("ingest"))
    assert response.status_code == 207, response.text
    body = response.json()
    assert body["accepted"] == len(BAD_ITEMS) + 1
    assert [r["index"] for r in body["rejected"]] == list(range(1, 2 * len(BAD_ITEMS), 2))
    for rejection, (fld, _, message) in zip(body["rejected"], BAD_ITEMS, strict=True):
        assert rejection["reason"].startswith(f"/{rejection['index']}/{fld}:"), rejection
        assert message in rejection["reason"], rejection
    assert _count(api, Signal) == len(BAD_ITEMS) + 1


def test_out_of_range_in_ndjson_is_rejected_by_line(api: Api) -> None:
    lines = [*burst(2, prefix="nd"), {"text": "far", "author_reach": HUGE}]
    response = api.client.post(
        "/api/v1/signals",
        content="\n".join(json.dumps(line) for line in lines),
        headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 207
    assert response.json()["rejected"][0]["index"] == 2
    assert _count(api, Signal) == 2


@pytest.mark.parametrize(
    ("method", "path", "where"),
    [
        ("GET", f"/api/v1/incidents/{HUGE}", ["path", "incident_id"]),
        ("GET", f"/api/v1/incidents/{HUGE}/timeline", ["path", "incident_id"]),
        ("POST", f"/api/v1/incidents/{HUGE}/gates/approve", ["path", "incident_id"]),
        ("GET", "/api/v1/incidents/0", ["path", "incident_id"]),
        ("POST", f"/api/v1/incidents/1/gates/{'s' * 129}", ["path", "step_id"]),
        ("GET", f"/api/v1/incidents?limit={HUGE}", ["query", "limit"]),
    ],
)
def test_out_of_range_ids_are_422_naming_the_parameter(
    api: Api, method: str, path: str, where: list[str]
) -> None:
    response = api.client.request(method, path, json={"decision": "approve"}, headers=auth("admin"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["errors"][0]["loc"] == where
    assert body["detail"].startswith("/".join(where) + ":")


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"product": "x", "reach_estimate": HUGE}, "inputs/reach_estimate: integer out of range"),
        ({"product": "x", "reach_estimate": -HUGE}, "inputs/reach_estimate: integer out of range"),
        ({"product": "a\u0000b"}, "NUL"),
        ({"product": "x" * 70_000}, "at most 65536"),
        ({"product": "x", "deep": [[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]}, "16 levels deep"),
    ],
)
def test_declare_with_out_of_range_inputs_is_422(
    api: Api, inputs: dict[str, Any], message: str
) -> None:
    response = api.client.post(
        "/api/v1/incidents", json={"playbook": "storm", "inputs": inputs}, headers=auth("lead")
    )
    assert response.status_code == 422, response.text
    assert message in response.json()["detail"]
    assert response.json()["errors"][0]["loc"] == ["body", "inputs"]
    assert _count(api, Incident) == 0 and api.launched == []


def test_declare_with_nul_in_title_is_422_naming_it(api: Api) -> None:
    response = api.client.post(
        "/api/v1/incidents",
        json={"playbook": "storm", "title": "bad\u0000title", "inputs": {"product": "x"}},
        headers=auth("lead"),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "title"]


@pytest.mark.postgres
def test_the_largest_admitted_values_are_stored_on_postgres(pg_engine: Any) -> None:
    """The bounds are what PostgreSQL's columns hold: the extremes are stored, past them refused."""
    from firebreak.detection.engine import DetectionEngine
    from firebreak.signals.ingest import Ingestor
    from tests.signals.helpers import storm_trigger

    ingestor = Ingestor(pg_engine, DetectionEngine({"storm": storm_trigger()}), lambda _: None)
    extremes = {
        "source": "s" * 64,
        "source_id": "é" * 128,
        "channel": "c" * 128,
        "author": "a" * 256,
        "author_reach": 2**31 - 1,
        "language": "l" * 16,
        "brand": "b" * 128,
        "topic": "t" * 128,
        "url": "u" * 2048,
        "text": "bad" * 6000,
        "value": 1e12,
        "interval_seconds": 2**31 - 1,
    }
    items = [
        {**extremes, "created_at": "2199-12-31T23:59:59.999999Z"},
        {**extremes, "source_id": "earliest", "created_at": "1970-01-01T00:00:00Z"},
        {**extremes, "source_id": "over", "author_reach": 2**31},
        {**extremes, "source_id": "nul", "text": "a\u0000b"},
    ]
    result = ingestor.ingest_body(json.dumps(items).encode(), "application/json")
    assert result.accepted == 2
    assert [r["index"] for r in result.rejected] == [2, 3]
