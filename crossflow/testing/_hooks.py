"""The one place where `crossflow.testing` reaches into the runtime.

Exploring a workflow needs one thing the public API does not offer: a session whose
service activations can be made to raise (`inject`). Everything else goes through
`crossflow`'s public names.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import crossflow as cf

Req = TypeVar("Req")
Resp = TypeVar("Resp")

Inject = Callable[[str], Exception | None]
"""Called with an operation's name right before each service activation (blocking or
async; never for a delay); an exception it returns is raised in place of the call."""


def start(
    workflow: cf.Workflow[Req, Resp],
    request: Req,
    on_event: Callable[[cf.Event], object],
    inject: Inject,
) -> cf.Session[Resp]:
    """`workflow.start(request, on_event=on_event)`, with `inject` before every activation."""
    from crossflow._session import Session

    session: cf.Session[Resp] = Session(
        workflow._graph,
        request,
        workflow._delivery,
        workflow.streams,
        True,
        on_event,
        inject,
    )
    return session
