"""Complaint categories are stored with each signal and usable in trigger filters: a spike of
safety complaints opens an incident on a `signal.category` trigger, the same number of delay
complaints does not."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
from ruamel.yaml import YAML
from sqlalchemy import select

from firebreak.detection.engine import DetectionEngine
from firebreak.detection.spec import Trigger
from firebreak.signals.ingest import SIGNAL_TABLE, Ingestor
from firebreak.store.db import engine_for
from tests.signals.helpers import T0

SAFETY_TRIGGER = """\
signals: "${{ signal.category == 'product_defect_safety' }}"
scope: "${{ signal.brand }}"
threshold: {count: 10, within: 15m}
cooldown: 10m
severity: sev2
"""

SAFETY = "@acme my charger caught fire on the table, someone got burned"
DELAY = "@acme flight cancelled again, stuck at the gate for 5 hours"
PRAISE = "@acme great crew today, smooth flight"


def _posts(text: str, count: int, prefix: str) -> list[dict[str, Any]]:
    return [
        {
            "source": "twitter",
            "source_id": f"{prefix}{i}",
            "author": f"{prefix}user{i}",
            "brand": "acme",
            "text": text,
            "created_at": (T0 + timedelta(seconds=20 * i)).isoformat(),
        }
        for i in range(count)
    ]


def _ingestor(tmp_path: Path, launched: list[int]) -> Ingestor:
    trigger = Trigger.model_validate(YAML(typ="safe").load(SAFETY_TRIGGER))
    db = engine_for(f"sqlite:///{tmp_path / 'fb.db'}")
    return Ingestor(db, DetectionEngine({"product-safety": trigger}), launched.append)


def test_the_category_is_stored_with_the_signal(tmp_path: Path) -> None:
    ingestor = _ingestor(tmp_path, [])
    items = _posts(SAFETY, 1, "s") + _posts(DELAY, 1, "d") + _posts(PRAISE, 1, "p")
    assert ingestor.ingest_body(orjson.dumps(items)).accepted == 3
    cols = SIGNAL_TABLE.c
    with ingestor.engine.connect() as conn:
        stored = {row[0]: row[1] for row in conn.execute(select(cols.source_id, cols.category))}
    assert stored == {
        "s0": "product_defect_safety",
        "d0": "delay_or_cancellation",
        "p0": None,
    }


def test_a_spike_of_safety_complaints_trips_a_category_trigger(tmp_path: Path) -> None:
    launched: list[int] = []
    ingestor = _ingestor(tmp_path, launched)
    delays = ingestor.ingest_body(orjson.dumps(_posts(DELAY, 30, "d")))
    assert delays.accepted == 30 and delays.incidents_opened == []
    safety = ingestor.ingest_body(orjson.dumps(_posts(SAFETY, 12, "s")))
    assert len(safety.incidents_opened) == 1
    assert launched == safety.incidents_opened
