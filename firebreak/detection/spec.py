"""The `trigger:` block of a playbook: which signals count and which rules open an incident.

Several rules may be given; any one crossing fires (they are alternatives, not a conjunction),
and `persist`, `cooldown` and `severity` apply to whichever rule crossed.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from firebreak.expressions import Duration, compile_expression
from firebreak.incidents import SEVERITIES

_OPEN, _CLOSE = "${{", "}}"


def expression_source(text: str) -> str | None:
    """The inside of a string that is exactly one `${{ ... }}`, else None (a literal)."""
    stripped = text.strip()
    if stripped.startswith(_OPEN) and stripped.endswith(_CLOSE):
        inner = stripped[len(_OPEN) : -len(_CLOSE)]
        if _OPEN not in inner:
            return inner.strip()
    return None


def _check_syntax(source: str) -> None:
    # Compiling at load time puts a syntax error in the playbook loader's file/line report
    # instead of failing on the first signal.
    compile_expression(source)


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ThresholdRule(_Rule):
    """At least `count` matching signals (summed `value` for volume signals) within `within`."""

    count: float = Field(gt=0)
    within: Duration


class SpikeRule(_Rule):
    """Volume over `within` at least `factor` times its expected level for this time of day,
    and at least `deviations` times further from it than the stream usually strays.

    The expectation is learned over `baseline` (level) and per time-of-day slot (daily rhythm);
    the usual deviation (of the log ratio) is learned too, so a steady stream fires on a smaller
    jump than a noisy one. `min_count` keeps tiny numbers from firing on noise.

    With `sustained` > 0 it also fires on a lasting moderate rise (say 1.3x for hours) that never
    reaches `factor`: at each bucket close the excess of the window's log ratio over its
    expectation, in usual deviations, less `slack`, is added to a CUSUM (floored at zero); the
    rule is above while that sum is at least `sustained`, the window is above expectation
    and at least `min_count`.
    """

    factor: float = Field(gt=1)
    baseline: Duration = timedelta(hours=24)
    min_count: float = Field(default=0, ge=0)
    within: Duration = timedelta(hours=1)
    deviations: float = Field(default=0, ge=0)
    sustained: float = Field(
        default=0,
        ge=0,
        description="CUSUM line, in usual deviations summed over buckets; 0 turns it off",
    )
    slack: float = Field(
        default=1, ge=0, description="Usual deviations per bucket the CUSUM forgives as noise"
    )


class BurstRule(_Rule):
    """A fast spike: the same test as `spike` (seasonal expectation, usual log deviation) on a
    short window, with its own `persist`, for bursts that must be caught in minutes.

    `within` is cut into `buckets` buckets (default 6: 5-minute buckets over 30 minutes, the
    cadence of a volume series); `persist` counts consecutive buckets above and overrides the
    trigger's, so a slow rule can demand an hour while this one answers in ten minutes.
    """

    factor: float = Field(gt=1)
    baseline: Duration = timedelta(hours=24)
    min_count: float = Field(default=0, ge=0)
    within: Duration = timedelta(minutes=30)
    deviations: float = Field(default=0, ge=0)
    buckets: int = Field(default=6, ge=2, le=60)
    persist: int = Field(default=2, ge=1)
    cooldown: Duration | None = Field(
        default=None,
        description="Held back only by an alert within this (any rule's); the trigger's when"
        " absent. Shorter than a slow rule's cooldown, a false alarm or a slow rise earlier in"
        " the day does not hide a new burst",
    )


class ReachRule(_Rule):
    """Summed author reach (followers) of matching signals within `within` at least `total`."""

    total: float = Field(gt=0)
    within: Duration


class NegativeShareRule(_Rule):
    """Share of negative signals within `within` at least `share`, over at least `min_count`."""

    share: float = Field(gt=0, le=1)
    min_count: float = Field(default=1, ge=1)
    within: Duration


class Trigger(BaseModel):
    """A playbook's trigger: a signal filter, one or more rules, persistence, cooldown, severity."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    signals: str | None = Field(
        default=None, description="Filter expression over `signal`; all signals when absent"
    )
    scope: str | None = Field(
        default=None, description="Expression naming the scope; the playbook name when absent"
    )
    threshold: ThresholdRule | None = None
    spike: SpikeRule | None = None
    burst: BurstRule | None = None
    reach: ReachRule | None = None
    negative_share: NegativeShareRule | None = None
    persist: int = Field(default=1, ge=1, description="Consecutive windows above before firing")
    cooldown: Duration = Field(
        default=timedelta(hours=1), description="No new alert for the same scope within this"
    )
    severity: str = Field(
        default="sev2", description="A severity, or an expression over `window` giving one"
    )

    @field_validator("signals", "scope")
    @classmethod
    def _must_be_expression(cls, value: str | None) -> str | None:
        if value is None:
            return None
        source = expression_source(value)
        if source is None:
            raise ValueError("must be an expression written as ${{ ... }}")
        _check_syntax(source)
        return value

    @field_validator("severity")
    @classmethod
    def _severity_syntax(cls, value: str) -> str:
        source = expression_source(value)
        if source is not None:
            _check_syntax(source)
        elif value not in SEVERITIES:
            # An unknown severity ranks below sev4: its incidents would never page anyone.
            raise ValueError(
                f"severity {value!r} is not one of {', '.join(SEVERITIES)} (sev1 is the gravest),"
                " nor an expression written as ${{ ... }}"
            )
        return value

    @model_validator(mode="after")
    def _at_least_one_rule(self) -> Trigger:
        if not self.rules():
            raise ValueError(
                "a trigger needs at least one rule: threshold, spike, burst, reach or"
                " negative_share"
            )
        return self

    def rules(self) -> dict[str, Any]:
        """The rules given, by name, in a fixed order."""
        names = ("threshold", "spike", "burst", "reach", "negative_share")
        return {name: getattr(self, name) for name in names if getattr(self, name) is not None}
