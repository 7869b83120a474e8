"""What a trigger's expressions may read, checked before a single signal arrives.

A filter that reads `signal.lable` (a typo) or a severity that gives `'high'` is valid Python and
valid YAML: without these checks the trigger loads and then never fires, or its incidents never
page anyone. Playbook validation (`firebreak.playbook.validate`) turns each `Problem` into a
`file:line:column` diagnostic.

The fields a signal has are those of the stored signal row (`firebreak.store.models.Signal`, less
its database id): exactly what ingestion hands to detection, triage outputs included, so a field
triage adds to the model is readable in triggers without a change here.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from firebreak.detection.engine import WINDOW_FIELDS
from firebreak.detection.spec import expression_source
from firebreak.expressions import ExpressionError, compile_expression
from firebreak.incidents import SEVERITIES

# The root names each trigger expression is evaluated with (see `engine.Detector`).
CONTEXT_NAMES: dict[str, tuple[str, ...]] = {
    "signals": ("signal",),
    "scope": ("signal",),
    "severity": ("window", "signal", "scope"),
}


@cache
def signal_fields() -> tuple[str, ...]:
    """The keys of the signal mapping a trigger reads, from the stored signal's model."""
    from firebreak.store.models import Signal

    return tuple(name for name in Signal.model_fields if name != "id")


@dataclass(frozen=True, slots=True)
class Problem:
    """One fault in the trigger's `key` (signals, scope or severity); `offset` is the 0-based
    character in that string where it was written (None: the whole value)."""

    key: str
    message: str
    hint: str | None = None
    offset: int | None = None


def trigger_problems(trigger: Any) -> list[Problem]:
    """Every unknown name, field or severity in a raw `trigger:` mapping; [] if it is not one.

    Syntax errors are left to the trigger model, which reports them when it validates.
    """
    if not isinstance(trigger, Mapping):
        return []
    problems: list[Problem] = []
    for key, roots in CONTEXT_NAMES.items():
        text = trigger.get(key)
        if not isinstance(text, str):
            continue
        source = expression_source(text)
        if source is None:
            continue  # a literal severity is checked by the trigger model itself
        try:
            expression = compile_expression(source)
        except ExpressionError:
            continue
        start = text.find(source)
        for name in sorted(expression.names - set(roots)):
            problems.append(
                Problem(
                    key,
                    f"trigger.{key} reads undefined name {name!r}",
                    f"names available here: {', '.join(roots)}",
                    _find(text, rf"\b{re.escape(name)}\b", start),
                )
            )
        for chain in sorted(expression.paths):
            problems.extend(_field_problems(key, text, start, chain))
        if key == "severity":
            problems.extend(_severity_results(key, text, start, source))
    return problems


def _field_problems(key: str, text: str, start: int, chain: tuple[str, ...]) -> Iterable[Problem]:
    if len(chain) < 2 or chain[0] not in ("signal", "window"):
        return
    root, name = chain[0], chain[1]
    fields = signal_fields() if root == "signal" else WINDOW_FIELDS
    if name in fields:
        return
    near = difflib.get_close_matches(name, fields, n=2, cutoff=0.6)
    said = f"did you mean {' or '.join(repr(n) for n in near)}? " if near else ""
    what = "a signal" if root == "signal" else "an alert's window"
    yield Problem(
        key,
        f"{root}.{name} is not a field of {what}, so this trigger would never match it",
        f"{said}fields of {root}: {', '.join(fields)}",
        _find(text, rf"\b{root}\s*(\.\s*|\[\s*['\"])(?={re.escape(name)}\b)", start, end=True),
    )


def _severity_results(key: str, text: str, start: int, source: str) -> Iterable[Problem]:
    """Literal texts the severity expression can give (the branches of its `x if c else y`)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError:
        return
    lead = source.find(source.strip())
    todo: list[ast.expr] = [tree.body]
    while todo:
        node = todo.pop()
        if isinstance(node, ast.IfExp):
            todo.extend((node.body, node.orelse))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value not in SEVERITIES
        ):
            yield _bad_severity(key, node.value, start + lead + node.col_offset)


def _bad_severity(key: str, value: str, offset: int | None) -> Problem:
    message, hint = severity_message(value)
    return Problem(key, message, hint, offset)


def severity_message(value: str) -> tuple[str, str]:
    """(message, hint) for a severity that is not one of sev1..sev4."""
    near = difflib.get_close_matches(value, SEVERITIES, n=1, cutoff=0.6)
    said = f"did you mean {near[0]!r}? " if near else ""
    return (
        f"severity {value!r} is not one of {', '.join(SEVERITIES)}",
        f"{said}sev1 is the gravest, sev4 the mildest",
    )


def _find(text: str, pattern: str, start: int, *, end: bool = False) -> int | None:
    """Offset in `text` of the first match of `pattern` at or after `start` (its end if asked)."""
    found = re.search(pattern, text[start:]) if start >= 0 else None
    if found is None:
        return None
    return start + (found.end() if end else found.start())
