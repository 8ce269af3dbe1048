"""Building one scope: run its build function on a fresh draft, freeze and analyse it."""

from __future__ import annotations

import inspect
import os
import sys
import warnings
from collections.abc import Callable, Mapping

from ._analysis import analyse, reach_problems
from ._builder import Builder
from ._draft import Draft
from ._errors import InvalidArgument, UnreachableWarning
from ._model import Graph
from ._settings import ScopeSettings


def build_scope(
    build_fn: Callable[..., object],
    *,
    name: str,
    settings: ScopeSettings,
    streams: Mapping[str, object],
    parent: Draft | None = None,
    what: str = "workflow",
) -> Graph:
    """Run a build function on a fresh scope and return its analysed, immutable graph.

    Warns `UnreachableWarning` (API §10) when the graph has parts no message can reach;
    `what` names the graph in that warning.

    Raises:
        CircularCollectError: two collects lie upstream of each other (S5.5).
        BuildError: the build function built something wrong.
    """
    draft = Draft(name, settings, streams, parent, build_scope)
    result = build_fn(draft.scope_handle(), Builder(draft))
    if inspect.isawaitable(result):  # an object whose __call__ returns a coroutine
        if inspect.iscoroutine(result):
            result.close()  # it will never run
        raise InvalidArgument(
            f"the build function of {what} {name!r} returned an awaitable: build functions "
            "run synchronously, once, while the workflow is built; make it a plain function"
        )
    graph = draft.freeze()
    problems = reach_problems(graph, analyse(graph), draft.disposed_ports(), what)
    if problems is not None:
        warn_at_user_code(problems, UnreachableWarning)
    return graph


def warn_at_user_code(message: str, category: type[Warning]) -> None:
    """Issue a warning that points at the first caller outside crossflow: the line that
    built the workflow or scope, however deep the build functions nest."""
    level = 2  # the caller of this function
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep
