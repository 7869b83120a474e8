"""POST /api/v1/signals as a client sees it: status, body, and what ends up stored."""

from __future__ import annotations

import orjson
from sqlalchemy import func, select

from firebreak.store.models import Signal
from tests.api.conftest import Api, auth
from tests.signals.helpers import burst


def _stored(api: Api) -> int:
    with api.engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Signal)).scalar_one()


def test_good_and_bad_items_good_ones_kept(api: Api) -> None:
    items = [*burst(2), {"text": "hi", "author_reach": -5}, {"created_at": "2024-13-01"}]
    response = api.client.post("/api/v1/signals", json=items, headers=auth("ingest"))
    assert response.status_code == 207
    body = response.json()
    assert body["accepted"] == 2 and body["duplicates"] == 0
    assert [r["index"] for r in body["rejected"]] == [2, 3]
    assert body["rejected"][0]["reason"].startswith("/2/author_reach:")
    assert "/3/created_at" in body["rejected"][1]["reason"]
    assert _stored(api) == 2


def test_all_good_is_200_all_bad_is_422(api: Api) -> None:
    ok = api.client.post("/api/v1/signals", json=burst(3), headers=auth("ingest"))
    assert ok.status_code == 200 and ok.json()["rejected"] == []
    bad = api.client.post("/api/v1/signals", json=[{"text": ""}], headers=auth("admin"))
    assert bad.status_code == 422 and bad.json()["accepted"] == 0


def test_ndjson_body(api: Api) -> None:
    body = b"\n".join(orjson.dumps(item) for item in burst(3)) + b"\n{oops\n"
    response = api.client.post(
        "/api/v1/signals",
        content=body,
        headers={**auth("ingest"), "Content-Type": "application/x-ndjson"},
    )
    assert response.status_code == 207
    assert response.json()["accepted"] == 3
    assert response.json()["rejected"][0]["index"] == 3


def test_duplicates_counted_not_errors(api: Api) -> None:
    first = burst(3)
    again = [*burst(3), first[0]]  # the same three, one of them twice in the batch
    assert api.client.post("/api/v1/signals", json=first, headers=auth("ingest")).status_code == 200
    response = api.client.post("/api/v1/signals", json=again, headers=auth("ingest"))
    assert response.status_code == 200
    assert response.json()["accepted"] == 0 and response.json()["duplicates"] == 4
    assert _stored(api) == 3


def test_too_many_items_is_413_and_stores_nothing(api: Api) -> None:
    items = [{"text": "x"}] * 10_001
    response = api.client.post("/api/v1/signals", json=items, headers=auth("ingest"))
    assert response.status_code == 413
    assert "at most 10000" in response.json()["detail"]
    assert _stored(api) == 0


def test_not_json_is_one_clear_400(api: Api) -> None:
    response = api.client.post(
        "/api/v1/signals", content=b"<xml/>", headers={**auth("ingest"), "Content-Type": "text/xml"}
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith("The body is not JSON")


def test_unhandled_error_is_json_without_traceback(api: Api) -> None:
    def boom() -> None:
        raise RuntimeError("secret internals")

    api.client.app.add_api_route("/boom", boom)  # type: ignore[attr-defined]
    response = api.client.get("/boom")
    assert response.status_code == 500
    assert response.json()["detail"].startswith("Internal server error (reference ")
    assert "Traceback" not in response.text and "secret internals" not in response.text
