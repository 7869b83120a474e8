"""The playbook language: models, loading with located errors, validation, schema and graph."""

from firebreak.playbook.loader import (
    Diagnostic,
    PlaybookError,
    load_playbook,
    load_playbook_text,
)
from firebreak.playbook.model import (
    ACTION_ARGS,
    ACTION_OUTPUTS,
    BRANCHES,
    Playbook,
    Step,
    StepBase,
)
from firebreak.playbook.validate import validate_paths

__all__ = [
    "ACTION_ARGS",
    "ACTION_OUTPUTS",
    "BRANCHES",
    "Diagnostic",
    "Playbook",
    "PlaybookError",
    "Step",
    "StepBase",
    "load_playbook",
    "load_playbook_text",
    "validate_paths",
]
