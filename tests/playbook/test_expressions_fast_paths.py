"""The compiler's specialised shapes (trigger filters) give what the general path gives.

Each case writes the same test twice: once in the shape the compiler specialises (a literal
needle, `contains(lower(x), ...)` joined by `or`, `root.key == literal`, `x in [literals]`, one or
two arguments) and once passing the literal through a name, which takes the general call path.
Values, errors, messages and columns must agree.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from firebreak.expressions import (
    MAX_SEQUENCE_LENGTH,
    ExpressionError,
    MissingValueError,
    compile_expression,
)


def outcome(src: str, **context: object) -> tuple[str, object]:
    """("value", v) or ("error", (type, message, column)): what a user of the expression sees."""
    try:
        return "value", compile_expression(src).evaluate(context)
    except ExpressionError as exc:
        return "error", (type(exc).__name__, exc.message, exc.column)


def test_lowercasing_is_idempotent_which_the_fused_contains_relies_on() -> None:
    # `contains(lower(x), 'a')` lowers x once where the general path lowers it twice.
    changed = [
        code
        for code in range(sys.maxunicode + 1)
        if (lowered := chr(code).lower()) != lowered.lower() or "Σ" in lowered
    ]
    assert changed == []
    assert "ὈΔΥΣΣΕΎΣ".lower() == "ὈΔΥΣΣΕΎΣ".lower().lower()  # final sigma, in context


TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["The CEO lied", "SERVICE DOWN", "İstanbul", "ΣΊΣΥΦΟΣ", "straße"]),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
)
# Greek small sigma, "ss" (from ß) and i + combining dot (from İ): lowercasing's odd corners.
NEEDLES = st.one_of(
    st.text(max_size=4), st.sampled_from(["ceo", "CEO", "down", "\u03c3", "ss", "i\u0307"])
)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, first=NEEDLES, second=NEEDLES)
def test_or_of_contains_on_one_lowered_text_agrees_with_the_general_path(
    text: object, first: str, second: str
) -> None:
    fused = f"contains(lower(signal.text), {first!r}) or contains(lower(signal.text), {second!r})"
    general = "contains(lower(signal.text), a) or contains(lower(signal.text), b)"
    signal = {"text": text}
    assert outcome(fused, signal=signal) == outcome(general, signal=signal, a=first, b=second)
    expected = first.lower() in str(text).lower() or second.lower() in str(text).lower()
    assert outcome(fused, signal=signal) == ("value", expected)


@settings(max_examples=200, deadline=None)
@given(container=TEXTS, needle=NEEDLES)
def test_contains_with_a_literal_needle_agrees_with_the_general_path(
    container: object, needle: str
) -> None:
    signal = {"x": container}
    assert outcome(f"contains(signal.x, {needle!r})", signal=signal) == outcome(
        "contains(signal.x, n)", signal=signal, n=needle
    )


def test_contains_with_a_literal_is_case_insensitive_on_text_only() -> None:
    signal = {"text": "Flight CANCELLED again", "tags": ["outage", "refund"], "n": 5}
    assert outcome("contains(signal.text, 'cancelled')", signal=signal) == ("value", True)
    assert outcome("contains(signal.tags, 'outage')", signal=signal) == ("value", True)
    assert outcome("contains(signal.tags, 'OUTAGE')", signal=signal) == ("value", False)
    assert outcome("contains(signal.n, 'x')", signal=signal) == (
        "error",
        ("ExpressionError", "contains(): argument of type 'int' is not iterable", 1),
    )


def test_or_of_contains_reports_a_missing_key_where_the_first_read_is() -> None:
    src = "signal.label == 'negative' and (contains(lower(signal.txt), 'down') or "
    src += "contains(lower(signal.txt), 'not working'))"
    with pytest.raises(MissingValueError) as caught:
        compile_expression(src).evaluate({"signal": {"label": "negative", "text": "down"}})
    assert caught.value.message == "signal has no key 'txt' (available: label, text)"
    assert caught.value.column == src.index("txt") + 1


def test_or_of_contains_on_different_texts_is_not_merged() -> None:
    src = "contains(lower(signal.text), 'ceo') or contains(lower(signal.author), 'ceo')"
    context = {"signal": {"text": "nothing", "author": "The_CEO"}}
    assert compile_expression(src).evaluate(context) is True


def test_lowered_text_over_the_length_limit_is_refused_at_the_lower_call() -> None:
    src = "contains(lower(signal.text), 'a') or contains(lower(signal.text), 'b')"
    kind, (name, message, column) = outcome(src, signal={"text": "x" * (MAX_SEQUENCE_LENGTH + 1)})
    assert (kind, name, column) == ("error", "ExpressionError", src.index("lower") + 1)
    assert message.startswith("result too long")
    assert outcome(src, signal={"text": "b" * MAX_SEQUENCE_LENGTH}) == ("value", True)


@pytest.mark.parametrize(
    "src",
    [
        "len()",
        "len(signal.text)",
        "len(signal.n)",
        "lower(signal.text)",
        "upper(signal.text, 1)",
        "startswith(signal.text, 'Fli')",
        "startswith(signal.text, signal.text)",
        "endswith(signal.n, 'x')",
        "round(signal.f, 1)",
        "round(signal.f)",
        "min(signal.n, 2, 3)",
        "max(signal.tags)",
        "any(signal.tags)",
        "int(signal.text)",
        "join(signal.tags, signal.text)",
        "format('{} {}', signal.n, signal.text)",
        "'storm:' + lower(default(signal.brand, 'all'))",
        "'storm:' + signal.n",
        "'n' + signal.tags",
    ],
)
def test_calls_of_every_arity_agree_with_literals_passed_through_names(src: str) -> None:
    signal = {"text": "Flight", "n": 5, "f": 2.567, "tags": ["a", "b"]}
    general = src.replace("'Fli'", "fli").replace("'x'", "x").replace(", 1)", ", one)")
    general = general.replace("'storm:'", "storm").replace("'n' +", "n +")
    context = {"fli": "Fli", "x": "x", "one": 1, "storm": "storm:", "n": "n"}
    assert outcome(src, signal=signal, **context) == outcome(general, signal=signal, **context)


def test_calls_on_literals_are_computed_once_and_their_errors_stay_at_evaluation() -> None:
    assert outcome("lower('ACME') + upper('x')") == ("value", "acmeX")
    assert outcome("contains('Acme Air', 'AIR')") == ("value", True)
    expression = compile_expression("int('seven')")  # compiles: the error is the evaluation's
    with pytest.raises(ExpressionError, match=r"int\(\): invalid literal") as caught:
        expression.evaluate({})
    assert caught.value.column == 1


def test_length_limits_still_hold_on_results_that_can_grow() -> None:
    long_list = ["x"] * (MAX_SEQUENCE_LENGTH + 1)
    kind, (_, message, _) = outcome("str(signal.tags)", signal={"tags": long_list})
    assert kind == "error"
    assert message.startswith("result too long")
    assert outcome("'storm:' + signal.text", signal={"text": "x" * MAX_SEQUENCE_LENGTH})[0] == (
        "error"
    )
    assert outcome("len(signal.tags)", signal={"tags": long_list}) == (
        "value",
        MAX_SEQUENCE_LENGTH + 1,
    )


@pytest.mark.parametrize(
    ("src", "literal", "expected"),
    [
        ("signal.kind in ['complaint', 'venting']", ["complaint", "venting"], True),
        ("signal.kind not in ['complaint', 'venting']", ["complaint", "venting"], False),
        ("signal.kind in ('praise', 'question')", ("praise", "question"), False),
        ("signal.label == 'negative'", "negative", True),
        ("signal.label != 'negative'", "negative", False),
        ("signal.n >= 5", 5, True),
        ("signal.missing == 5", 5, "signal has no key 'missing' (available: kind, label, n, tags)"),
        ("signal.kind < 3", 3, "cannot compare signal.kind (str) < {} (int)"),
        ("signal.kind in 3", 3, "cannot compare signal.kind (str) in {} (int)"),
        ("signal.n in 'abc'", "abc", "cannot compare signal.n (int) in {} (str)"),
        ("signal.tags in [5, 3]", [5, 3], False),
        ("len(signal.tags) in [1, 2]", [1, 2], True),
    ],
)
def test_comparisons_with_literals_agree_with_the_general_path(
    src: str, literal: object, expected: object
) -> None:
    signal = {"kind": "complaint", "label": "negative", "n": 5, "tags": ["a", "b"]}
    # The same comparison with the literal behind a name takes the general path.
    written = repr(literal).replace('"', "'") if not isinstance(literal, int) else str(literal)
    assert written in src
    general = src.replace(written, "lit")
    fast = outcome(src, signal=signal)
    slow = outcome(general, signal=signal, lit=literal)
    if isinstance(expected, str):
        assert fast[0] == slow[0] == "error"
        assert fast[1][1] == expected.format(written)  # type: ignore[index]
        assert slow[1][1] == expected.format("lit")  # type: ignore[index]
        assert fast[1][2] == slow[1][2]  # type: ignore[index]
    else:
        assert fast == slow == ("value", expected)


def test_a_key_of_a_constant_name_is_never_read_from_the_context() -> None:
    kind, (name, message, _) = outcome("true.x == 1", true={"x": 1})
    assert (kind, name) == ("error", "ExpressionError")
    assert "cannot read 'x' from true" in message


def test_root_key_comparisons_read_dataclass_fields_and_name_missing_ones() -> None:
    @dataclass
    class Signal:
        label: str

    assert outcome("signal.label == 'negative'", signal=Signal("negative")) == ("value", True)
    assert outcome("signal.kind == 'x'", signal=Signal("negative")) == (
        "error",
        ("MissingValueError", "signal has no key 'kind' (available: label)", 8),
    )
    assert outcome("signal.label == 'x'", other={}) == (
        "error",
        ("MissingValueError", "undefined name 'signal' (available: other)", 1),
    )


@pytest.mark.parametrize(
    ("signal", "expected"),
    [
        ({"label": "negative", "kind": "complaint"}, ("value", "complaint")),
        ({"label": "positive", "kind": "complaint"}, ("value", False)),
        ({"label": "negative", "kind": ""}, ("value", "")),
        (
            {"label": "negative"},
            ("error", ("MissingValueError", "signal has no key 'kind' (available: label)", 39)),
        ),
        (
            {"kind": "complaint"},
            ("error", ("MissingValueError", "signal has no key 'label' (available: kind)", 8)),
        ),
        ({"label": 3, "kind": "complaint"}, ("value", False)),
    ],
)
def test_and_after_a_key_test_agrees_with_the_general_path(
    signal: dict[str, object], expected: tuple[str, object]
) -> None:
    assert outcome("signal.label == 'negative' and signal.kind", signal=signal) == expected
    for op in ("==", "!=", "<"):
        fast = outcome(f"signal.label {op} 'negative' and signal.kind", signal=signal)
        slow = outcome(f"signal.label {op} lit and signal.kind", signal=signal, lit="negative")
        if fast[0] == "error":
            kind, message, column = fast[1]  # type: ignore[misc]
            slow_kind, slow_message, slow_column = slow[1]  # type: ignore[misc]
            assert (kind, message) == (slow_kind, slow_message.replace("lit", "'negative'"))
            # Columns after the literal shift by the literal's length against `lit`.
            assert column in (slow_column, slow_column + len("'negative'") - len("lit"))
        else:
            assert fast == slow
