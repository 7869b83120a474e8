"""Trigger-filter evaluation speed: Firebreak's compiled expressions vs Jinja2's compile_expression.

Run: .venv/bin/python bench/expressions.py
"""

from __future__ import annotations

import timeit

from jinja2.sandbox import SandboxedEnvironment

from firebreak.expressions import compile_expression

FILTER = "signal.sentiment < -0.3 and signal.brand == 'acme'"
CONTEXT = {"signal": {"sentiment": -0.5, "brand": "acme", "reach": 1200}}
ROUNDS = 200_000


def per_call_us(function, number: int = ROUNDS) -> float:
    best = min(timeit.repeat(function, number=number, repeat=5))
    return best / number * 1e6


def main() -> None:
    ours = compile_expression(FILTER)
    jinja = SandboxedEnvironment().compile_expression(FILTER)
    assert ours.evaluate(CONTEXT) is True
    assert jinja(**CONTEXT) is True

    ours_us = per_call_us(lambda: ours.evaluate(CONTEXT))
    jinja_us = per_call_us(lambda: jinja(**CONTEXT))
    compile_us = per_call_us(lambda: compile_expression(FILTER), number=5_000)
    print(f"filter: {FILTER}")
    print(f"firebreak evaluate      {ours_us:8.3f} us/call")
    print(f"jinja2 sandboxed (base) {jinja_us:8.3f} us/call")
    print(f"speed-up vs jinja2      {jinja_us / ours_us:8.1f}x")
    print(f"firebreak compile       {compile_us:8.1f} us/expression")


if __name__ == "__main__":
    main()
