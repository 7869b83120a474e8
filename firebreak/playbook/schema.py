"""The JSON schema editors use for playbooks, generated from the models.

Regenerate after changing a model: .venv/bin/python -m firebreak.playbook.schema
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from firebreak.playbook.model import Playbook

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "playbooks" / "playbook.schema.json"
REGENERATE = ".venv/bin/python -m firebreak.playbook.schema"


def playbook_schema() -> dict[str, Any]:
    schema = Playbook.model_json_schema(by_alias=True, mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://firebreak.dev/schemas/playbook.schema.json"
    schema["title"] = "Firebreak playbook"
    return schema


def schema_text() -> str:
    return json.dumps(playbook_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    target = Path(argv[0]) if argv else SCHEMA_PATH
    target.write_text(schema_text(), encoding="utf-8")
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
