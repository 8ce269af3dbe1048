"""A run drawn over its workflow (`session.to_svg()`, `WorkflowCancelled.to_svg()`), the
event log placed in time (`cf.EventLog`), and progress (`cf.Progress`): API §8, S9."""

from __future__ import annotations

import io
import pickle
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import pytest
from graphs import EVERY_KIND
from viz_support import SVG_NS, check_mermaid, check_svg

import crossflow as cf
from crossflow._viz._terminal import ProgressLine
from crossflow.events import OperationStarted

pytestmark = pytest.mark.anyio


def bake(x: int) -> int:
    return x * 2


def check(x: int) -> cf.Result[int, str]:
    return cf.Ok(x) if x < 10 else cf.Err("too big")


@cf.workflow
def pie(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(bake).map(check).fork_result(
        ok=lambda ok: ok.map(str, name="serve").connect(scope.terminate),
        err=lambda err: err.dispose(),
    )


def boxes(svg: str) -> dict[str, Any]:
    """The operation boxes of a picture by name: their attributes and their text."""
    root = check_svg(svg)
    out = {}
    for g in root.iter(f"{SVG_NS}g"):
        if g.get("class") == "cf-box":
            texts = ["".join(t.itertext()) for t in g.iter(f"{SVG_NS}text")]
            shape = g.find(f"{SVG_NS}rect")
            if shape is None:
                shape = g.find(f"{SVG_NS}path")
            assert shape is not None
            out[g.get("data-op")] = {"texts": texts, "stroke": shape.get("stroke"), "g": g}
    return out


def caption(svg: str) -> str:
    root = check_svg(svg)
    return "\n".join("".join(t.itertext()) for t in root.iter(f"{SVG_NS}text"))


async def test_a_session_draws_how_often_each_operation_ran() -> None:
    """API §8: per operation, how often it ran; what was never reached is said so."""
    with anyio.fail_after(10):
        async with pie.start(3) as session:
            assert await session.result() == "6"
    drawn = boxes(session.to_svg())
    assert "ran once" in drawn["bake"]["texts"]
    assert "ran once" in drawn["serve"]["texts"]
    assert any("disposed once" in t for t in drawn["fork_result#4"]["texts"])
    assert "TERMINATED" in caption(session.to_svg())


async def test_unreachable_disposals_stand_out() -> None:
    """API §8: for an `Unreachable`, the disposals that led there are numbered on the
    picture and listed under it; what was never reached is faded."""
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await pie.run(7)
    error = caught.value
    svg = error.to_svg()
    drawn = boxes(svg)
    fork = drawn["fork_result#4"]
    circles = list(fork["g"].iter(f"{SVG_NS}circle"))
    assert [("".join(t.itertext())) for t in fork["g"].iter(f"{SVG_NS}text")][-1] == "1"
    assert circles and circles[0].get("fill") == "#b3261e"
    assert "never reached" in drawn["serve"]["texts"]
    assert drawn["serve"]["g"].find(f"{SVG_NS}rect").get("stroke-dasharray")  # type: ignore[union-attr]
    text = caption(svg)
    assert "The disposals that made terminate unreachable, in order:" in text
    assert "1. fork_result#4: the ok branch was not taken" in text
    mermaid = error._repr_mimebundle_()["text/vnd.mermaid"]
    check_mermaid(mermaid)
    assert "class serve" not in mermaid and "cf_unreached" in mermaid


async def test_a_failure_shows_where_the_cancellation_came_from() -> None:
    """API §8: the service whose failure cancelled the run is marked, with its error."""

    def explode(x: int) -> int:
        raise ValueError("no oven")

    wf = cf.Workflow.build(
        lambda s, b: b.chain(s.start).map(explode).connect(s.terminate), name="burnt"
    )
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await wf.run(1)
    drawn = boxes(caught.value.to_svg())
    explode_box = next(v for k, v in drawn.items() if k.endswith("explode"))
    assert explode_box["stroke"] == "#b3261e"
    assert any("ValueError: no oven" in t for t in explode_box["texts"])
    assert any("failed" in t for t in explode_box["texts"])


async def test_nested_scopes_show_their_sessions() -> None:
    """API §8: a nested scope's box says how many sessions it had and how they ended; the
    cleanup workflow that ran says so too."""
    with anyio.fail_after(10):
        async with EVERY_KIND.start(3) as session:
            await session.result()
    text = caption(session.to_svg())
    assert "1 session, 1 interrupted" in text
    assert "1 session, 1 terminated" in text
    assert "never reached" in text


async def test_a_running_session_can_be_drawn() -> None:
    """API §8: while a session runs, its picture shows what has started so far."""
    release = anyio.Event()

    async def slow(x: int) -> int:
        await release.wait()
        return x

    wf = cf.Workflow.build(
        lambda s, b: b.chain(s.start).then(slow).connect(s.terminate), name="slow"
    )
    with anyio.fail_after(10):
        async with wf.start(1) as session:
            await anyio.wait_all_tasks_blocked()
            svg = session.to_svg()
            assert "RUNNING" in caption(svg)
            assert session.progress().running == 1
            release.set()
            await session.result()
    assert session.progress().running == 0


async def test_a_session_without_events_is_drawn_without_a_run() -> None:
    """API §8: a session started with `events=False` draws its workflow and says that no
    events were recorded; one never started draws the workflow alone."""
    session = pie.start(1, events=False)
    assert "not started" in caption(session.to_svg())
    with anyio.fail_after(10):
        async with session:
            await session.result()
    text = caption(session.to_svg())
    assert "no events recorded" in text and "ran once" not in text


async def test_the_event_log_is_placed_in_time() -> None:
    """S9.2, API §8: `session.events` is a `cf.EventLog`: a tuple of events with the run's
    wall-clock start (UTC), relative times and wall-clock times per event."""
    before = datetime.now(UTC)
    with anyio.fail_after(10):
        async with pie.start(3) as session:
            await session.result()
    after = datetime.now(UTC)
    log = session.events
    assert isinstance(log, cf.EventLog) and isinstance(log, tuple)
    assert log == tuple(log) and log[0] == next(iter(log)) and len(log[1:]) == len(log) - 1
    assert session.started_at is not None and before <= session.started_at <= after
    assert log.started_at == session.started_at
    assert log.elapsed(log[0]) == 0 and log.elapsed(log[-1]) == log.duration >= 0
    at = log.at(log[-1])
    assert at is not None and at - log.started_at == timedelta(seconds=log.duration)
    table = str(log)
    assert table.splitlines()[0].startswith(f"{len(log)} events, run started ")
    assert table.splitlines()[1].startswith("+0.000 ms  pie")
    assert repr(log).startswith(f"<EventLog: {len(log)} events over ")
    copied = pickle.loads(pickle.dumps(log))
    assert copied == log and copied.started_at == log.started_at


async def test_workflow_cancelled_carries_the_start() -> None:
    """API §8: `WorkflowCancelled.started_at` (also on its events) places a cancelled run in
    time, from `run` and from `session.result()` alike."""
    before = datetime.now(UTC)
    with anyio.fail_after(10), pytest.raises(cf.WorkflowCancelled) as caught:
        await pie.run(7)
    error = caught.value
    assert error.started_at is not None
    assert before - timedelta(seconds=1) <= error.started_at <= datetime.now(UTC)
    assert error.events.started_at == error.started_at
    with anyio.fail_after(10):
        async with pie.start(7) as session:
            with pytest.raises(cf.WorkflowCancelled) as again:
                await session.result()
    assert again.value.started_at == session.started_at


async def test_progress_counts_what_happened() -> None:
    """API §8: `session.progress()` is a `cf.Progress` snapshot: per operation, started,
    finished, failed, disposed; the same as `Progress.from_events` of the log."""
    with anyio.fail_after(10):
        async with pie.start(7) as session:
            with pytest.raises(cf.WorkflowCancelled):
                await session.result()
    progress = session.progress()
    assert isinstance(progress, cf.Progress)
    assert progress.state is cf.SessionState.CANCELLED
    assert (progress.started, progress.finished, progress.failed, progress.disposed) == (2, 2, 0, 1)
    assert progress.started_at == session.started_at
    assert isinstance(progress.cancellation, cf.Cancellation)
    by_name = {op.name: op for op in progress.operations}
    assert by_name["bake"] == cf.OperationProgress(("pie",), "bake", 1, 1, 0, 0)
    assert by_name["fork_result#4"].disposed == 1
    assert cf.Progress.from_events(session.events) == progress
    assert str(progress).startswith("pie CANCELLED after ")
    assert progress.to_dict()["operations"][0]["name"] == "bake"


async def test_progress_follows_a_run_as_it_goes() -> None:
    """API §8: a watcher sees the progress grow as events come, and the final snapshot
    once the session has ended."""
    seen: list[cf.Progress] = []

    with anyio.fail_after(10):
        async with EVERY_KIND.start(3) as session:

            def on_event(event: cf.Event) -> None:
                if isinstance(event, OperationStarted):
                    seen.append(session.progress())

            session.watch(on_event, replay=True)
            await session.result()
    assert [p.started for p in seen] == sorted(p.started for p in seen)
    assert seen[0].started >= 1 and session.progress().state is cf.SessionState.TERMINATED


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_the_progress_line_shows_long_runs_only() -> None:
    """API §8: the terminal progress line stays silent on a quick run, draws one line that
    it rewrites on a long one, and ends with the outcome."""
    quick = Terminal()
    with anyio.fail_after(10):
        await pie.run(3, on_event=ProgressLine(quick, delay=1.0))
    assert quick.getvalue() == ""
    long_ = Terminal()
    with anyio.fail_after(10):
        await EVERY_KIND.run(3, on_event=ProgressLine(long_, delay=0.0, interval=0.0))
    text = long_.getvalue()
    assert text.startswith("\r\x1b[K") and text.endswith("\n")
    last = text.rsplit("\r\x1b[K", 1)[1]
    assert last.startswith("every_kind TERMINATED ") and "done" in last


async def test_the_command_line_shows_progress_on_a_terminal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """API §8: `crossflow run` plugs the progress line in when standard error is a
    terminal, and not otherwise."""
    import sys

    from crossflow._cli import _progress

    monkeypatch.setattr(sys, "stderr", Terminal())
    assert isinstance(_progress(None), ProgressLine)
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert _progress(None) is None


async def test_tooltips_keep_their_line_breaks() -> None:
    """API §8: the hover text of a box in a run's picture has one line per fact, as real
    line breaks, never an escaped `\\x0a`."""
    with anyio.fail_after(10):
        async with pie.start(3) as session:
            await session.result()
    root = check_svg(session.to_svg())
    titles = ["".join(t.itertext()) for t in root.iter(f"{SVG_NS}title")]
    bake = next(t for t in titles if t.startswith("bake"))
    assert bake.split("\n")[1].startswith("started 1, finished 1"), bake
    assert not any("\\x0a" in t for t in titles), titles
