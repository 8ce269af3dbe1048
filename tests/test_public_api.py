"""The public surface: what `import crossflow as cf` offers, and how it presents itself."""

from __future__ import annotations

import inspect

import pytest

import crossflow as cf
import crossflow.testing


def test_all_lists_exactly_the_public_names() -> None:
    """`__all__` names every public object of the package, and nothing private."""
    public = {name for name in dir(cf) if not name.startswith("_")} - {"annotations"}
    modules = {name for name in public if inspect.ismodule(getattr(cf, name))}
    assert set(cf.__all__) == public - modules
    assert all(not name.startswith("_") for name in cf.__all__)
    assert len(cf.__all__) == len(set(cf.__all__))


@pytest.mark.parametrize("name", [n for n in cf.__all__ if isinstance(getattr(cf, n), type)])
def test_classes_present_themselves_as_crossflow(name: str) -> None:
    """Classes say `crossflow.X` in reprs and tracebacks, not a private module."""
    assert getattr(cf, name).__module__ == "crossflow"


@pytest.mark.parametrize("name", cf.__all__)
def test_every_public_name_is_documented(name: str) -> None:
    """Every public name has a docstring (the reference pages are generated from them)."""
    obj = getattr(cf, name)
    if not (isinstance(obj, type) or inspect.isfunction(obj)):
        pytest.skip("type aliases are documented on the reference page")
    assert obj.__doc__ and obj.__doc__.strip()


def test_every_public_name_has_a_reference_entry() -> None:
    """Every name of `cf.__all__` has its entry in the reference pages (a `::: crossflow.X`
    block rendered from its docstring, or in the block of the module it lives in), so none
    is public without being documented."""
    import re
    import sys
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    text = "".join(p.read_text(encoding="utf-8") for p in sorted(docs.rglob("*.md")))
    entries = set(re.findall(r"^::: (crossflow\.[\w.]+)$", text, re.MULTILINE))
    # module entries (`::: crossflow.events`) document the names inside them
    modules = [sys.modules[e] for e in entries if inspect.ismodule(sys.modules.get(e))]
    missing = [
        name
        for name in cf.__all__
        if f"crossflow.{name}" not in entries
        and not any(getattr(m, name, None) is getattr(cf, name) for m in modules)
    ]
    assert missing == []


def test_api_names_from_the_contract_exist() -> None:
    """The names of the public contract (building, running, causes, errors) are importable."""
    expected = [
        "workflow",
        "Workflow",
        "Scope",
        "Builder",
        "Node",
        "InputSlot",
        "Output",
        "Chain",
        "SplitOutputs",
        "service",
        "Service",
        "Ok",
        "Err",
        "Result",
        "ScopeSettings",
        "Cancellation",
        "Unreachable",
        "Triggered",
        "Filtered",
        "Supplanted",
        "CircularCollect",
        "UserCancelled",
        "ServiceFailed",
        "TimedOut",
        "CancellationCause",
        "Disposal",
        "Branching",
        "ScopeCancelled",
        "EmptySpread",
        "DeficientCollection",
        "IncompleteSplit",
        "ClosedGate",
        "Trimming",
        "UnusedStreams",
        "CrossflowError",
        "BuildError",
        "OutputAlreadyConnected",
        "IncompatibleLayout",
        "CircularCollectError",
        "InvalidArgument",
        "WorkflowCancelled",
        # sessions and cancellation
        "Session",
        "SessionState",
        "CancellationPolicy",
        "Event",
    ]
    missing = [name for name in expected if not hasattr(cf, name)]
    assert missing == []


def test_event_classes_of_the_contract_exist() -> None:
    """S9.2: every event kind the contract names lives in `crossflow.events`, derives
    from `cf.Event` and is documented."""
    import crossflow.events as events

    kinds = [
        "SessionStarted",
        "OperationStarted",
        "OperationFinished",
        "Disposed",
        "CancellationRequested",
        "ChildCancellationRequested",
        "ChildCancellationFailed",
        "CleanupStarted",
        "TaskCancelled",
        "TimerCancelled",
        "CleanupFinished",
        "CleanupFailed",
        "Terminated",
        "Cancelled",
    ]
    for kind in kinds:
        cls = getattr(events, kind)
        assert issubclass(cls, cf.Event), kind
        assert cls.__doc__ and cls.__doc__.strip(), kind
    assert set(kinds) <= set(events.__all__)
    assert all(issubclass(getattr(events, name), cf.Event) for name in events.__all__)


def test_one_exception_root() -> None:
    """Every exception class crossflow exports derives from `CrossflowError`; its one
    warning class is a `UserWarning`."""
    errors = [
        getattr(cf, n)
        for n in cf.__all__
        if isinstance(getattr(cf, n), type)
        and issubclass(getattr(cf, n), BaseException)
        and not issubclass(getattr(cf, n), Warning)
    ]
    assert errors
    assert all(issubclass(e, cf.CrossflowError) for e in errors)
    assert issubclass(cf.InvalidArgument, TypeError)
    assert issubclass(cf.CrossflowWarning, UserWarning)


def test_workflow_cancelled_is_never_a_backend_cancellation() -> None:
    """`WorkflowCancelled` is an ordinary `Exception`, never the backend's cancellation
    exception, so cancel scopes never swallow it (API §2)."""
    import asyncio

    import trio

    assert issubclass(cf.WorkflowCancelled, Exception)
    assert not issubclass(cf.WorkflowCancelled, asyncio.CancelledError)
    assert not issubclass(cf.WorkflowCancelled, trio.Cancelled)


def test_testing_namespace_is_public() -> None:
    """`crossflow.testing` is importable and lists what it exports."""
    assert isinstance(crossflow.testing.__all__, tuple)


def test_diagram_namespace_is_public() -> None:
    """`crossflow.diagram` (also `cf.diagram`) lists exactly its public names, each
    documented and presenting itself as `crossflow.diagram.X` (API §7)."""
    import crossflow.diagram as diagram

    assert cf.diagram is diagram
    assert isinstance(diagram.__all__, tuple)
    public = {n for n in dir(diagram) if not n.startswith("_")} - {"annotations", "contextlib"}
    assert set(diagram.__all__) == public
    assert {"Diagram", "Registry", "Problem", "DiagramError", "Section"} <= public
    for name in diagram.__all__:
        obj = getattr(diagram, name)
        assert obj.__module__ == "crossflow.diagram", name
        assert obj.__doc__ and obj.__doc__.strip(), name
    assert issubclass(diagram.DiagramError, cf.BuildError)


def test_importing_crossflow_does_not_import_diagrams() -> None:
    """`import crossflow` leaves the diagram code unloaded until `cf.diagram` is used."""
    import subprocess
    import sys

    code = (
        "import sys, crossflow as cf; before = 'crossflow.diagram' in sys.modules; "
        "cf.diagram.Registry; print(before, 'crossflow.diagram' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "True"]
