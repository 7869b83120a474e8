"""Finding playbooks by name and checking the inputs a crisis lead gives one by hand."""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import Any

from firebreak.playbook.loader import load_playbook
from firebreak.playbook.model import Playbook


class PlaybookNotFound(LookupError):
    pass


def available(playbooks_dir: Path) -> list[str]:
    """Names of the playbooks in the folder (file stems; rehearsal and role files excluded)."""
    return sorted(
        p.stem
        for p in playbooks_dir.glob("*.yaml")
        if not p.name.endswith(".rehearsal.yaml") and not p.name.startswith("roles.")
    )


def load_named(playbooks_dir: Path, name: str) -> Playbook:
    path = playbooks_dir / f"{name}.yaml"
    if "/" in name or "\\" in name or not path.is_file():
        names = available(playbooks_dir)
        close = difflib.get_close_matches(name, names, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise PlaybookNotFound(
            f"No playbook named {name!r} in {playbooks_dir}.{hint} "
            f"Available: {', '.join(names) or 'none'}."
        )
    return load_playbook(path)


_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def coerce_inputs(playbook: Playbook, given: dict[str, Any]) -> dict[str, Any]:
    """Check given inputs against the playbook's `inputs:`; every problem in one message."""
    specs = playbook.inputs or {}
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key in given:
        if key not in specs:
            known = ", ".join(specs) or "none"
            problems.append(f"unknown input {key!r} (this playbook takes: {known})")
    for key, spec in specs.items():
        kind = str(getattr(spec, "type", "string"))
        if key not in given:
            default = getattr(spec, "default", None)
            if default is not None:
                values[key] = default
            elif getattr(spec, "required", False):
                problems.append(f"input {key!r} is required ({kind})")
            continue
        raw = given[key]
        try:
            values[key] = _coerce(kind, raw, getattr(spec, "choices", None))
        except ValueError as exc:
            problems.append(f"input {key!r}: {exc}")
    if problems:
        raise ValueError("; ".join(problems))
    return values


def _coerce(kind: str, raw: Any, choices: list[Any] | None) -> Any:
    if kind == "number":
        if isinstance(raw, bool):
            raise ValueError(f"expected a number, got {raw!r}")
        try:
            return float(raw) if not isinstance(raw, int | float) else raw
        except (TypeError, ValueError):
            raise ValueError(f"expected a number, got {raw!r}") from None
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower()
        if text in _TRUE | _FALSE:
            return text in _TRUE
        raise ValueError(f"expected true or false, got {raw!r}")
    if kind == "choice":
        if choices and raw not in choices:
            raise ValueError(f"{raw!r} is not one of {', '.join(map(str, choices))}")
        return raw
    if not isinstance(raw, str):
        raise ValueError(f"expected text, got {raw!r}")
    return raw


def parse_inputs(playbook: Playbook, pairs: list[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs from the command line, checked against the playbook."""
    given: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--input {pair!r}: write KEY=VALUE")
        given[key.strip()] = value
    return coerce_inputs(playbook, given)
