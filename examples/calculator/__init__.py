"""The calculator: node builders for crossflow's calculator diagrams, in Python.

The diagrams in `diagrams/` come from crossflow's calculator example; this registry
gives them the same answers:

    crossflow run examples/calculator/diagrams/multiply_by_3.json 4 \\
        --registry examples.calculator:registry            # prints 12.0

Node builders:

* `add`, `sub`, `mul`, `div`: the input is a number or an array of numbers (folded
  from the left); the optional number in the config is applied last; the result is a
  float, computed as crossflow's calculator computes it: dividing by zero gives an
  infinity (or NaN for 0 / 0) rather than an error, as a float overflow does, and the
  command line writes such a number as `null`, as JSON has no infinity.
* `less_than`, `greater_than`: compare an array's neighbours, or every number with
  `compared_to`; return `cf.Ok(input)` when the comparison holds, else `cf.Err(input)`.
  The config is `null`, `"or_equal"`, a number (`compared_to`) or
  `{"compared_to": ..., "or_equal": ...}`. (crossflow's calculator answers `Err` for an
  array compared with a number, whatever it holds; this one compares every element.)
* `fibonacci`: streams the Fibonacci sequence of the order in the config (or the
  input) on `sequence`, then returns `cf.Ok(None)`; `cf.Err(input)` without an order.
* `delay_ms`: waits the configured milliseconds (default 1000), then passes the input on.
* `print`: prints the input as JSON, after the config as a label; returns `cf.Ok(None)`.

Every builder takes the operation's id (`*, name`) and names its node after it, so
events, causes and pictures show the diagram's ids.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import operator
from collections.abc import Callable
from typing import Any, Literal

import anyio

import crossflow as cf
from crossflow import diagram

Comparison = Literal["or_equal"] | float | None


@dataclasses.dataclass(frozen=True)
class ComparisonSettings:
    """What to compare with: a fixed number, and whether equal values pass."""

    compared_to: float | None = None
    or_equal: bool = False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        return float(value)
    except OverflowError:  # an integer beyond a float's range
        return math.inf if value > 0 else -math.inf


def _divide(a: float, b: float) -> float:
    """`a / b` as a float division of crossflow's calculator does it: by zero it gives an
    infinity with the sign of the quotient, or NaN for 0 / 0, instead of raising."""
    if b == 0:
        if a == 0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _fold(step: Callable[[float, float], float]) -> Callable[[Any], float]:
    def fold(request: Any) -> float:
        if isinstance(request, list | tuple):
            numbers = [n for n in map(_number, request) if n is not None]
            if not numbers:
                return 0.0
            result = numbers[0]
            for n in numbers[1:]:
                result = step(result, n)
            return result
        number = _number(request)
        return 0.0 if number is None else number

    return fold


def _finite(value: Any) -> Any:
    """`value` with every infinity and NaN replaced by `None`: JSON has no such numbers,
    and crossflow writes them as `null`."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    return value


def _settings(config: Comparison | ComparisonSettings) -> ComparisonSettings:
    if isinstance(config, ComparisonSettings):
        return config
    if config == "or_equal":
        return ComparisonSettings(or_equal=True)
    if isinstance(config, float):
        return ComparisonSettings(compared_to=config)
    return ComparisonSettings()


def _comparison(
    holds: Callable[[float, float], bool], settings: ComparisonSettings
) -> Callable[[Any], cf.Ok[Any] | cf.Err[Any]]:
    def check(a: float, b: float) -> bool:
        return holds(a, b) or (settings.or_equal and a == b)

    def compare(request: Any) -> cf.Ok[Any] | cf.Err[Any]:
        if isinstance(request, list | tuple):
            numbers = [_number(v) for v in request]
            if any(n is None for n in numbers):
                return cf.Err(request)
            values = [n for n in numbers if n is not None]
            if settings.compared_to is not None:
                ok = bool(values) and all(check(v, settings.compared_to) for v in values)
            else:
                ok = len(values) >= 2 and all(check(a, b) for a, b in itertools.pairwise(values))
            return cf.Ok(request) if ok else cf.Err(request)
        number = _number(request)
        if number is None or settings.compared_to is None:
            return cf.Err(request)
        return cf.Ok(request) if check(number, settings.compared_to) else cf.Err(request)

    return compare


def make_registry(*, time_scale: float = 1.0) -> diagram.Registry:
    """A registry with the calculator's node builders.

    `time_scale` multiplies the waits of `delay_ms` (tests run the slow diagrams fast).
    """
    registry = diagram.Registry()
    arithmetic = (
        ("add", "Add", operator.add, 0.0, "Add the input numbers, then the config."),
        (
            "sub",
            "Subtract",
            operator.sub,
            0.0,
            "Subtract from the first number the others, then the config.",
        ),
        ("mul", "Multiply", operator.mul, 1.0, "Multiply the input numbers, then by the config."),
        (
            "div",
            "Divide",
            _divide,
            1.0,
            "Divide the first number by the others, then by the config.",
        ),
    )
    for name, text, step, neutral, description in arithmetic:
        fold = _fold(step)

        def build(
            builder: cf.Builder,
            config: float | None,
            fold: Callable[[Any], float] = fold,
            step: Callable[[float, float], float] = step,
            neutral: float = neutral,
            *,
            name: str,
        ) -> cf.Node[Any, float]:
            operand = neutral if config is None else config
            return builder.create_node(lambda request: step(fold(request), operand), name=name)

        registry.register_node_builder(
            name,
            build,
            config=float | None,
            response=float,
            display_text=text,
            description=description,
            config_examples=[("Only the input numbers.", None), ("Then apply 5.", 5.0)],
        )

    for name, text, holds in (
        ("less_than", "Less Than", operator.lt),
        ("greater_than", "Greater Than", operator.gt),
    ):

        def compare(
            builder: cf.Builder,
            config: Comparison | ComparisonSettings,
            holds: Callable[[float, float], bool] = holds,
            *,
            name: str,
        ) -> cf.Node[Any, cf.Ok[Any] | cf.Err[Any]]:
            return builder.create_node(_comparison(holds, _settings(config)), name=name)

        registry.register_node_builder(
            name,
            compare,
            config=Comparison | ComparisonSettings,
            response=cf.Result[Any, Any],
            display_text=text,
            description=f"Check that numbers are in {text.lower()} order, or "
            "compare each with a fixed number; Ok(input) when it holds, else Err(input).",
            config_examples=[
                ("Each element against the next one.", None),
                ("The same, equal values pass.", "or_equal"),
                ("Every element against 10.", 10.0),
                (
                    "Every element against 10, equal passes.",
                    {"compared_to": 10.0, "or_equal": True},
                ),
            ],
        )

    @registry.node_builder(
        "fibonacci",
        config=int | None,
        streams={"sequence": int},
        response=cf.Result[None, Any],
        display_text="Fibonacci",
        description="Stream the Fibonacci sequence of the order in the config, or else in "
        "the input; Err(input) when there is no order.",
        config_examples=[("The order is the input.", None), ("Order 10.", 10)],
    )
    def fibonacci(builder: cf.Builder, config: int | None, *, name: str) -> cf.Node[Any, Any]:
        @cf.service(streams={"sequence": int})
        async def sequence(request: Any, *, streams: cf.Streams) -> cf.Ok[None] | cf.Err[Any]:
            order = config
            if order is None:
                if isinstance(request, bool) or not isinstance(request, int) or request < 0:
                    return cf.Err(request)
                order = request
            current, following = 0, 1
            for _ in range(order + 1):
                streams.sequence.send(current)
                current, following = following, current + following
            return cf.Ok(None)

        return builder.create_node(sequence, name=name)

    @registry.node_builder(
        "delay_ms",
        config=int | None,
        display_text="Delay",
        description="Wait for the configured milliseconds (default 1000), then pass the "
        "input on unchanged.",
        config_examples=[("Wait 1000 ms.", None), ("Wait 1200 ms.", 1200)],
    )
    def delay_ms(builder: cf.Builder, config: int | None, *, name: str) -> cf.Node[Any, Any]:
        seconds = (1000 if config is None else config) / 1000 * time_scale

        async def delay(request: Any) -> Any:
            await anyio.sleep(seconds)
            return request

        return builder.create_node(delay, name=name)

    @registry.node_builder(
        "print",
        config=str | None,
        response=cf.Result[None, Any],
        display_text="Print",
        description="Print the input as JSON; the config, if any, labels it.",
        config_examples=[("Print the input as it is.", None), ("Label it.", "printed from node")],
    )
    def print_json(builder: cf.Builder, config: str | None, *, name: str) -> cf.Node[Any, Any]:
        def show(request: Any) -> cf.Ok[None]:
            text = json.dumps(_finite(request), separators=(",", ":"), allow_nan=False)
            print(text if config is None else f"{config}: {text}", flush=True)
            return cf.Ok(None)

        return builder.create_node(show, name=name)

    return registry


# the registry of `--registry examples.calculator:registry`
registry = make_registry()

__all__ = ["ComparisonSettings", "make_registry", "registry"]
