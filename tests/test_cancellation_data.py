"""Cancellation data that leaves the process: a `WorkflowCancelled` pickles (S9.3, API §4),
and a cancellation nested to any depth converts to data that JSON can carry (API §4,
S6.7)."""

from __future__ import annotations

import copy
import copyreg
import json
import pickle
import threading
import types
from typing import Any

import anyio
import pytest

import crossflow as cf
from crossflow._errors import ErrorCopy
from crossflow.events import OperationFinished

pytestmark = pytest.mark.anyio


def keep_none(x: int) -> None:
    return None


EMPTY_HANDED = cf.Workflow.build(
    lambda s, b: b.chain(s.start).map(keep_none).dispose_on_none().connect(s.terminate),
    name="empty_handed",
)


class HoldsALock(Exception):
    """An exception that does not pickle: it holds a lock."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.lock = threading.Lock()


def explode(x: int) -> int:
    raise HoldsALock("the oven is locked")


LOCKED = cf.Workflow.build(
    lambda s, b: b.chain(s.start).map(explode, name="explode").connect(s.terminate),
    name="locked",
)


@pytest.fixture(autouse=True)
def standard_pickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Exceptions pickle the standard way here, even when another test imported a
    library that took their pickling over for the whole process (as Dask's distributed
    does with tblib)."""
    monkeypatch.delitem(copyreg.dispatch_table, cf.WorkflowCancelled, raising=False)


async def cancelled(workflow: cf.Workflow[int, Any]) -> cf.WorkflowCancelled:
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await workflow.run(1)
    return caught.value


async def test_a_workflow_cancelled_pickles() -> None:
    """API §4: the `WorkflowCancelled` of a run pickles, for another process: its
    cancellation, message, events and start come back; its graph, which cannot cross,
    is left out, so the copy draws its cancellation and events but not the run."""
    error = await cancelled(EMPTY_HANDED)
    assert error.graph is not None
    error.add_note("seen by the test")
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is cf.WorkflowCancelled
    assert back.cancellation == error.cancellation
    assert str(back) == str(error) and back.args == error.args
    assert back.events == error.events and back.events.started_at == error.started_at
    assert back.started_at == error.started_at
    assert back.graph is None
    assert back.__notes__ == ["seen by the test"]
    assert cf.Progress.from_events(back.events) == cf.Progress.from_events(error.events)
    with pytest.raises(cf.CrossflowError, match="pickled"):
        back.to_svg()
    bundle = back._repr_mimebundle_()
    assert "text/html" in bundle and "empty_handed" in bundle["text/plain"]
    shallow = copy.copy(error)
    assert shallow.graph is error.graph and shallow.cancellation is error.cancellation


async def test_an_exception_that_does_not_pickle_crosses_as_a_copy() -> None:
    """API §4: when a service raised an exception that does not pickle, the pickled
    `WorkflowCancelled` carries an `ErrorCopy` with its type's name and message in the
    cancellation and in the events, so the log still counts the failure."""
    error = await cancelled(LOCKED)
    with pytest.raises(TypeError):
        pickle.dumps(error.cancellation)
    back = pickle.loads(pickle.dumps(error))
    cause = back.cancellation.cause
    assert isinstance(cause, cf.ServiceFailed) and cause.operation == "explode"
    assert isinstance(cause.error, ErrorCopy)
    assert (cause.error.type_name, cause.error.message) == ("HoldsALock", "the oven is locked")
    assert str(cause.error) == "HoldsALock: the oven is locked"
    assert len(back.events) == len(error.events)
    (finished,) = [e for e in back.events if isinstance(e, OperationFinished)]
    assert isinstance(finished.error, ErrorCopy)
    progress = cf.Progress.from_events(back.events)
    assert (progress.started, progress.finished, progress.failed) == (1, 1, 1)
    assert back.events.started_at == error.started_at


async def test_a_workflow_cancelled_pickles_under_tblib(monkeypatch: pytest.MonkeyPatch) -> None:
    """API §4: when tblib has taken over the pickling of exceptions (Dask's distributed
    installs it), a `WorkflowCancelled` still pickles without its graph, and its
    traceback crosses too."""
    support = pytest.importorskip("tblib.pickling_support")
    error = await cancelled(EMPTY_HANDED)
    monkeypatch.setitem(copyreg.dispatch_table, cf.WorkflowCancelled, support.pickle_exception)
    monkeypatch.setitem(copyreg.dispatch_table, types.TracebackType, support.pickle_traceback)
    back = pickle.loads(pickle.dumps(error))
    assert back.cancellation == error.cancellation and back.graph is None
    assert back.events == error.events and back.started_at == error.started_at
    assert back.__traceback__ is not None


async def test_a_workflow_cancelled_crosses_a_process_pool() -> None:
    """API §4: raised in a worker process of a `ProcessPoolExecutor`, a
    `WorkflowCancelled` reaches the parent as itself, with its cancellation."""
    import concurrent.futures
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=context) as pool:
        future = pool.submit(run_empty_handed, 1)
        with anyio.fail_after(60):
            error = await anyio.to_thread.run_sync(future.exception)
    assert isinstance(error, cf.WorkflowCancelled)
    assert isinstance(error.cancellation.cause, cf.Unreachable)
    assert error.cancellation.cause.scope == "empty_handed"
    assert error.events and error.started_at is not None


def run_empty_handed(x: int) -> None:
    """In a worker process: a run that is cancelled."""
    EMPTY_HANDED.run_sync(x)


# --------------------------------------------------------------------------- to_dict


def nested_cancellation(depth: int, width: int, also: int = 0) -> cf.Cancellation:
    """A cancellation `depth` levels deep, each level with `width` more disposals and
    `also` cancellations while cancelling."""
    inner = cf.Cancellation(cf.Triggered("stop", "deep down"))
    for level in range(depth):
        disposals = tuple(
            cf.Disposal(f"op{level}_{i}", cf.Branching(f"op{level}_{i}")) for i in range(width)
        )
        cleanups = tuple(
            cf.Cancellation(cf.Filtered(f"cleanup{level}_{i}", "no")) for i in range(also)
        )
        inner = cf.Cancellation(
            cf.Unreachable(
                f"scope{level}",
                (cf.Disposal(f"scope{level}", cf.ScopeCancelled(inner)), *disposals),
            ),
            cleanups,
        )
    return inner


def unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    """The nested `to_dict()` rebuilt from `to_dict(flat=True)` (for shallow ones)."""
    entries = flat["cancellations"]

    def build(i: int) -> dict[str, Any]:
        entry = entries[i]
        cause = dict(entry["cause"])
        if cause["kind"] == "Unreachable":
            disposals = []
            for d in cause["disposals"]:
                d = dict(d)
                if d["cause"]["kind"] == "ScopeCancelled":
                    d["cause"] = {
                        "kind": "ScopeCancelled",
                        "cancellation": build(d["cause"]["cancellation"]),
                    }
                disposals.append(d)
            cause["disposals"] = disposals
        return {"cause": cause, "while_cancelling": [build(j) for j in entry["while_cancelling"]]}

    return build(0)


def test_a_deep_cancellation_converts_to_data() -> None:
    """API §4, S6.7: `to_dict()` of a cancellation nested 5,000 deep is built without
    recursion."""
    deep = nested_cancellation(5000, 2)
    data = deep.to_dict()
    levels = 0
    while data["cause"]["kind"] == "Unreachable":
        data = data["cause"]["disposals"][0]["cause"]["cancellation"]
        levels += 1
    assert levels == 5000 and data["cause"]["value"] == "deep down"


def test_the_flat_form_keeps_everything_with_bounded_depth() -> None:
    """API §4: `to_dict(flat=True)` lists every nested cancellation once, outermost
    first, referring to nested ones by index: the same data as `to_dict()`, which JSON
    carries both ways whatever the depth (the nested form is too deep for `json` at a
    few hundred levels)."""
    shallow = nested_cancellation(6, 3, also=2)
    flat = shallow.to_dict(flat=True)
    assert unflatten(flat) == shallow.to_dict()
    assert len(flat["cancellations"]) == 1 + 6 * 3
    assert flat["cancellations"][0]["cause"]["disposals"][0]["cause"] == {
        "kind": "ScopeCancelled",
        "cancellation": 1,
    }
    deep = nested_cancellation(2000, 12)
    text = json.dumps(deep.to_dict(flat=True))
    back = json.loads(text)
    assert len(back["cancellations"]) == 2001
    assert back["cancellations"][-1]["cause"] == {
        "kind": "Triggered",
        "operation": "stop",
        "value": "deep down",
    }
    plain = cf.Cancellation(cf.UserCancelled("enough"))
    assert plain.to_dict(flat=True) == {"cancellations": [plain.to_dict()]}
