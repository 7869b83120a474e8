"""The `${{ ... }}` expression language of playbooks and triggers.

Expressions are parsed with `ast` and compiled once into nested closures, so evaluating one is a few
plain function calls (the detector runs trigger filters on every signal). Nothing is `eval`'d: only
the node types below are accepted, `a.b` reads a mapping key (or a declared field of a dataclass or
pydantic model), names starting with `_` are refused, and calls go to a fixed set of functions.

A missing name or key is an error, never an empty string; `default(x, fallback)` is the one way to
tolerate it.
"""

from __future__ import annotations

import ast
import dataclasses
import operator
import re
import string
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = [
    "Duration",
    "Expression",
    "ExpressionError",
    "MissingValueError",
    "Value",
    "compile_condition",
    "compile_expression",
    "compile_value",
    "find_expressions",
    "format_duration",
    "parse_duration",
]

MAX_SOURCE_LENGTH = 4000
# Keeps `'x' * 10**9` and friends from exhausting memory inside a playbook run.
MAX_SEQUENCE_LENGTH = 100_000
OPEN, CLOSE = "${{", "}}"

Evaluator = Callable[[Mapping[str, Any]], Any]


class ExpressionError(ValueError):
    """An expression that does not compile or cannot be evaluated.

    `column` is 1-based within the source text handed to the compiler (for a `with:` value: within
    that string); `path` locates the string inside a nested `with:` value (keys and indexes).
    """

    def __init__(
        self, message: str, column: int = 1, source: str = "", path: tuple[str | int, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.column = column
        self.source = source
        self.path = path

    def __str__(self) -> str:
        return f"{self.message} (column {self.column})"

    def shifted(self, offset: int, source: str) -> ExpressionError:
        """The same error located in an enclosing text that starts `offset` characters earlier."""
        error = type(self)(self.message, self.column + offset, source, self.path)
        return error

    def at_path(self, path: tuple[str | int, ...]) -> ExpressionError:
        return type(self)(self.message, self.column, self.source, path + self.path)


class MissingValueError(ExpressionError):
    """An undefined name, a missing key or an index out of range (what `default()` tolerates)."""


# ---------------------------------------------------------------------------------------- durations

_DURATION = re.compile(
    r"^\s*(?:(?P<w>\d+)\s*w)?\s*(?:(?P<d>\d+)\s*d)?\s*(?:(?P<h>\d+)\s*h)?"
    r"\s*(?:(?P<m>\d+)\s*m)?\s*(?:(?P<s>\d+)\s*s)?\s*$"
)
DURATION_PATTERN = r"^\s*(\d+\s*w)?\s*(\d+\s*d)?\s*(\d+\s*h)?\s*(\d+\s*m)?\s*(\d+\s*s)?\s*$"
DURATION_HINT = "write a whole number followed by a unit (s, m, h, d, w), e.g. 90s, 15m, 2h, 1h30m"


def parse_duration(text: str | timedelta) -> timedelta:
    """`"90s"`, `"15m"`, `"2h"`, `"1d"`, `"1h30m"` -> timedelta.

    Bare numbers are refused on purpose: in a crisis procedure `30` must not be read as seconds
    by one person and as minutes by another."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}: {DURATION_HINT}")
    match = _DURATION.match(text)
    if match is None or not any(match.groupdict().values()):
        raise ValueError(f"invalid duration {text!r}: {DURATION_HINT}")
    parts = {unit: int(value) for unit, value in match.groupdict().items() if value}
    return timedelta(
        weeks=parts.get("w", 0),
        days=parts.get("d", 0),
        hours=parts.get("h", 0),
        minutes=parts.get("m", 0),
        seconds=parts.get("s", 0),
    )


def format_duration(value: timedelta) -> str:
    """The shortest text `parse_duration` reads back to `value` (whole seconds)."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            out.append(f"{amount}{unit}")
    return "".join(out)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": DURATION_PATTERN,
            "description": "A duration: 90s, 15m, 2h, 1d, 1h30m.",
            "examples": ["15m", "2h", "1h30m"],
        }
    ),
]
"""A pydantic field type for durations written as `15m`, `2h`, `1h30m`."""


# ---------------------------------------------------------------------------------------- functions


def _text(value: Any) -> str:
    """How a value reads inside a template: YAML spellings for booleans and null."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str) and isinstance(item, str):
        return item.lower() in container.lower()
    return item in container


def _join(items: Iterable[Any], separator: str = ", ") -> str:
    return separator.join(_text(item) for item in items)


def _duration_seconds(text: str) -> float:
    return parse_duration(text).total_seconds()


_FORMAT = string.Formatter()


def _format(template: str, *args: Any) -> str:
    """`str.format` without attribute or index walking (`{0.__class__}` is the classic escape)."""
    for _, field, spec, _ in _FORMAT.parse(template):
        if field and not field.isdigit():
            raise ValueError(f"format() accepts only {{}} or {{0}} fields, not {{{field}}}")
        if spec and "{" in spec:
            raise ValueError("format() does not accept nested fields")
    return template.format(*args)


def _round(value: float, digits: int = 0) -> float | int:
    return round(value, digits) if digits else round(value)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "len": len,
    "lower": lambda text: str(text).lower(),
    "upper": lambda text: str(text).upper(),
    "contains": _contains,
    "startswith": lambda text, prefix: str(text).startswith(prefix),
    "endswith": lambda text, suffix: str(text).endswith(suffix),
    "any": any,
    "all": all,
    "min": min,
    "max": max,
    "round": _round,
    "abs": abs,
    "int": int,
    "float": float,
    "str": _text,
    "join": _join,
    "duration": _duration_seconds,
    "format": _format,
}
# `default(x, fallback)` is not in this table: it is compiled specially (its argument is lazy).

FUNCTION_NAMES = (*sorted(FUNCTIONS), "default")

_CONSTANT_NAMES = {"true": True, "false": False, "null": None, "none": None}

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}
_IN = ("in", "not in")
_SYMBOL = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
}
_UNSUPPORTED_HINTS = {
    ast.Lambda: "lambdas are not available",
    ast.ListComp: "comprehensions are not available; use any()/all() over a list",
    ast.GeneratorExp: "comprehensions are not available; use any()/all() over a list",
    ast.DictComp: "comprehensions are not available",
    ast.SetComp: "comprehensions are not available",
    ast.NamedExpr: "assignment is not available",
    ast.JoinedStr: "f-strings are not available; use format() or a template",
    ast.Await: "await is not available",
    ast.Starred: "* unpacking is not available",
}


# ------------------------------------------------------------------------------------------ lookups


def _describe(value: Any) -> str:
    return type(value).__name__


def _available(keys: Iterable[Any]) -> str:
    shown = sorted(str(key) for key in keys if not str(key).startswith("_"))
    if not shown:
        return "nothing is available here"
    if len(shown) > 20:
        shown = [*shown[:20], "..."]
    return "available: " + ", ".join(shown)


def _fields(value: Any) -> Sequence[str] | None:
    """Readable field names of a dataclass or pydantic model instance, else None."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [field.name for field in dataclasses.fields(value)]
    model_fields = getattr(type(value), "model_fields", None)
    if isinstance(model_fields, Mapping):
        return list(model_fields)
    return None


def _get_key(container: Any, key: str, where: str, column: int, source: str) -> Any:
    """`container.key`, with an error naming `where` and the keys that do exist."""
    if isinstance(container, Mapping):
        try:
            return container[key]
        except KeyError:
            raise MissingValueError(
                f"{where} has no key {key!r} ({_available(container.keys())})", column, source
            ) from None
    fields = _fields(container)
    if fields is not None:
        if key in fields:
            return getattr(container, key)
        raise MissingValueError(
            f"{where} has no key {key!r} ({_available(fields)})", column, source
        )
    raise ExpressionError(
        f"cannot read {key!r} from {where}: it is a {_describe(container)}, not a mapping",
        column,
        source,
    )


def _get_item(container: Any, index: Any, where: str, column: int, source: str) -> Any:
    if isinstance(index, str):
        if index.startswith("_"):
            raise ExpressionError(
                f"keys starting with '_' are not readable ({index!r})", column, source
            )
        return _get_key(container, index, where, column, source)
    if isinstance(container, Mapping):
        try:
            return container[index]
        except (KeyError, TypeError):
            raise MissingValueError(
                f"{where} has no key {index!r} ({_available(container.keys())})", column, source
            ) from None
    if isinstance(container, (list, tuple, str)):
        if isinstance(index, bool) or not isinstance(index, int):
            raise ExpressionError(
                f"{where} is a {_describe(container)}: index it with a whole number, "
                f"not a {_describe(index)}",
                column,
                source,
            )
        try:
            return container[index]
        except IndexError:
            raise MissingValueError(
                f"{where} has no item {index} (it has {len(container)})", column, source
            ) from None
    raise ExpressionError(f"cannot index {where}: it is a {_describe(container)}", column, source)


def _checked_size(value: Any, column: int, source: str) -> Any:
    if isinstance(value, (str, list, tuple)) and len(value) > MAX_SEQUENCE_LENGTH:
        raise _too_long(value, column, source)
    return value


_SEQUENCES = (str, list, tuple)
# Functions whose result is never a text or a list (a bool or a number), so never too long.
_SCALAR_RESULT = frozenset(
    {"len", "contains", "startswith", "endswith", "any", "all", "int", "float", "duration"}
)
# Cheap and pure on literal arguments: a call with only literals is computed at compile time.
_FOLDABLE = _SCALAR_RESULT | {"lower", "upper", "abs", "round", "min", "max"}


def _too_long(value: Any, column: int, source: str) -> ExpressionError:
    return ExpressionError(
        f"result too long ({len(value)} items, limit {MAX_SEQUENCE_LENGTH})", column, source
    )


def _case_call(name: str, arg: Evaluator, column: int, source: str) -> Evaluator:
    """`lower(x)` / `upper(x)`: the table's function, inlined."""
    upper = name == "upper"

    def change_case(ctx: Mapping[str, Any]) -> str:
        value = arg(ctx)
        try:
            result = str(value).upper() if upper else str(value).lower()
        except (TypeError, ValueError, OverflowError) as exc:
            raise ExpressionError(f"{name}(): {exc}", column, source) from None
        if len(result) > MAX_SEQUENCE_LENGTH:
            raise _too_long(result, column, source)
        return result

    return change_case


def _call(
    name: str,
    function: Callable[..., Any],
    args: list[Evaluator],
    constants: list[tuple[bool, Any]],
    column: int,
    source: str,
) -> Evaluator:
    """A call to a table function, specialised by arity (most calls take one or two arguments);
    literal arguments are passed as they are, and a scalar result skips the length check."""
    checked = name not in _SCALAR_RESULT

    def fail(exc: Exception) -> ExpressionError:
        return ExpressionError(f"{name}(): {exc}", column, source)

    def done(result: Any) -> Any:
        if checked and isinstance(result, _SEQUENCES) and len(result) > MAX_SEQUENCE_LENGTH:
            raise _too_long(result, column, source)
        return result

    if len(args) == 1:
        (arg,) = args

        def call1(ctx: Mapping[str, Any]) -> Any:
            value = arg(ctx)
            try:
                result = function(value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise fail(exc) from None
            return done(result) if checked else result

        return call1
    if len(args) == 2:
        first, second = args
        second_constant, constant = constants[1]
        if second_constant:

            def call2_constant(ctx: Mapping[str, Any]) -> Any:
                value = first(ctx)
                try:
                    result = function(value, constant)
                except (TypeError, ValueError, OverflowError) as exc:
                    raise fail(exc) from None
                return done(result) if checked else result

            return call2_constant

        def call2(ctx: Mapping[str, Any]) -> Any:
            a, b = first(ctx), second(ctx)
            try:
                result = function(a, b)
            except (TypeError, ValueError, OverflowError) as exc:
                raise fail(exc) from None
            return done(result) if checked else result

        return call2

    def call(ctx: Mapping[str, Any]) -> Any:
        values = [arg(ctx) for arg in args]
        try:
            result = function(*values)
        except (TypeError, ValueError, OverflowError) as exc:
            raise fail(exc) from None
        return done(result) if checked else result

    return call


# ----------------------------------------------------------------------------------------- compiler


class _Compiler:
    def __init__(self, source: str) -> None:
        self.source = source
        self.names: set[str] = set()
        self.paths: set[tuple[str, ...]] = set()
        # `root.key <op> literal` evaluators and their parts, for `and` to inline the first test.
        self.key_tests: dict[Evaluator, _KeyTest] = {}

    def error(self, message: str, node: ast.AST | None = None) -> ExpressionError:
        column = getattr(node, "col_offset", 0) + 1
        return ExpressionError(message, column, self.source)

    def text(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or "value"

    def compile(self, node: ast.AST) -> Evaluator:
        method = getattr(self, f"c_{type(node).__name__}", None)
        if method is None:
            hint = _UNSUPPORTED_HINTS.get(type(node))
            what = hint or f"{type(node).__name__} is not allowed in an expression"
            raise self.error(what, node)
        return method(node)

    def constant_of(self, node: ast.AST) -> tuple[bool, Any]:
        """Whether `node` is a literal after folding signs, and its value."""
        if isinstance(node, ast.Constant):
            return True, node.value
        if (
            isinstance(node, ast.UnaryOp)
            and isinstance(node.op, (ast.USub, ast.UAdd))
            and isinstance(node.operand, ast.Constant)
            and isinstance(node.operand.value, (int, float))
            and not isinstance(node.operand.value, bool)
        ):
            value = node.operand.value
            return True, -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.Name) and node.id in _CONSTANT_NAMES:
            return True, _CONSTANT_NAMES[node.id]
        return False, None

    # -- leaves

    def c_Constant(self, node: ast.Constant) -> Evaluator:
        value = node.value
        if not isinstance(value, (str, int, float, bool, type(None))):
            raise self.error(f"{type(value).__name__} literals are not allowed", node)
        return lambda ctx: value

    def c_Name(self, node: ast.Name) -> Evaluator:
        name = node.id
        if name in _CONSTANT_NAMES:
            value = _CONSTANT_NAMES[name]
            return lambda ctx: value
        if name.startswith("_"):
            raise self.error(f"names starting with '_' are not allowed ({name!r})", node)
        if name in FUNCTIONS or name == "default":
            raise self.error(f"{name} is a function: call it, e.g. {name}(...)", node)
        self.names.add(name)
        self.paths.add((name,))
        column, source = node.col_offset + 1, self.source

        def lookup(ctx: Mapping[str, Any]) -> Any:
            try:
                return ctx[name]
            except KeyError:
                raise MissingValueError(
                    f"undefined name {name!r} ({_available(ctx.keys())})", column, source
                ) from None

        return lookup

    # -- access

    def _record_path(self, node: ast.AST) -> None:
        """Remember `steps.x.y`-style chains so validation can check them against the playbook."""
        chain: list[str] = []
        while True:
            if isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            elif (
                isinstance(node, ast.Subscript)
                and isinstance(node.slice, ast.Constant)
                and isinstance(node.slice.value, str)
            ):
                chain.append(node.slice.value)
                node = node.value
            else:
                break
        if isinstance(node, ast.Name) and node.id not in _CONSTANT_NAMES:
            self.paths.add((node.id, *reversed(chain)))

    def c_Attribute(self, node: ast.Attribute) -> Evaluator:
        key = node.attr
        column, source = node.end_col_offset - len(key) + 1, self.source  # type: ignore[operator]
        if key.startswith("_"):
            raise ExpressionError(
                f"keys starting with '_' are not readable ({key!r})", column, source
            )
        self._record_path(node)
        where = self.text(node.value)
        if isinstance(node.value, ast.Name) and node.value.id not in _CONSTANT_NAMES:
            # Hot path (`signal.sentiment`): one try block, the detailed error only on failure.
            root = node.value.id
            root_lookup = self.c_Name(node.value)

            def root_key(ctx: Mapping[str, Any]) -> Any:
                try:
                    return ctx[root][key]
                except (KeyError, TypeError, IndexError):
                    return _get_key(root_lookup(ctx), key, where, column, source)

            return root_key
        inner = self.compile(node.value)

        def attribute(ctx: Mapping[str, Any]) -> Any:
            container = inner(ctx)
            try:
                return container[key]
            except (KeyError, TypeError, IndexError):
                return _get_key(container, key, where, column, source)

        if isinstance(node.value, (ast.Attribute, ast.Subscript)):
            return attribute
        # Mapping-only read on any other value (a literal, a call result).
        return lambda ctx: _get_key(inner(ctx), key, where, column, source)

    def c_Subscript(self, node: ast.Subscript) -> Evaluator:
        column, source = node.col_offset + 1, self.source
        where = self.text(node.value)
        container = self.compile(node.value)
        index_node = node.slice
        if isinstance(index_node, ast.Slice):
            if index_node.step is not None:
                raise self.error("slices with a step are not available", index_node)
            lower = self.compile(index_node.lower) if index_node.lower else (lambda ctx: None)
            upper = self.compile(index_node.upper) if index_node.upper else (lambda ctx: None)

            def sliced(ctx: Mapping[str, Any]) -> Any:
                value = container(ctx)
                if not isinstance(value, (list, tuple, str)):
                    raise ExpressionError(
                        f"cannot slice {where}: it is a {_describe(value)}", column, source
                    )
                try:
                    return value[lower(ctx) : upper(ctx)]
                except TypeError as exc:
                    raise ExpressionError(f"bad slice of {where}: {exc}", column, source) from None

            return sliced
        is_constant, constant = self.constant_of(index_node)
        if is_constant and isinstance(constant, str):
            if constant.startswith("_"):
                raise self.error(f"keys starting with '_' are not readable ({constant!r})", node)
            self._record_path(node)
        if is_constant:
            return lambda ctx: _get_item(container(ctx), constant, where, column, source)
        index = self.compile(index_node)
        return lambda ctx: _get_item(container(ctx), index(ctx), where, column, source)

    # -- operators

    def c_UnaryOp(self, node: ast.UnaryOp) -> Evaluator:
        is_constant, constant = self.constant_of(node)
        if is_constant:
            return lambda ctx: constant
        operand = self.compile(node.operand)
        if isinstance(node.op, ast.Not):
            return lambda ctx: not operand(ctx)
        if isinstance(node.op, (ast.USub, ast.UAdd)):
            negate = isinstance(node.op, ast.USub)
            column, source = node.col_offset + 1, self.source

            def sign(ctx: Mapping[str, Any]) -> Any:
                value = operand(ctx)
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ExpressionError(
                        f"cannot negate a {_describe(value)} ({self.text(node.operand)})",
                        column,
                        source,
                    )
                return -value if negate else value

            return sign
        raise self.error("bitwise operators are not available", node)

    def c_BinOp(self, node: ast.BinOp) -> Evaluator:
        function = _BINARY.get(type(node.op))
        if function is None:
            what = (
                "** is not available" if isinstance(node.op, ast.Pow) else "operator not available"
            )
            raise self.error(what, node)
        left, right = self.compile(node.left), self.compile(node.right)
        symbol = _SYMBOL[type(node.op)]
        column, source = node.col_offset + 1, self.source
        sizes = isinstance(node.op, (ast.Mult, ast.Add))

        def apply(a: Any, b: Any) -> Any:
            if sizes and isinstance(a, (str, list, tuple)) != isinstance(b, (str, list, tuple)):
                count = b if isinstance(a, (str, list, tuple)) else a
                if isinstance(count, int) and count * 1 > MAX_SEQUENCE_LENGTH:
                    raise ExpressionError("result too long", column, source)
            try:
                result = function(a, b)
            except (TypeError, ZeroDivisionError, OverflowError, ValueError) as exc:
                raise ExpressionError(
                    f"cannot compute {_describe(a)} {symbol} {_describe(b)}: {exc}", column, source
                ) from None
            return _checked_size(result, column, source)

        is_constant, prefix = self.constant_of(node.left)
        if is_constant and isinstance(prefix, str) and isinstance(node.op, ast.Add):
            # `'storm:' + x` (a scope key): text + text needs only the length check.
            def prefixed(ctx: Mapping[str, Any]) -> Any:
                b = right(ctx)
                if type(b) is str:
                    result = prefix + b
                    if len(result) > MAX_SEQUENCE_LENGTH:
                        raise _too_long(result, column, source)
                    return result
                return apply(prefix, b)

            return prefixed

        def binary(ctx: Mapping[str, Any]) -> Any:
            return apply(left(ctx), right(ctx))

        return binary

    def c_BoolOp(self, node: ast.BoolOp) -> Evaluator:
        values = [self.compile(value) for value in node.values]
        if isinstance(node.op, ast.And):
            if len(values) == 2 and values[0] in self.key_tests:
                return _and_after_key_test(self.key_tests[values[0]], values[1])
            if len(values) == 2:
                first, second = values

                def and2(ctx: Mapping[str, Any]) -> Any:
                    value = first(ctx)
                    return second(ctx) if value else value

                return and2

            def and_all(ctx: Mapping[str, Any]) -> Any:
                value: Any = True
                for evaluate in values:
                    value = evaluate(ctx)
                    if not value:
                        return value
                return value

            return and_all

        fused = self._or_of_contains_lowered(node.values)
        if fused is not None:
            return fused
        if len(values) == 2:
            first, second = values

            def or2(ctx: Mapping[str, Any]) -> Any:
                value = first(ctx)
                return value if value else second(ctx)

            return or2

        def or_any(ctx: Mapping[str, Any]) -> Any:
            value: Any = False
            for evaluate in values:
                value = evaluate(ctx)
                if value:
                    return value
            return value

        return or_any

    def c_Compare(self, node: ast.Compare) -> Evaluator:
        column = node.col_offset + 1
        operands = [node.left, *node.comparators]
        steps: list[Evaluator] = []
        for op, left_node, right_node in zip(node.ops, operands, operands[1:], strict=False):
            function = _COMPARE[type(op)]
            if isinstance(op, (ast.Is, ast.IsNot)):
                is_constant, constant = self.constant_of(right_node)
                if not (is_constant and constant is None):
                    raise self.error("'is' only compares with null/None; use ==", right_node)
            steps.append(self._compare(function, _SYMBOL[type(op)], left_node, right_node, column))
        if len(steps) == 1:
            return steps[0]

        def chain(ctx: Mapping[str, Any]) -> bool:
            return all(step(ctx) for step in steps)

        return chain

    def _compare(
        self,
        function: Callable[[Any, Any], bool],
        symbol: str,
        left_node: ast.AST,
        right_node: ast.AST,
        column: int,
    ) -> Evaluator:
        source = self.source
        left = self.compile(left_node)

        def fail(a: Any, b: Any, exc: Exception) -> ExpressionError:
            return ExpressionError(
                f"cannot compare {self.text(left_node)} ({_describe(a)}) {symbol} "
                f"{self.text(right_node)} ({_describe(b)})",
                column,
                source,
            )

        is_constant, constant = self.constant_of(right_node)
        if not is_constant and isinstance(right_node, (ast.List, ast.Tuple)) and symbol in _IN:
            # `signal.kind in ['complaint', 'venting']`: a literal list is built once, not per call.
            self.compile(right_node)  # for its errors (a bytes literal, ...)
            items = [self.constant_of(item) for item in right_node.elts]
            if all(is_item_constant for is_item_constant, _ in items):
                is_constant = True
                constant = [value for _, value in items]
                if isinstance(right_node, ast.Tuple):
                    constant = tuple(constant)
        if is_constant:
            return self._compare_constant(function, symbol, left_node, left, constant, fail)
        right = self.compile(right_node)

        def compare(ctx: Mapping[str, Any]) -> bool:
            a, b = left(ctx), right(ctx)
            try:
                return function(a, b)
            except TypeError as exc:
                raise fail(a, b, exc) from None

        return compare

    def _compare_constant(
        self,
        function: Callable[[Any, Any], bool],
        symbol: str,
        left_node: ast.AST,
        left: Evaluator,
        constant: Any,
        fail: Callable[[Any, Any, Exception], ExpressionError],
    ) -> Evaluator:
        """The hot path of filters: `signal.label == 'negative'`, `signal.sentiment < -0.3`."""
        negate = symbol == "not in"
        if (
            isinstance(left_node, ast.Attribute)
            and isinstance(left_node.value, ast.Name)
            and left_node.value.id not in _CONSTANT_NAMES
        ):
            # `root.key`: read it inline; on any failure `left` gives the value or its error.
            root, key = left_node.value.id, left_node.attr
            if symbol in _IN:

                def key_in(ctx: Mapping[str, Any]) -> bool:
                    try:
                        a = ctx[root][key]
                    except (KeyError, TypeError, IndexError):
                        a = left(ctx)
                    try:
                        return (a not in constant) if negate else (a in constant)
                    except TypeError as exc:
                        raise fail(a, constant, exc) from None

                return key_in

            def key_compare(ctx: Mapping[str, Any]) -> bool:
                try:
                    a = ctx[root][key]
                except (KeyError, TypeError, IndexError):
                    a = left(ctx)
                try:
                    return function(a, constant)
                except TypeError as exc:
                    raise fail(a, constant, exc) from None

            self.key_tests[key_compare] = _KeyTest(root, key, left, function, constant, fail)
            return key_compare
        if symbol in _IN:

            def value_in(ctx: Mapping[str, Any]) -> bool:
                a = left(ctx)
                try:
                    return (a not in constant) if negate else (a in constant)
                except TypeError as exc:
                    raise fail(a, constant, exc) from None

            return value_in

        def compare_constant(ctx: Mapping[str, Any]) -> bool:
            a = left(ctx)
            try:
                return function(a, constant)
            except TypeError as exc:
                raise fail(a, constant, exc) from None

        return compare_constant

    def c_IfExp(self, node: ast.IfExp) -> Evaluator:
        test, body, orelse = (
            self.compile(node.test),
            self.compile(node.body),
            self.compile(node.orelse),
        )
        return lambda ctx: body(ctx) if test(ctx) else orelse(ctx)

    # -- literals

    def c_List(self, node: ast.List) -> Evaluator:
        items = [self.compile(item) for item in node.elts]
        return lambda ctx: [item(ctx) for item in items]

    c_Tuple = c_List

    def c_Dict(self, node: ast.Dict) -> Evaluator:
        if any(key is None for key in node.keys):
            raise self.error("** unpacking is not available", node)
        keys = [self.compile(key) for key in node.keys]  # type: ignore[arg-type]
        values = [self.compile(value) for value in node.values]
        return lambda ctx: {key(ctx): value(ctx) for key, value in zip(keys, values, strict=True)}

    # -- calls

    def c_Call(self, node: ast.Call) -> Evaluator:
        if not isinstance(node.func, ast.Name):
            raise self.error(
                f"only these functions can be called: {', '.join(FUNCTION_NAMES)}", node
            )
        name = node.func.id
        if node.keywords:
            raise self.error(f"{name}() takes positional arguments only", node.keywords[0].value)
        column, source = node.col_offset + 1, self.source
        if name == "default":
            if len(node.args) != 2:
                raise self.error("default() takes two arguments: default(value, fallback)", node)
            value, fallback = (self.compile(arg) for arg in node.args)

            def default(ctx: Mapping[str, Any]) -> Any:
                try:
                    result = value(ctx)
                except MissingValueError:
                    return fallback(ctx)
                return fallback(ctx) if result is None else result

            return default
        function = FUNCTIONS.get(name)
        if function is None:
            import difflib

            near = difflib.get_close_matches(name, FUNCTION_NAMES, n=3)
            hint = f"; did you mean {', '.join(near)}?" if near else ""
            raise self.error(
                f"unknown function {name!r}{hint} (available: {', '.join(FUNCTION_NAMES)})",
                node.func,
            )
        if name == "duration" and len(node.args) == 1:
            is_constant, text = self.constant_of(node.args[0])
            if is_constant:
                # Checked and folded now: a typo in a literal duration is a playbook error.
                try:
                    seconds = _duration_seconds(text)
                except ValueError as exc:
                    raise self.error(str(exc), node.args[0]) from None
                return lambda ctx: seconds
        args = [self.compile(arg) for arg in node.args]
        constants = [self.constant_of(arg) for arg in node.args]
        if name in _FOLDABLE and all(is_constant for is_constant, _ in constants):
            try:
                folded = _checked_size(function(*(v for _, v in constants)), column, source)
            except (TypeError, ValueError, OverflowError, ExpressionError):
                pass  # not folded: the error is the evaluation's, as for any other call
            else:
                return lambda ctx: folded
        if name == "contains" and len(node.args) == 2:
            is_constant, needle = constants[1]
            if is_constant and isinstance(needle, str):
                return self._contains_text(node.args[0], args[0], needle, column)
        if name in ("lower", "upper") and len(args) == 1:
            return _case_call(name, args[0], column, source)
        return _call(name, function, args, constants, column, source)

    def _contains_text(
        self, container_node: ast.AST, container: Evaluator, needle: str, column: int
    ) -> Evaluator:
        """`contains(x, 'text')`, the filter's usual shape: the needle is lowercased once here."""
        source = self.source
        folded = needle.lower()

        def fail(exc: Exception) -> ExpressionError:
            return ExpressionError(f"contains(): {exc}", column, source)

        if _lower_call(container_node) is not None:
            return self._contains_lowered(container_node, (folded,))  # type: ignore[arg-type]

        def contains_text(ctx: Mapping[str, Any]) -> bool:
            value = container(ctx)
            if isinstance(value, str):
                return folded in value.lower()
            try:
                return needle in value
            except (TypeError, ValueError, OverflowError) as exc:
                raise fail(exc) from None

        return contains_text

    def _contains_lowered(self, lower_node: ast.Call, needles: tuple[str, ...]) -> Evaluator:
        """`contains(lower(x), 'a')`, or several of them on the same `x` joined by `or`: `x` is
        read and lowered once. contains() would lowercase the lowered text again, which changes
        nothing (lowercasing is idempotent, see the tests)."""
        source = self.source
        text = self.compile(lower_node.args[0])
        column = lower_node.col_offset + 1

        def contains_lowered(ctx: Mapping[str, Any]) -> bool:
            value = text(ctx)
            try:
                lowered = str(value).lower()
            except (TypeError, ValueError, OverflowError) as exc:
                raise ExpressionError(f"lower(): {exc}", column, source) from None
            if len(lowered) > MAX_SEQUENCE_LENGTH:
                raise _too_long(lowered, column, source)
            for needle in needles:  # noqa: SIM110 (a loop is faster than any() over a generator)
                if needle in lowered:
                    return True
            return False

        return contains_lowered

    def _or_of_contains_lowered(self, operands: list[ast.expr]) -> Evaluator | None:
        """`contains(lower(signal.text), 'a') or contains(lower(signal.text), 'b') ...` as one
        test, when every operand has that shape on the same plain read (`a.b`, `a['b']`)."""
        needles: list[str] = []
        first_text: str | None = None
        for operand in operands:
            found = _lowered_contains(operand)
            if found is None:
                return None
            lower_node, needle = found
            text = ast.dump(lower_node.args[0])
            if first_text is None:
                if not _is_plain_read(lower_node.args[0]):
                    return None
                first_text = text
            elif text != first_text:
                return None
            needles.append(needle.lower())
        first = _lowered_contains(operands[0])
        assert first is not None
        return self._contains_lowered(first[0], tuple(needles))


@dataclasses.dataclass(frozen=True, slots=True)
class _KeyTest:
    """`root.key <op> literal`: what `and` needs to run it inline."""

    root: str
    key: str
    read: Evaluator  # the general read of `root.key`: the value, or the detailed error
    function: Callable[[Any, Any], bool]
    constant: Any
    fail: Callable[[Any, Any, Exception], ExpressionError]


def _and_after_key_test(test: _KeyTest, second: Evaluator) -> Evaluator:
    """`signal.label == 'negative' and ...`, how every shipped trigger filter starts: the first
    test inline, saving a call per trigger per signal."""
    root, key, read, function, constant, fail = (
        test.root,
        test.key,
        test.read,
        test.function,
        test.constant,
        test.fail,
    )

    def and_key_test(ctx: Mapping[str, Any]) -> Any:
        try:
            a = ctx[root][key]
        except (KeyError, TypeError, IndexError):
            a = read(ctx)
        try:
            value = function(a, constant)
        except TypeError as exc:
            raise fail(a, constant, exc) from None
        return second(ctx) if value else value

    return and_key_test


def _lower_call(node: ast.AST) -> ast.Call | None:
    """`node` when it is `lower(x)` with one positional argument."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "lower"
        and len(node.args) == 1
        and not node.keywords
    ):
        return node
    return None


def _lowered_contains(node: ast.AST) -> tuple[ast.Call, str] | None:
    """The `lower(x)` call and the literal of `contains(lower(x), 'literal')`, else None."""
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "contains"
        and len(node.args) == 2
        and not node.keywords
        and isinstance(node.args[1], ast.Constant)
        and isinstance(node.args[1].value, str)
    ):
        return None
    lower_node = _lower_call(node.args[0])
    return None if lower_node is None else (lower_node, node.args[1].value)


def _is_plain_read(node: ast.AST) -> bool:
    """A name, or keys/literal indexes read from one: reading it twice gives the same value."""
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Constant):
            return False
        node = node.value
    return isinstance(node, ast.Name) and node.id not in _CONSTANT_NAMES


class Expression:
    """A compiled expression. Evaluate it with a mapping of root names (`signal`, `steps`, ...)."""

    __slots__ = ("evaluate", "names", "paths", "source")

    def __init__(
        self, source: str, evaluate: Evaluator, names: frozenset[str], paths: frozenset
    ) -> None:
        self.source = source
        # The compiled closure itself, not a method around it: a filter runs on every signal.
        self.evaluate: Evaluator = evaluate
        """`evaluate(context)`: the expression's value in `context` (a mapping of root names)."""
        self.names = names
        """Root names the expression reads (`{"signal"}`)."""
        self.paths: frozenset[tuple[str, ...]] = paths
        """Literal access chains (`("steps", "war_room", "channel")`), for reference checks."""

    def __repr__(self) -> str:
        return f"Expression({self.source!r})"


def compile_expression(src: str) -> Expression:
    """Compile the inside of `${{ ... }}`. Raises ExpressionError with the column of the fault."""
    if not isinstance(src, str):
        raise ExpressionError(f"an expression must be text, not {_describe(src)}", 1, str(src))
    if len(src) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_SOURCE_LENGTH} characters", 1, src)
    stripped = src.strip()
    if not stripped:
        raise ExpressionError("empty expression", 1, src)
    # Leading spaces shift columns; parse the text as written so columns match the file.
    offset = len(src) - len(src.lstrip())
    compiler = _Compiler(stripped)
    try:
        tree = ast.parse(stripped, mode="eval")
        evaluate = compiler.compile(tree.body)
    except SyntaxError as exc:
        # CPython reports offset 0 for "unexpected end"; point at the end of the text then.
        column = (exc.offset or len(stripped) + 1) + offset
        message = exc.msg or "invalid syntax"
        raise ExpressionError(f"syntax error: {message}", column, src) from None
    except ExpressionError as exc:
        raise exc.shifted(offset, src) from None
    except (RecursionError, MemoryError, ValueError):
        raise ExpressionError("expression too deeply nested or too large", 1, src) from None
    return Expression(src, evaluate, frozenset(compiler.names), frozenset(compiler.paths))


def _strip_delimiters(src: str) -> tuple[str, int] | None:
    """The inside of a string that is exactly one `${{ ... }}`, and where it starts."""
    text = src.strip()
    if text.startswith(OPEN) and text.endswith(CLOSE):
        found = find_expressions(src)
        if len(found) == 1:
            start, end = found[0]
            if src[:start].strip() == "" and src[end:].strip() == "":
                inner_start = start + len(OPEN)
                return src[inner_start : end - len(CLOSE)], inner_start
    return None


def compile_condition(src: str | bool) -> Expression:
    """An `if:`/filter condition: `${{ expr }}` or the bare expression. Columns refer to `src`."""
    if isinstance(src, bool):
        value = src
        return Expression(str(src).lower(), lambda ctx: value, frozenset(), frozenset())
    inner = _strip_delimiters(src) if isinstance(src, str) else None
    if inner is None:
        if isinstance(src, str) and OPEN in src:
            raise ExpressionError(
                "a condition must be a single ${{ ... }} with nothing around it", 1, src
            )
        return compile_expression(src)
    text, start = inner
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        raise exc.shifted(start, src) from None
    return Expression(src, expression.evaluate, expression.names, expression.paths)


def find_expressions(text: str) -> list[tuple[int, int]]:
    """Spans `(start, end)` of each `${{ ... }}` in `text`, delimiters included.

    An expression may itself contain `}}` (a dict literal): the first closing `}}` after which the
    inside parses is the end; failing that, the first `}}`.
    """
    spans: list[tuple[int, int]] = []
    position = 0
    while True:
        start = text.find(OPEN, position)
        if start < 0:
            return spans
        inner_start = start + len(OPEN)
        first_close = text.find(CLOSE, inner_start)
        if first_close < 0:
            raise ExpressionError("'${{' is never closed with '}}'", start + 1, text)
        close = first_close
        candidate = first_close
        while candidate >= 0:
            try:
                ast.parse(text[inner_start:candidate].strip() or "x", mode="eval")
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                candidate = text.find(CLOSE, candidate + 1)
                continue
            close = candidate
            break
        spans.append((start, close + len(CLOSE)))
        position = close + len(CLOSE)


# ----------------------------------------------------------------------------------- `with:` values


class Value:
    """A compiled `with:` argument: `render(context)` gives the value with expressions evaluated."""

    names: frozenset[str] = frozenset()
    paths: frozenset[tuple[str, ...]] = frozenset()

    def render(self, context: Mapping[str, Any]) -> Any:
        raise NotImplementedError

    def expressions(self) -> Iterable[tuple[tuple[str | int, ...], Expression]]:
        """Every compiled expression with its location inside the value."""
        return ()


class _Plain(Value):
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def render(self, context: Mapping[str, Any]) -> Any:
        return self.value


class _Native(Value):
    """A string that is exactly one `${{ ... }}`: renders to the expression's own value."""

    def __init__(self, expression: Expression) -> None:
        self.expression = expression
        self.names = expression.names
        self.paths = expression.paths

    def render(self, context: Mapping[str, Any]) -> Any:
        return self.expression.evaluate(context)

    def expressions(self) -> Iterable[tuple[tuple[str | int, ...], Expression]]:
        yield (), self.expression


class _Template(Value):
    """Text with `${{ ... }}` parts: each part's value is written into the text."""

    def __init__(self, parts: list[str | Expression]) -> None:
        self.parts = parts
        found = [part for part in parts if isinstance(part, Expression)]
        self.names = frozenset().union(*(part.names for part in found))
        self.paths = frozenset().union(*(part.paths for part in found))

    def render(self, context: Mapping[str, Any]) -> str:
        return "".join(
            part if isinstance(part, str) else _text(part.evaluate(context)) for part in self.parts
        )

    def expressions(self) -> Iterable[tuple[tuple[str | int, ...], Expression]]:
        for part in self.parts:
            if isinstance(part, Expression):
                yield (), part


class _Container(Value):
    def __init__(self, items: dict[Any, Value] | list[Value]) -> None:
        self.items = items
        values = list(items.values()) if isinstance(items, dict) else items
        self.names = frozenset().union(*(value.names for value in values))
        self.paths = frozenset().union(*(value.paths for value in values))

    def render(self, context: Mapping[str, Any]) -> Any:
        if isinstance(self.items, dict):
            return {key: value.render(context) for key, value in self.items.items()}
        return [value.render(context) for value in self.items]

    def expressions(self) -> Iterable[tuple[tuple[str | int, ...], Expression]]:
        pairs = self.items.items() if isinstance(self.items, dict) else enumerate(self.items)
        for key, value in pairs:
            for path, expression in value.expressions():
                yield (key, *path), expression


def _compile_text(text: str) -> Value:
    spans = find_expressions(text)
    if not spans:
        return _Plain(text)
    whole = _strip_delimiters(text)
    if whole is not None:
        inner, start = whole
        try:
            return _Native(compile_expression(inner))
        except ExpressionError as exc:
            raise exc.shifted(start, text) from None
    parts: list[str | Expression] = []
    position = 0
    for start, end in spans:
        if start > position:
            parts.append(text[position:start])
        inner_start = start + len(OPEN)
        try:
            parts.append(compile_expression(text[inner_start : end - len(CLOSE)]))
        except ExpressionError as exc:
            raise exc.shifted(inner_start, text) from None
        position = end
    if position < len(text):
        parts.append(text[position:])
    return _Template(parts)


def compile_value(value: Any) -> Value:
    """Compile a `with:` argument. Strings with `${{ }}` become templates (exactly one `${{ }}`
    keeps the native type); dicts and lists recurse; other values pass through unchanged.
    An ExpressionError carries `path`, the keys/indexes leading to the faulty string."""
    if isinstance(value, str):
        return _compile_text(value)
    if isinstance(value, Mapping):
        items: dict[Any, Value] = {}
        for key, item in value.items():
            try:
                items[key] = compile_value(item)
            except ExpressionError as exc:
                raise exc.at_path((key,)) from None
        return _Container(items)
    if isinstance(value, (list, tuple)):
        compiled: list[Value] = []
        for index, item in enumerate(value):
            try:
                compiled.append(compile_value(item))
            except ExpressionError as exc:
                raise exc.at_path((index,)) from None
        return _Container(compiled)
    return _Plain(value)
