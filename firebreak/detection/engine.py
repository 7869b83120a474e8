"""The detection engine: per playbook trigger and scope, live rules fed one signal at a time.

A signal is a plain dict (see `docs/detection.md`): `created_at` (tz-aware datetime) and `value`
(1 for a mention, the count for a volume signal) are what every rule reads; `author_reach` and
`label` feed the reach and negative-share rules; the trigger's expressions may read any key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from firebreak.detection.rules import LiveRule, live_rules
from firebreak.detection.spec import Trigger, expression_source
from firebreak.expressions import ExpressionError, compile_expression
from firebreak.incidents import SEVERITIES

log = logging.getLogger(__name__)

DEFAULT_SEVERITY = "sev2"
# What a severity expression reads as `window` (see `Detector._alert`); validation checks
# `window.<name>` against it.
WINDOW_FIELDS = (
    "count",
    "reach",
    "negative_share",
    "value",
    "baseline",
    "factor",
    "rule",
    "within",
)
# A spike baseline's daily rhythm needs about a week of history to be relearned after a restart.
REBUILD_SPIKE_DAYS = 7


@dataclass(frozen=True, slots=True)
class Alert:
    """A trigger crossing: when, how grave, what crossed and against what, for whom."""

    at: datetime
    severity: str
    value: float
    baseline: float
    rule: str
    scope: str
    playbook: str
    window: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """The JSON object `firebreak detect --json` prints."""
        return {
            "at": self.at.isoformat(),
            "severity": self.severity,
            "value": round(self.value, 3),
            "baseline": round(self.baseline, 3),
            "rule": self.rule,
            "scope": self.scope,
        }


Evaluate = Callable[[Mapping[str, Any]], Any]


def _compiled(text: str | None) -> Evaluate | None:
    if text is None:
        return None
    source = expression_source(text)
    if source is None:
        return None
    return compile_expression(source).evaluate


class _ScopeState:
    __slots__ = ("last_alert", "rules")

    def __init__(self, rules: list[LiveRule]) -> None:
        self.rules = rules
        self.last_alert: float | None = None


class Detector:
    """One playbook's trigger: filter, scope, live rules per scope, persistence and cooldown."""

    def __init__(self, playbook: str, trigger: Trigger) -> None:
        self.playbook = playbook
        self.trigger = trigger
        self._filter = _compiled(trigger.signals)
        self._scope = _compiled(trigger.scope)
        self._severity = _compiled(trigger.severity)
        self._fixed_severity = trigger.severity if self._severity is None else None
        self._rules = trigger.rules()
        self._persist = trigger.persist
        self._cooldown = trigger.cooldown.total_seconds()
        self.states: dict[str, _ScopeState] = {}
        self.unmatched = 0
        """Signals the filter or scope expression could not read (a missing key): not counted."""

    @property
    def horizon(self) -> timedelta:
        """How much signal history `rebuild` needs to restore this detector's state."""
        longest = max(rule.within for rule in self._rules.values())
        longest = max(longest, self.trigger.cooldown)
        for rule in (self.trigger.spike, self.trigger.burst):
            if rule is not None:
                longest = max(longest, rule.baseline, timedelta(days=REBUILD_SPIKE_DAYS))
        return longest

    def observe(self, signal: Mapping[str, Any]) -> Alert | None:
        context = {"signal": signal}
        if self._filter is not None:
            try:
                if not self._filter(context):
                    return None
            except ExpressionError:
                self.unmatched += 1
                return None
        return self.matched(signal, context)

    def matched(self, signal: Mapping[str, Any], context: Mapping[str, Any]) -> Alert | None:
        """Count a signal the filter let through; `context` is `{"signal": signal}`, which may be
        shared with other detectors and is only read."""
        if self._scope is None:
            scope = self.playbook
        else:
            try:
                scope = str(self._scope(context))
            except ExpressionError:
                self.unmatched += 1
                return None
        state = self.states.get(scope)
        if state is None:
            state = self.states[scope] = _ScopeState(live_rules(self._rules))
        timestamp = signal["created_at"].timestamp()
        weight = signal.get("value", 1.0)
        if weight is None:
            weight = 1.0
        reach = signal.get("author_reach") or 0
        negative = signal.get("label") == "negative"
        persist = self._persist
        last = state.last_alert
        fired: LiveRule | None = None
        for rule in state.rules:
            above = rule.update(timestamp, weight, reach, negative)
            if rule.persisted(above) >= (rule.persist or persist) and fired is None:
                # A rule with its own cooldown (a fast burst rule) is held back only by an
                # alert within it, so a slow alert hours ago does not hide a new burst.
                cooldown = self._cooldown if rule.cooldown is None else rule.cooldown
                if last is None or timestamp - last >= cooldown:
                    fired = rule
        if fired is None:
            return None
        state.last_alert = timestamp
        return self._alert(fired, timestamp, scope, signal)

    def _alert(
        self, rule: LiveRule, timestamp: float, scope: str, signal: Mapping[str, Any]
    ) -> Alert:
        value, baseline = rule.reading(timestamp)
        sums = rule.sums
        window = {
            "count": sums.count,
            "reach": sums.reach,
            "negative_share": sums.negative_share,
            "value": value,
            "baseline": baseline,
            "factor": value / baseline if baseline > 0 else None,
            "rule": rule.name,
            "within": rule.sums.bucket_seconds * rule.sums.size,
        }
        severity = self._fixed_severity or DEFAULT_SEVERITY
        if self._severity is not None:
            try:
                severity = str(self._severity({"window": window, "signal": signal, "scope": scope}))
            except ExpressionError as exc:
                # An alert must not be lost to a severity typo; the default is used instead.
                log.warning("playbook %s: severity expression failed: %s", self.playbook, exc)
            if severity not in SEVERITIES:
                # e.g. read from a signal field: validation cannot see it; an unknown severity
                # would rank below sev4 and never page anyone.
                log.warning(
                    "playbook %s: severity expression gave %r, not one of %s: using %s",
                    self.playbook,
                    severity,
                    ", ".join(SEVERITIES),
                    DEFAULT_SEVERITY,
                )
                severity = DEFAULT_SEVERITY
        return Alert(
            at=datetime.fromtimestamp(timestamp, UTC),
            severity=severity,
            value=value,
            baseline=baseline,
            rule=rule.name,
            scope=scope,
            playbook=self.playbook,
            window=window,
        )

    def last_alerts(self) -> dict[str, datetime]:
        return {
            scope: datetime.fromtimestamp(state.last_alert, UTC)
            for scope, state in self.states.items()
            if state.last_alert is not None
        }

    def remember_alert(self, scope: str, at: datetime) -> None:
        """Record an alert raised before a restart, so cooldown holds across it."""
        state = self.states.get(scope)
        if state is None:
            state = self.states[scope] = _ScopeState(live_rules(self._rules))
        stamp = at.timestamp()
        if state.last_alert is None or stamp > state.last_alert:
            state.last_alert = stamp


class DetectionEngine:
    """All playbooks' detectors; `feed` signals in time order and get the alerts they raise."""

    def __init__(self, triggers: Mapping[str, Trigger]) -> None:
        self.detectors = [Detector(name, trigger) for name, trigger in triggers.items()]

    @property
    def horizon(self) -> timedelta:
        """Load at least this much stored history (before now) into `rebuild` after a restart."""
        return max((d.horizon for d in self.detectors), default=timedelta(0))

    def observe(self, signal: Mapping[str, Any]) -> list[Alert]:
        return self.feed((signal,))

    def feed(self, signals: Iterable[Mapping[str, Any]]) -> list[Alert]:
        # The per-signal loop of ingestion: one context per signal shared by every detector, and
        # each filter called from here, so a detector the signal does not match costs one call.
        detectors = [(detector, detector._filter, detector.matched) for detector in self.detectors]
        alerts: list[Alert] = []
        for signal in signals:
            context = {"signal": signal}
            for detector, accepts, matched in detectors:
                if accepts is not None:
                    try:
                        if not accepts(context):
                            continue
                    except ExpressionError:
                        detector.unmatched += 1
                        continue
                alert = matched(signal, context)
                if alert is not None:
                    alerts.append(alert)
        return alerts

    def rebuild(
        self,
        signals: Iterable[Mapping[str, Any]],
        last_alerts: Mapping[tuple[str, str], datetime] | None = None,
    ) -> list[Alert]:
        """Restore state from stored signals (the last `horizon` of them, in time order).

        The alerts the replay raises already happened before the restart: they are returned for
        reference, not to be acted on. `last_alerts` ((playbook, scope) -> time, e.g. from the
        incidents table) keeps cooldown when the replay alone would not reproduce them.
        """
        replayed = self.feed(signals)
        for detector in self.detectors:
            for (playbook, scope), at in (last_alerts or {}).items():
                if playbook == detector.playbook:
                    detector.remember_alert(scope, at)
        return replayed

    def last_alerts(self) -> dict[tuple[str, str], datetime]:
        return {
            (detector.playbook, scope): at
            for detector in self.detectors
            for scope, at in detector.last_alerts().items()
        }
