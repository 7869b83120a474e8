"""Shared test material for ingestion: a playbook with a trigger, bursts of mentions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

STORM_PLAYBOOK = """\
name: storm
version: 1
description: Negative mentions about a brand pile up.
inputs:
  product: {type: string, required: true}
  reach_estimate: {type: number, default: 0}
trigger:
  signals: "${{ signal.label == 'negative' }}"
  scope: "${{ signal.brand }}"
  threshold: {count: 20, within: 15m}
  cooldown: 10m
  severity: "${{ 'sev1' if window.reach > 50000 else 'sev3' }}"
steps:
  - id: settle
    uses: incident.set_severity
    with: {severity: sev2}
"""

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def write_playbooks(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "storm.yaml").write_text(STORM_PLAYBOOK)
    return folder


def storm_trigger() -> Any:
    """The same trigger as the playbook file, built from the detection spec directly."""
    from ruamel.yaml import YAML

    from firebreak.detection.spec import Trigger

    return Trigger.model_validate(YAML(typ="safe").load(STORM_PLAYBOOK)["trigger"])


def burst(
    count: int,
    *,
    start: datetime = T0,
    brand: str = "acme",
    prefix: str = "m",
    step_s: int = 5,
    reach: int = 100,
) -> list[dict[str, Any]]:
    """`count` negative mentions about `brand`, `step_s` seconds apart, with source ids."""
    return [
        {
            "source": "twitter",
            "source_id": f"{prefix}{i}",
            "author": f"user{i}",
            "author_reach": reach,
            "text": f"@{brand} lost my bag again, third time, still no answer #{i}",
            "brand": brand,
            "sentiment": -0.8,
            "created_at": (start + timedelta(seconds=step_s * i)).isoformat(),
        }
        for i in range(count)
    ]
