"""Every runnable script in examples/ runs to completion and prints something; the
examples of buffers and cleanup print exactly what their how-to pages say, on both
backends."""

from __future__ import annotations

import ast
import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import anyio
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"

# Top-level statements that only define things; a file made of nothing else is a
# helper module for other examples, not a script.
_DEFINITIONS = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
    ast.AnnAssign,
    ast.Pass,
)


def _is_main_guard(node: ast.stmt) -> bool:
    if not isinstance(node, ast.If):
        return False
    test = node.test
    return (
        isinstance(test, ast.Compare)
        and isinstance(test.left, ast.Name)
        and test.left.id == "__name__"
        and any(isinstance(c, ast.Constant) and c.value == "__main__" for c in test.comparators)
    )


def _is_runnable(path: Path) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for index, node in enumerate(tree.body):
        if _is_main_guard(node):
            return True
        is_docstring = (
            index == 0
            and isinstance(node, ast.Expr)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        )
        if not is_docstring and not isinstance(node, _DEFINITIONS):
            return True
    return False


SCRIPTS = sorted(p for p in EXAMPLES.rglob("*.py") if _is_runnable(p))


def test_there_are_examples() -> None:
    """The examples directory holds at least one runnable script."""
    assert SCRIPTS, f"no runnable example found under {EXAMPLES}"


@pytest.mark.parametrize(
    "script", SCRIPTS, ids=[p.relative_to(EXAMPLES).as_posix() for p in SCRIPTS]
)
def test_example_runs(script: Path) -> None:
    """The script exits with status 0 within 60 s and prints its result."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, (
        f"{script.name} exited with {result.returncode}:\n{result.stderr}"
    )
    assert result.stdout.strip(), f"{script.name} printed nothing"


def _load(name: str) -> ModuleType:
    """Import examples/<name>.py afresh (its `__main__` block does not run), so every
    test gets its own workflows and delivery queues."""
    spec = importlib.util.spec_from_file_location(
        f"crossflow_example_{name}", EXAMPLES / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while defined
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


async def _printed(name: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    """Run the example's `main()` in this event loop and return the lines it printed."""
    module = _load(name)
    capsys.readouterr()
    with anyio.fail_after(10):
        await module.main()
    return capsys.readouterr().out.splitlines()


@pytest.mark.anyio
async def test_buffers_example_output(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/buffers.py: a keyed join into a dataclass with a buffer joined by cloning
    (S7.2, JO-5, JO-6), a counter held in a buffer through `with_access` keys (S7.1), and a
    listener behind a closed gate woken once when it opens (S7.3, S7.4, GA-1); with one
    bid the listener never sells and the session ends `Unreachable` (S2.4); a trim stops
    the slower download before the first file goes on (S3, TR-1)."""
    assert await _printed("buffers", capsys) == [
        "['tea 4.40', 'mug 13.20', 'teapot 33.00']",
        "['#1 ada', '#2 grace', '#3 alan']",
        "50",
        "no sale after ClosedGate, Filtered",
        "stopped the download from far",
        "verifying file from near",
        "verified file from near",
    ]


@pytest.mark.anyio
async def test_cleanup_example_cleanup_workflows_and_uninterruptible_scope(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """examples/cleanup.py, first half: `on_terminate`/`on_cancel`/`on_cleanup` run before
    the outcome is delivered (S6.1-S6.3, CL-2); a failing `on_cancel` workflow lands in
    `while_cancelling` (S4.4, CL-4); an uninterruptible child finishes its step and its
    `on_terminate` while the caller cancels the root, whose `on_cancel` runs after it
    (S6.4, CL-9, CL-10)."""
    lines = await _printed("cleanup", capsys)
    assert lines[:2] == ["reserved tea", "reserved mug"]
    # the two cleanup workflows run together: their order is not specified (S6.1)
    assert sorted(lines[2:4]) == ["checkout closed", "shipped tea, mug"]
    assert lines[4:7] == ["paid with card 4242", "reserved tea", "reserved teapot"]
    assert sorted(lines[7:9]) == ["checkout closed", "released tea"]
    assert lines[9:16] == [
        "cancelled: charge raised PermissionError: card declined",
        "while cancelling: release raised ConnectionError: the teapot shelf is offline",
        "capturing 46.00",
        "captured 46.00",
        "sent receipt for 46.00",
        "checkout of 46.00 interrupted",
        "customer gave up: True",
    ]


@pytest.mark.anyio
async def test_cleanup_example_serial_printer(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/cleanup.py, `print_labels`: a serial service runs one request at a time,
    in arrival order (S7.5, S8.4, DE-6)."""
    lines = await _printed("cleanup", capsys)
    assert lines[-5:] == [
        "printing order 1",
        "printed order 1",
        "printing order 2",
        "printed order 2",
        "['order 1', 'order 2']",
    ]


@pytest.mark.anyio
async def test_cleanup_example_latest_search_wins(capsys: pytest.CaptureFixture[str]) -> None:
    """examples/cleanup.py, `search_as_you_type`: each keystroke pre-empts the search of
    the same label that is running or queued, so only the last one answers (S7.5, DE-2)."""
    lines = await _printed("cleanup", capsys)
    assert lines[-6] == "[['crossflow', 'crow']]"


def test_inspect_graph_example_prints_what_the_reference_shows() -> None:
    """examples/inspect_graph.py (API §10): the operations of a graph and of its nested
    scope, with the ports that lead on, are exactly what the API reference prints."""
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "inspect_graph.py")],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    page = (ROOT / "docs" / "reference" / "api.md").read_text(encoding="utf-8")
    shown = page.split('--8<-- "examples/inspect_graph.py"', 1)[1]
    shown = shown.split("```text\n", 1)[1].split("```", 1)[0]
    assert result.stdout == shown
