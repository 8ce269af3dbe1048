"""`run_sync` in a notebook: in a real Jupyter kernel, whose event loop already runs in
the cell's thread, `wf.run_sync(x)` runs the session on its own loop in a worker thread
and the cell waits for it, on asyncio and trio; an interrupt cancels the session and
waits for its cleanup. Outside a kernel, a running loop is still a clear error (API §2)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from notebooks import ROOT, Kernel, error, execute_notebook, make_notebook, stdout

import crossflow as cf
from crossflow._notebook import _Worker


def _readme_example() -> tuple[str, str]:
    """The README's example and what its `print` line says it prints."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    snippet = re.search(r"```python\n(.*?)```", text, re.DOTALL)
    assert snippet is not None, "the README has no python example"
    promised = re.search(r"print\(.*\)\s*#\s*(.+)$", snippet.group(1), re.MULTILINE)
    assert promised is not None, "the README's print line has no comment saying what it prints"
    return snippet.group(1), promised.group(1).strip()


# --------------------------------------------------------------------------- a notebook


@pytest.mark.slow
def test_a_notebook_runs_the_readme_example_on_both_backends(tmp_path: Path) -> None:
    """The README's example pasted into a notebook's first cell prints what it promises,
    and so does `run_sync(backend="trio")`, and examples/quickstart.py pasted into a cell
    (as the tutorial says); a cancelled session raises
    `WorkflowCancelled` in the cell with its cause and the service's exception as its
    `__cause__`; `await wf.run(...)` works in a cell, and `run_sync` in a cell that also
    awaits; the session sees the cell's context variables; no worker thread is left
    (API §2)."""
    example, promised = _readme_example()
    cells = [
        example + 'print(pie.run_sync(3, backend="trio"))\n',
        textwrap.dedent(
            """\
            def bruise(apples: int) -> int:
                raise ValueError(f"{apples} bruised apples")

            @cf.workflow
            def refuse(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
                builder.chain(scope.start).then(bruise).connect(scope.terminate)

            for backend in ("asyncio", "trio"):
                try:
                    refuse.run_sync(2, backend=backend)
                except cf.WorkflowCancelled as cancelled:
                    cause = cancelled.cancellation.cause
                    print(backend, type(cause).__name__, repr(cancelled.__cause__))
            """
        ),
        "refuse.run_sync(5)",
        (ROOT / "examples" / "quickstart.py").read_text(encoding="utf-8"),
        "print(await pie.run(1))",
        "import anyio\nawait anyio.sleep(0)\nprint(pie.run_sync(2, backend='trio'))",
        textwrap.dedent(
            """\
            import contextvars
            import threading

            who = contextvars.ContextVar("who")
            who.set("the notebook")

            @cf.workflow
            def peek(scope: cf.Scope[int, str], builder: cf.Builder) -> None:
                builder.chain(scope.start).map(lambda _: who.get()).connect(scope.terminate)

            print(peek.run_sync(0), peek.run_sync(0, backend="trio"))
            print([t.name for t in threading.enumerate() if t.name.startswith("crossflow")])
            """
        ),
    ]
    notebook = execute_notebook(make_notebook(*cells), tmp_path, allow_errors=True)
    outputs = [cell.outputs for cell in notebook.cells]
    errors = [error(o) for o in outputs]
    assert [e and e[0] for e in errors] == [None, None, "WorkflowCancelled"] + [None] * 4
    assert stdout(outputs[0]) == f"{promised}\n{promised}\n"
    assert stdout(outputs[1]) == (
        "asyncio ServiceFailed ValueError('2 bruised apples')\n"
        "trio ServiceFailed ValueError('2 bruised apples')\n"
    )
    assert "5 bruised apples" in errors[2][1]  # type: ignore[index]
    assert stdout(outputs[3]) == f"{promised}\n"
    assert stdout(outputs[4]) == "An apple pie with 4 slices\n"
    assert stdout(outputs[5]) == "An apple pie with 8 slices\n"
    assert stdout(outputs[6]) == "the notebook the notebook\n[]\n"


# --------------------------------------------------------------------------- interrupts

STUCK = """\
import threading

import anyio

import crossflow as cf

log = []
release = threading.Event()


async def wait_for_ever(n: int) -> int:
    print("started", flush=True)
    await anyio.sleep_forever()
    return n


async def undo(keys: tuple[()]) -> None:
    print("cleaning up", flush=True)
    await anyio.sleep(0.2)  # a slow cleanup: run_sync returning early would miss it
    log.append("undone")


async def undo_when_released(keys: tuple[()]) -> None:
    print("cleaning up", flush=True)
    await anyio.to_thread.run_sync(release.wait)
    log.append("undone")


def stuck_with(cleanup_fn, name):
    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(wait_for_ever).connect(scope.terminate)

        def cleanup(scope: cf.Scope[tuple[()], None], builder: cf.Builder) -> None:
            builder.chain(scope.start).then(cleanup_fn).connect(scope.terminate)

        builder.on_cancel((), cleanup)

    return cf.workflow(name=name)(build)


stuck = stuck_with(undo, "stuck")


@cf.workflow
def quick(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda x: 2 * x).connect(scope.terminate)

stuck_until_released = stuck_with(undo_when_released, "stuck_until_released")


def workers():
    return [t for t in threading.enumerate() if t.name.startswith("crossflow")]
"""


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    """One kernel for the interrupt tests, with stuck workflows defined in it."""
    with Kernel(tmp_path_factory.mktemp("kernel")) as kernel:
        outputs = kernel.run(STUCK)
        assert error(outputs) is None, outputs
        yield kernel


@pytest.mark.slow
@pytest.mark.parametrize(
    ("backend", "awaits"),
    [
        pytest.param("asyncio", False, id="asyncio"),
        pytest.param("trio", False, id="trio"),
        pytest.param("asyncio", True, id="asyncio-in-a-cell-that-awaits"),
    ],
)
def test_an_interrupt_cancels_the_session_and_waits_for_its_cleanup(
    kernel: Kernel, backend: str, awaits: bool
) -> None:
    """Interrupting the kernel while `run_sync` waits cancels the session (its
    `on_cancel` cleanup runs, S6.2) and raises `KeyboardInterrupt` in the cell only once
    the cleanup has ended; no worker thread is left, and the next `run_sync` works. The
    same holds in a cell that also awaits, where the kernel's own interrupt handler
    would wait for the blocked event loop."""
    kernel.run("log.clear()")
    cell = textwrap.dedent(
        f"""\
        {"await anyio.sleep(0)" if awaits else ""}
        try:
            stuck.run_sync(1, backend={backend!r})
        finally:
            print("logged when run_sync ended:", log)
        """
    )
    outputs = kernel.run(cell, interrupt_on=["started"])
    assert error(outputs) == ("KeyboardInterrupt", "")
    assert stdout(outputs) == "started\ncleaning up\nlogged when run_sync ended: ['undone']\n"
    after = kernel.run(f"print(workers(), quick.run_sync(7, backend={backend!r}))")
    assert stdout(after) == "[] 14\n"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_second_interrupt_stops_waiting_for_the_cleanup(kernel: Kernel, backend: str) -> None:
    """A second interrupt during the cleanup stops the waiting: the cell raises
    `KeyboardInterrupt` saying that the cleanup goes on in the background, where it
    ends on its own and its worker thread with it."""
    kernel.run("log.clear(); release.clear()")
    outputs = kernel.run(
        f"stuck_until_released.run_sync(1, backend={backend!r})",
        interrupt_on=["started", "cleaning up"],
    )
    assert error(outputs) == (
        "KeyboardInterrupt",
        "stopped waiting for the cleanup of stuck_until_released.run_sync, "
        "which goes on in a background thread",
    )
    after = kernel.run(
        textwrap.dedent(
            """\
            left = workers()
            print([t.name for t in left], log)
            release.set()
            for t in left:
                t.join(60)
            print([t.is_alive() for t in left], log)
            """
        )
    )
    assert stdout(after) == ("['crossflow stuck_until_released.run_sync'] []\n[False] ['undone']\n")


# --------------------------------------------------------------------------- not a notebook


@cf.workflow
def double(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).map(lambda x: 2 * x).connect(scope.terminate)


@pytest.mark.anyio
async def test_run_sync_in_a_running_loop_with_ipython_imported() -> None:
    """With IPython imported but no kernel running the program, `run_sync` inside a
    running loop is still a `CrossflowError` that says to `await wf.run(...)` (API §2)."""
    import IPython

    assert IPython.get_ipython() is None
    with pytest.raises(cf.CrossflowError, match=r"use `await double\.run\(request\)` there"):
        double.run_sync(1)


@pytest.mark.slow
def test_run_sync_in_a_running_loop_under_a_terminal_ipython_shell(tmp_path: Path) -> None:
    """An IPython shell that is not a kernel's (the terminal's) does not make a running
    loop a notebook: `run_sync` from a coroutine stays an error, on both backends
    (API §2)."""
    script = textwrap.dedent(
        """\
        import anyio
        from IPython.core.interactiveshell import InteractiveShell

        import crossflow as cf

        @cf.workflow
        def double(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
            builder.chain(scope.start).map(lambda x: 2 * x).connect(scope.terminate)

        async def main() -> None:
            try:
                double.run_sync(1)
            except cf.CrossflowError as error:
                print(type(error).__name__, error)

        InteractiveShell.instance()
        print(double.run_sync(4))
        anyio.run(main, backend="asyncio")
        anyio.run(main, backend="trio")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={**os.environ, "IPYTHONDIR": str(tmp_path / "ipython")},
    )
    assert result.returncode == 0, result.stderr
    refusal = (
        "double.run_sync() was called inside a running {} event loop, where it cannot start "
        "another one; use `await double.run(request)` there"
    )
    assert result.stdout == (
        f"8\nCrossflowError {refusal.format('asyncio')}\nCrossflowError {refusal.format('trio')}\n"
    )


CTRL_C = """\
import signal
import sys

import anyio

import crossflow as cf

# Python's own handler, even if whoever started the tests had SIGINT ignored
signal.signal(signal.SIGINT, signal.default_int_handler)


async def wait_for_ever(n: int) -> int:
    print("started", flush=True)
    await anyio.sleep_forever()
    return n


async def undo(keys: tuple[()]) -> None:
    await anyio.sleep(0.2)  # a slow cleanup: run_sync returning early would miss it
    print("cleaned up", flush=True)


def cleanup(scope: cf.Scope[tuple[()], None], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(undo).connect(scope.terminate)


@cf.workflow
def stuck(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
    builder.chain(scope.start).then(wait_for_ever).connect(scope.terminate)
    builder.on_cancel((), cleanup)


try:
    stuck.run_sync(1, backend=sys.argv[1])
except KeyboardInterrupt:
    print("KeyboardInterrupt")
"""


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_ctrl_c_in_a_script_cancels_the_session_and_waits_for_its_cleanup(
    tmp_path: Path, backend: str
) -> None:
    """Outside a notebook too, Ctrl-C (SIGINT) while `run_sync` runs cancels the session,
    runs its `on_cancel` cleanup (S6.2) and then raises `KeyboardInterrupt`."""
    script = tmp_path / "ctrl_c.py"
    script.write_text(CTRL_C, encoding="utf-8")
    process = subprocess.Popen(
        [sys.executable, "-u", str(script), backend],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "started\n"
        process.send_signal(signal.SIGINT)
        rest = process.stdout.read()
        assert process.wait(timeout=60) == 0
    finally:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()
    assert rest == "cleaned up\nKeyboardInterrupt\n"


# --------------------------------------------------------------------------- the worker


def test_an_interrupt_before_the_run_begins_keeps_it_from_beginning() -> None:
    """When the wait is interrupted before the worker has begun the session (the thread
    just started), the session never begins: nothing is left to cancel or wait for."""
    began: list[int] = []

    async def run() -> int:
        began.append(1)
        await anyio.lowlevel.checkpoint()
        return 1

    worker: _Worker[int] = _Worker(run, "asyncio")
    assert worker.cancel() is False
    worker.thread_main()
    assert worker.done.is_set()
    assert (began, worker.result, worker.error) == ([], [], None)
