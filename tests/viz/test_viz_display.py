"""Notebook display (API §8): `_repr_mimebundle_` of workflows, sessions, cancellations,
`WorkflowCancelled` and event logs, without JavaScript; a running session's display
updates in place."""

from __future__ import annotations

import sys
import types
from typing import Any

import anyio
import pytest
from graphs import EVERY_KIND
from viz_support import check_mermaid, check_svg

import crossflow as cf

pytestmark = pytest.mark.anyio

FORMS = {"text/plain", "image/svg+xml", "text/html", "text/vnd.mermaid"}


def check_bundle(bundle: dict[str, str]) -> None:
    """Every form is there; the pictures parse; nothing needs JavaScript."""
    assert set(bundle) == FORMS
    check_svg(bundle["image/svg+xml"])
    assert "<script" not in bundle["text/html"].lower()
    assert (
        "<svg " in bundle["text/html"]
        or "<table" in bundle["text/html"]
        or "<ul>" in bundle["text/html"]
    )
    assert bundle["text/vnd.mermaid"].split("\n", 1)[0] in ("flowchart TB", "sequenceDiagram")


def cancelled_run() -> cf.WorkflowCancelled:
    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).map(lambda x: None, name="nothing").dispose_on_none().connect(
            scope.terminate
        )

    wf = cf.Workflow.build(build, name="empty_handed")
    with pytest.raises(cf.WorkflowCancelled) as caught:
        wf.run_sync(1)
    return caught.value


def test_a_workflow_displays_as_its_picture() -> None:
    """API §8: a workflow's bundle has its picture (SVG, and inline in HTML), its Mermaid
    chart and its repr."""
    bundle = EVERY_KIND._repr_mimebundle_()
    check_bundle(bundle)
    assert bundle["text/plain"] == repr(EVERY_KIND)
    assert bundle["image/svg+xml"] == EVERY_KIND.to_svg()
    assert bundle["text/vnd.mermaid"] == EVERY_KIND.to_mermaid()


def test_only_the_forms_asked_for_are_made() -> None:
    """`include` and `exclude` select the forms."""
    assert set(EVERY_KIND._repr_mimebundle_(include={"text/plain"})) == {"text/plain"}
    assert set(EVERY_KIND._repr_mimebundle_(exclude={"text/html", "image/svg+xml"})) == {
        "text/plain",
        "text/vnd.mermaid",
    }


async def test_a_session_displays_its_run() -> None:
    """API §8: a session's bundle shows the run over the picture, and its event log."""
    with anyio.fail_after(10):
        async with EVERY_KIND.start(3) as session:
            await session.result()
    bundle = session._repr_mimebundle_()
    check_bundle(bundle)
    check_mermaid(bundle["text/vnd.mermaid"])
    assert bundle["text/plain"].startswith(repr(session))
    assert "every_kind TERMINATED after" in bundle["text/plain"]
    html = bundle["text/html"]
    assert "Session of &#x27;every_kind&#x27;: TERMINATED" in html
    assert "<details><summary>Event log (" in html


def test_a_session_not_started_displays_its_workflow() -> None:
    """API §8: a session that was never started shows the workflow and says so."""
    session = EVERY_KIND.start(3)
    bundle = session._repr_mimebundle_()
    check_bundle(bundle)
    assert "not started" in bundle["text/html"]


def test_a_cancellation_displays_as_a_tree() -> None:
    """API §8: a cancellation shows as a tree of its cause and disposals (HTML list, SVG,
    Mermaid), and as its `str()` in text."""
    error = cancelled_run()
    bundle = error.cancellation._repr_mimebundle_()
    check_bundle(bundle)
    assert bundle["text/plain"] == str(error.cancellation)
    assert "<strong" in bundle["text/html"] and "Unreachable" in bundle["text/html"]
    assert "Filtered" in bundle["text/html"]


def test_workflow_cancelled_displays_the_run_and_its_causes() -> None:
    """API §8: a `WorkflowCancelled` shows the run over the workflow, the tree of its
    cancellation and its event log."""
    error = cancelled_run()
    bundle = error._repr_mimebundle_()
    check_bundle(bundle)
    html = bundle["text/html"]
    assert "crossflow-cancellation" in html and "crossflow-events" in html
    assert bundle["text/plain"].startswith("WorkflowCancelled: terminate of 'empty_handed'")


def test_workflow_cancelled_raised_by_hand_has_no_picture() -> None:
    """A `WorkflowCancelled` made by hand has no graph: its bundle has text and HTML only,
    and `to_svg()` says why it cannot draw."""
    error = cf.WorkflowCancelled(cf.Cancellation(cf.UserCancelled("test")))
    assert set(error._repr_mimebundle_()) == {"text/plain", "text/html"}
    with pytest.raises(cf.CrossflowError, match="carries no graph"):
        error.to_svg()


def test_an_event_log_displays_as_a_table_and_a_timeline() -> None:
    """API §8: an event log shows as a table with relative times and session paths, a
    timeline, and a Mermaid sequence."""
    error = cancelled_run()
    bundle = error.events._repr_mimebundle_()
    check_bundle(bundle)
    html = bundle["text/html"]
    assert "<th" in html and "+0.000 ms" in html and "empty_handed" in html
    assert bundle["text/plain"] == str(error.events)
    assert bundle["text/vnd.mermaid"].startswith(
        "sequenceDiagram\n    participant p0 as empty_handed"
    )


def nested_cancellation(depth: int, width: int) -> cf.Cancellation:
    """A cancellation `depth` levels deep, each level with `width` disposals."""
    inner = cf.Cancellation(cf.Triggered("stop", "deep down"))
    for level in range(depth):
        disposals = tuple(
            cf.Disposal(f"op{level}_{i}", cf.Branching(f"op{level}_{i}")) for i in range(width)
        )
        inner = cf.Cancellation(
            cf.Unreachable(
                f"scope{level}",
                (cf.Disposal(f"scope{level}", cf.ScopeCancelled(inner)), *disposals),
            )
        )
    return inner


def test_large_cancellations_display_bounded() -> None:
    """API §8: a cancellation with 1,000 disposals, nested 2,000 deep, displays without
    recursion, showing the first disposals, a count of the rest and the innermost cause."""
    wide = nested_cancellation(1, 1000)
    deep = nested_cancellation(2000, 12)
    for cancellation, more in ((wide, 991), (deep, 3)):
        bundle = cancellation._repr_mimebundle_()
        check_bundle(bundle)
        html = bundle["text/html"]
        assert len(html) < 100_000
        assert f"and {more} more disposal(s)" in html
    assert "1996 level(s) further down" in html and "deep down" in html


async def test_a_running_session_updates_its_display_in_place(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """API §8: in a notebook, a running session is shown with a display handle that is
    updated as the run goes, and a last time when it has ended."""
    shown: list[dict[str, Any]] = []

    class Handle:
        def update(self, obj: dict[str, str], raw: bool = False) -> None:
            shown.append(obj)

    def display(obj: dict[str, str], raw: bool = False, display_id: bool = False) -> Handle:
        assert raw and display_id
        shown.append(obj)
        return Handle()

    fake = types.ModuleType("IPython.display")
    fake.display = display  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython.display", fake)
    monkeypatch.setattr("crossflow._viz._live.INTERVAL", 0.0)
    release = anyio.Event()

    async def wait(x: int) -> int:
        await release.wait()
        return x

    wf = cf.Workflow.build(
        lambda s, b: b.chain(s.start).then(wait).connect(s.terminate), name="waits"
    )
    with anyio.fail_after(10):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            session._ipython_display_()
            assert "RUNNING" in shown[0]["text/html"]
            release.set()
            await session.result()
    assert len(shown) >= 2
    assert "TERMINATED" in shown[-1]["text/html"]
    check_bundle(shown[-1])


def test_a_picture_that_fails_is_left_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """A form that cannot be made is left out with a `CrossflowWarning`; the others are
    shown."""

    def broken(graph: object) -> str:
        raise RuntimeError("no picture today")

    monkeypatch.setattr("crossflow._viz._pictures.workflow_svg", broken)
    with pytest.warns(cf.CrossflowWarning, match="no picture today"):
        bundle = EVERY_KIND._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/vnd.mermaid"}
