"""The trigger `firebreak detect` uses when no playbook is named: a spike over the daily rhythm.

These are the settings `bench/nab_eval.py` evaluates, chosen once for all series (see
docs/detection.md for why each value, and the figures they give).
"""

from __future__ import annotations

from firebreak.detection.spec import Trigger

DEFAULT_PLAYBOOK = "default-spike"

DEFAULT_SPIKE_TRIGGER = Trigger.model_validate(
    {
        "spike": {
            "factor": 2,
            "deviations": 3,
            "baseline": "24h",
            "min_count": 20,
            "within": "2h",
            "sustained": 20,
            "slack": 1.25,
        },
        "persist": 6,
        "cooldown": "24h",
        "severity": "${{ 'sev1' if window.factor >= 5 else 'sev2' }}",
    }
)
