"""The committed JSON schema matches the models."""

from __future__ import annotations

import json

from firebreak.playbook.model import ACTION_ARGS
from firebreak.playbook.schema import REGENERATE, SCHEMA_PATH, schema_text


def test_committed_schema_is_current() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        f"playbooks/playbook.schema.json is stale: run `{REGENERATE}` and commit it"
    )


def test_schema_offers_every_action_to_editors() -> None:
    schema = json.loads(schema_text())
    consts = {
        definition["properties"]["uses"].get("const")
        for definition in schema["$defs"].values()
        if "uses" in definition.get("properties", {})
    }
    assert consts == set(ACTION_ARGS)
