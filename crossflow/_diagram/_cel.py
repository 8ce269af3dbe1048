"""`transform` operations: CEL expressions over the message, bound to `request`.

CEL comes from the optional `cel` extra (`pip install 'crossflow-py[cel]'`, the
`common-expression-language` package); without it a diagram that uses `transform`
has a problem saying so, and everything else still works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

EXTRA = "cel"
PACKAGE = "common-expression-language"


class CelUnavailable(Exception):
    """The CEL extra is not installed."""


def compile_expression(expression: str) -> Callable[[Any], Any]:
    """Compile `expression`; the result evaluates it with `request` bound to its argument.

    Raises:
        CelUnavailable: the `cel` extra is not installed.
        ValueError: the expression is not valid CEL (the message says where).
    """
    try:
        import cel
    except ImportError:
        raise CelUnavailable(
            f"transform needs CEL, which is an optional extra: install it with "
            f"`pip install 'crossflow-py[{EXTRA}]'` (it brings the {PACKAGE} package)"
        ) from None
    try:
        program = cel.compile(expression)
    except Exception as error:  # the binding reports syntax errors as ValueError
        raise ValueError(str(error).strip()) from None

    def evaluate(request: Any) -> Any:
        return program.execute({"request": request})

    return evaluate
