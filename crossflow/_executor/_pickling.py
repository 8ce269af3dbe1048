"""What must pickle to run elsewhere, and the error that says what did not."""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from typing import Any

from .._errors import BuildError, CrossflowError
from .._text import describe_error, safe_repr


class UnpicklableMessage(CrossflowError, TypeError):
    """A message, response or exception had to be pickled to cross to or from another
    process (`cf.ProcessExecutor`, `cf.DaskExecutor`), and could not be.

    The node fails with it (`ServiceFailed`). Send values that pickle: plain data,
    instances of classes defined at module level; not locks, open files, sockets or
    generators.
    """


def dumps(value: object, what: Callable[[], str], dump: Callable[[object], bytes]) -> bytes:
    """`value` pickled with `dump`, or `UnpicklableMessage` saying what it was."""
    try:
        return dump(value)
    except Exception as error:
        raise UnpicklableMessage(
            f"{what()} cannot be pickled ({describe_error(error, None)}), so it cannot "
            "cross to or from another process. Send values that pickle: plain data, "
            "instances of classes defined at module level."
        ) from None


def check_function(
    operation: str, function: Callable[..., Any], executor: str, dump: Callable[[object], bytes]
) -> None:
    """At build time: the function of `operation` must pickle to run elsewhere."""
    try:
        dump(function)
    except Exception as error:
        raise BuildError(
            f"{operation!r} cannot run with {executor}: its function "
            f"{safe_repr(function)} cannot be pickled ({describe_error(error, None)}), "
            "and a function is sent to its worker pickled. Define it at module level "
            "(not inside another function, not a lambda), or run it in a thread with "
            "cf.ThreadExecutor()."
        ) from None


def plain_dumps(value: object) -> bytes:
    return pickle.dumps(value, pickle.HIGHEST_PROTOCOL)


def sendable(error: BaseException, operation: str, where: str) -> BaseException:
    """`error`, raised by `operation` `where` ("in its worker process"), made fit to be
    sent back: it keeps its traceback as a note, or is replaced by an
    `UnpicklableMessage` when it does not pickle."""
    lines = traceback.format_exception(error)
    try:
        error.add_note(f"Traceback {where}:\n{''.join(lines).rstrip()}")
        plain_dumps(error)
    except Exception as failure:
        return UnpicklableMessage(
            f"{operation} raised {describe_error(error, None)} {where}, and the exception "
            f"cannot be pickled to be sent back ({describe_error(failure, None)}).\n"
            f"{''.join(lines).rstrip()}"
        )
    return error
