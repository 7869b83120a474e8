"""The `${{ ... }}` language: what playbook authors write and what they get back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from firebreak.expressions import (
    Duration,
    ExpressionError,
    MissingValueError,
    compile_condition,
    compile_expression,
    compile_value,
    format_duration,
    parse_duration,
)

SIGNAL = {"sentiment": -0.5, "brand": "acme", "reach": 1200, "tags": ["outage", "refund"]}


def evaluate(src: str, **context: object) -> object:
    return compile_expression(src).evaluate(context)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("signal.sentiment < -0.3 and signal.brand == 'acme'", True),
        ("signal.sentiment < -0.9 or signal.reach > 1000", True),
        ("not signal.sentiment < 0", False),
        ("signal.reach * 2 + 1", 2401),
        ("signal.reach // 7 % 5", 1),
        ("signal.reach / 1000", 1.2),
        ("'refund' in signal.tags", True),
        ("'x' not in signal.tags", True),
        ("signal.tags[0]", "outage"),
        ("signal.tags[-1]", "refund"),
        ("signal['brand']", "acme"),
        ("signal.tags[0:1]", ["outage"]),
        ("'sev1' if signal.reach > 1000 else 'sev2'", "sev1"),
        ("0 < signal.reach < 10000", True),
        ("0 < signal.reach < 100", False),
        ("len(signal.tags)", 2),
        ("upper(signal.brand)", "ACME"),
        ("lower('ACME')", "acme"),
        ("contains(signal.brand, 'CM')", True),
        ("startswith(signal.brand, 'ac')", True),
        ("endswith(signal.brand, 'me')", True),
        ("any([signal.reach > 5000, signal.sentiment < 0])", True),
        ("all([signal.reach > 5000, signal.sentiment < 0])", False),
        ("min(3, 1, 2)", 1),
        ("max(signal.tags)", "refund"),
        ("round(2.567, 1)", 2.6),
        ("round(2.5)", 2),
        ("abs(signal.sentiment)", 0.5),
        ("int('7') + float('0.5')", 7.5),
        ("str(3)", "3"),
        ("join(signal.tags, ' / ')", "outage / refund"),
        ("duration('1h30m')", 5400.0),
        ("format('{} at {}', signal.brand, 3)", "acme at 3"),
        ("default(signal.missing, 'n/a')", "n/a"),
        ("default(nothing.at.all, 0)", 0),
        ("default(signal.brand, 'n/a')", "acme"),
        ("true and not false", True),
        ("signal.none is null", True),
        ("{'a': [1, 2]}['a'][1]", 2),
        ("(1, 2)", [1, 2]),
    ],
)
def test_evaluates_python_like_syntax(src: str, expected: object) -> None:
    assert evaluate(src, signal={**SIGNAL, "none": None}) == expected


def test_names_lists_the_root_names_read_and_paths_the_chains() -> None:
    expression = compile_expression("steps.war_room.channel + incident['number'] if len(x) else y")
    assert expression.names == {"steps", "incident", "x", "y"}
    assert ("steps", "war_room", "channel") in expression.paths
    assert ("incident", "number") in expression.paths


def test_undefined_name_is_an_error_that_lists_available_names() -> None:
    with pytest.raises(MissingValueError) as caught:
        evaluate("signal.sentiment < 0 and brnd == 'acme'", signal=SIGNAL, incident={})
    assert "undefined name 'brnd'" in caught.value.message
    assert "available: incident, signal" in caught.value.message
    assert caught.value.column == 26


def test_missing_key_names_the_key_the_container_and_what_exists() -> None:
    with pytest.raises(MissingValueError) as caught:
        evaluate("1 + steps.war_room.chanel", steps={"war_room": {"channel": "C1", "ts": "1"}})
    assert caught.value.message == ("steps.war_room has no key 'chanel' (available: channel, ts)")
    assert caught.value.column == 20


def test_index_out_of_range_and_wrong_types_are_errors() -> None:
    with pytest.raises(MissingValueError, match="has no item 5"):
        evaluate("signal.tags[5]", signal=SIGNAL)
    with pytest.raises(ExpressionError, match="index it with a whole number"):
        evaluate("signal.tags[1.5]", signal={"tags": [1]})
    with pytest.raises(ExpressionError, match="not a mapping"):
        evaluate("signal.brand.name", signal=SIGNAL)
    with pytest.raises(ExpressionError, match=r"cannot compare signal.brand \(str\) < 3 \(int\)"):
        evaluate("signal.brand < 3", signal=SIGNAL)
    with pytest.raises(ExpressionError, match="cannot compute int / int"):
        evaluate("1 / signal.zero", signal={"zero": 0})
    with pytest.raises(ExpressionError, match=r"len\(\)"):
        evaluate("len(signal.reach)", signal=SIGNAL)


@pytest.mark.parametrize(
    ("src", "fragment", "column"),
    [
        ("signal.__class__", "'_' are not readable", 8),
        ("signal['_secret']", "'_' are not readable", 1),
        ("_private", "names starting with '_'", 1),
        ("__import__('os')", "unknown function '__import__'", 1),
        ("signal..x", "syntax error", 8),
        ("signal.brand.upper()", "only these functions can be called", 1),
        ("open('/etc/passwd')", "unknown function 'open'", 1),
        ("lenn(x)", "did you mean len", 1),
        ("[c for c in x]", "comprehensions are not available", 1),
        ("lambda: 1", "lambdas are not available", 1),
        ("2 ** 99999999", "** is not available", 1),
        ("1 + ", "syntax error", 4),
        ("(x := 1)", "assignment is not available", 2),
        ("f'{x}'", "f-strings are not available", 1),
        ("len", "len is a function", 1),
        ("duration('15 minutes')", "invalid duration", 10),
        ("len(x, key=1)", "positional arguments only", 12),
        ("x is 1", "'is' only compares with null", 6),
        ("", "empty expression", 1),
    ],
)
def test_refused_at_compile_time_with_a_column(src: str, fragment: str, column: int) -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_expression(src)
    assert fragment in caught.value.message
    assert caught.value.column == column


def test_dynamic_underscore_keys_are_refused_at_run_time() -> None:
    with pytest.raises(ExpressionError, match="'_' are not readable"):
        evaluate("signal[key]", signal={"_x": 1}, key="_x")


def test_huge_results_are_refused() -> None:
    with pytest.raises(ExpressionError, match="too long"):
        evaluate("'x' * 1000000000")


def test_format_does_not_walk_attributes() -> None:
    with pytest.raises(ExpressionError, match="only"):
        evaluate("format('{0.__class__}', 1)")


def test_dataclass_and_pydantic_fields_are_readable_but_nothing_else() -> None:
    @dataclass
    class Incident:
        number: int

    class Window(BaseModel):
        reach: int

    context = {"incident": Incident(7), "window": Window(reach=3)}
    assert compile_expression("incident.number + window.reach").evaluate(context) == 10
    with pytest.raises(MissingValueError, match=r"has no key 'model_dump' \(available: reach\)"):
        compile_expression("window.model_dump").evaluate(context)


def test_conditions_accept_delimited_or_bare_text_and_keep_columns() -> None:
    condition = compile_condition("${{ incident.severity == 'sev1' }}")
    assert condition.evaluate({"incident": {"severity": "sev1"}}) is True
    assert compile_condition("a > 1").evaluate({"a": 2}) is True
    assert compile_condition(True).evaluate({}) is True
    with pytest.raises(ExpressionError) as caught:
        compile_condition("${{ incident.__dict__ }}")
    assert caught.value.column == 14
    with pytest.raises(ExpressionError, match="single"):
        compile_condition("x ${{ a }}")


def test_values_render_templates_natives_and_nested_structures() -> None:
    value = compile_value(
        {
            "name": "crisis-${{ incident.number }}",
            "count": "${{ incident.number }}",
            "flag": "${{ incident.open }}",
            "text": "open: ${{ incident.open }}, none: '${{ incident.none }}'",
            "list": ["${{ steps.war_room.channel }}", 3, None],
            "dict_literal": "${{ {'a': {'b': incident.number}} }}",
            "plain": "no expressions here",
        }
    )
    context = {
        "incident": {"number": 7, "open": True, "none": None},
        "steps": {"war_room": {"channel": "C1"}},
    }
    assert value.render(context) == {
        "name": "crisis-7",
        "count": 7,
        "flag": True,
        "text": "open: true, none: ''",
        "list": ["C1", 3, None],
        "dict_literal": {"a": {"b": 7}},
        "plain": "no expressions here",
    }
    assert value.names == {"incident", "steps"}
    assert ("steps", "war_room", "channel") in value.paths
    located = {path: expression.source for path, expression in value.expressions()}
    assert located[("list", 0)] == " steps.war_room.channel "


def test_value_errors_carry_path_and_column_in_the_string() -> None:
    with pytest.raises(ExpressionError) as caught:
        compile_value({"blocks": [1, "text ${{ steps..x }}"]})
    assert caught.value.path == ("blocks", 1)
    assert caught.value.column == 16
    with pytest.raises(ExpressionError, match="never closed"):
        compile_value("hello ${{ name")


def test_rendering_a_missing_value_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(MissingValueError):
        compile_value("hi ${{ person.name }}").render({"person": {}})


def test_plain_values_pass_through() -> None:
    assert compile_value(3).render({}) == 3
    assert compile_value(None).render({}) is None
    assert compile_value("x").names == frozenset()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("1w", timedelta(weeks=1)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected
    assert parse_duration(format_duration(expected)) == expected


@pytest.mark.parametrize("bad", ["", "15", "15x", "m", "1m1h", "-5m", 30, None, True])
def test_bad_durations_say_how_to_write_one(bad: object) -> None:
    with pytest.raises(ValueError, match=r"invalid duration .* e\.g\. 90s, 15m"):
        parse_duration(bad)  # type: ignore[arg-type]


def test_duration_field_type_validates_and_serialises_as_text() -> None:
    adapter = TypeAdapter(Duration)
    assert adapter.validate_python("1h30m") == timedelta(minutes=90)
    assert adapter.dump_python(timedelta(minutes=90), mode="json") == "1h30m"
    assert adapter.json_schema()["type"] == "string"
    with pytest.raises(ValidationError, match="invalid duration"):
        adapter.validate_python("soon")
