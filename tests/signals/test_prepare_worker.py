"""API bodies parsed and triaged in the worker process: the same rows as in-process, bad bodies
still rejected with their reason, and a worker that dies costs no signal."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from firebreak.signals.ingest import SIGNAL_TABLE, Ingestor
from firebreak.signals.parsing import BodyError
from firebreak.store.db import engine_for

POSTS = [
    "@acme thanks for nothing, lost my bag again",
    "@acme great crew today, smooth flight",
    "@acme is the 9:40 to Lyon delayed?",
    "@acme my charger caught fire on board, someone got burned",
]


def _items(first_id: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "source": "twitter",
            "source_id": str(first_id + i),
            "author": f"user{i % 3}",
            "author_reach": 100 * i,
            "text": POSTS[i % len(POSTS)],
            "created_at": f"2026-03-02T08:{i % 60:02d}:00Z",
        }
        for i in range(count)
    ]


def _stored(db: Engine) -> list[tuple[Any, ...]]:
    cols = SIGNAL_TABLE.c
    query = select(cols.source_id, cols.sentiment, cols.label, cols.kind, cols.priority)
    with db.connect() as conn:
        return sorted(tuple(row) for row in conn.execute(query.order_by(cols.id)))


@pytest.fixture
def worker_ingestor(tmp_path: Path) -> Any:
    ingestor = Ingestor(engine_for(f"sqlite:///{tmp_path / 'worker.db'}"), worker=True)
    yield ingestor
    ingestor.close()


def test_the_worker_triages_exactly_as_in_process(worker_ingestor: Ingestor, tmp_path: Path):
    body = orjson.dumps(_items(0, 40))
    local = Ingestor(engine_for(f"sqlite:///{tmp_path / 'local.db'}"))
    assert local.ingest_body(body).accepted == 40
    assert worker_ingestor.ingest_body(body).accepted == 40
    stored = _stored(worker_ingestor.engine)
    assert stored == _stored(local.engine)
    assert {row[2] for row in stored} == {"negative", "positive", "neutral"}


def test_a_bad_body_is_rejected_with_its_reason_from_the_worker(worker_ingestor: Ingestor):
    with pytest.raises(BodyError) as caught:
        worker_ingestor.ingest_body(orjson.dumps(_items(0, 10_001)))
    assert caught.value.status == 413 and "10001 items" in str(caught.value)
    mixed = [*_items(0, 3), {"text": ""}]
    result = worker_ingestor.ingest_body(orjson.dumps(mixed))
    assert result.accepted == 3
    assert [r["index"] for r in result.rejected] == [3]
    assert "non-empty 'text'" in result.rejected[0]["reason"]


def test_a_killed_worker_loses_no_signal(worker_ingestor: Ingestor):
    assert worker_ingestor.ingest_body(orjson.dumps(_items(0, 5))).accepted == 5
    pool = worker_ingestor._worker._pool  # type: ignore[union-attr]
    assert pool is not None
    for pid in list(pool._processes):  # as the kernel's OOM killer would
        os.kill(pid, signal.SIGKILL)
    after = worker_ingestor.ingest_body(orjson.dumps(_items(100, 7)))
    assert after.accepted == 7
    stored = _stored(worker_ingestor.engine)
    assert len(stored) == 12
    assert all(row[2] is not None for row in stored), "every signal was triaged"


@pytest.mark.parametrize("worker", [False, True], ids=["in-process", "worker"])
def test_a_restart_remembers_who_has_been_complaining(tmp_path: Path, worker: bool):
    db = engine_for(f"sqlite:///{tmp_path / 'history.db'}")
    complaint = "@acme charged twice for the same ticket, refund refused"

    def post(ingestor: Ingestor, source_id: str, author: str) -> None:
        item = {"source": "t", "source_id": source_id, "author": author, "text": complaint}
        assert ingestor.ingest_body(orjson.dumps([item])).accepted == 1

    before = Ingestor(db, worker=worker)
    for i in range(6):
        post(before, f"old{i}", "repeat")
    before.close()

    restarted = Ingestor(db, worker=worker)
    try:
        assert restarted.restore() == (0, 6)  # no detection configured; six posts replayed
        post(restarted, "new-repeat", "repeat")
        post(restarted, "new-stranger", "stranger")
    finally:
        restarted.close()
    cols = SIGNAL_TABLE.c
    with db.connect() as conn:
        priority = dict(conn.execute(select(cols.source_id, cols.priority)).all())
    assert priority["new-repeat"] > priority["new-stranger"]

    # As if there had been no restart: the same seven posts through one ingestor.
    uninterrupted = Ingestor(engine_for(f"sqlite:///{tmp_path / 'one.db'}"))
    for i in range(6):
        post(uninterrupted, f"old{i}", "repeat")
    post(uninterrupted, "new-repeat", "repeat")
    with uninterrupted.engine.connect() as conn:
        expected = conn.execute(select(cols.priority).where(cols.source_id == "new-repeat"))
        assert priority["new-repeat"] == expected.scalar_one()
