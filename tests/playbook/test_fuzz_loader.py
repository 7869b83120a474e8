"""Arbitrary input to the loader gives diagnostics, never an exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firebreak.playbook.validate import validate_text

STORM = (Path(__file__).parent / "fixtures" / "storm.yaml").read_text()
TEMPLATES = Path(__file__).parent / "fixtures" / "templates"

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
keys = st.sampled_from(
    ["name", "version", "steps", "id", "uses", "with", "needs", "if", "roles", "on_timeout"]
) | st.text(max_size=8)
documents = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=5)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=300))
def test_arbitrary_text_gives_diagnostics_not_exceptions(text: str) -> None:
    playbook, diagnostics = validate_text(text, "fuzz.yaml", templates_dir=TEMPLATES)
    assert playbook is None or not diagnostics
    assert all(d.line >= 1 and d.column >= 1 and d.message for d in diagnostics)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_arbitrary_structures_give_diagnostics(data: object) -> None:
    import json

    _, diagnostics = validate_text(json.dumps(data), "fuzz.yaml", templates_dir=TEMPLATES)
    assert all(d.line >= 1 and d.column >= 1 for d in diagnostics)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, len(STORM) - 1), st.integers(1, 20), st.text(max_size=12))
def test_mutated_playbooks_give_diagnostics(position: int, cut: int, insert: str) -> None:
    text = STORM[:position] + insert + STORM[position + cut :]
    playbook, diagnostics = validate_text(text, "fuzz.yaml", templates_dir=TEMPLATES)
    assert playbook is not None or diagnostics


def test_alias_bomb_is_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(8)
    )
    _, diagnostics = validate_text(bomb, "bomb.yaml", templates_dir=TEMPLATES)
    assert "too large" in diagnostics[0].message
