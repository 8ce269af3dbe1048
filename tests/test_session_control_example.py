"""examples/session_control.py prints exactly what the page "Cancelling a running
session" says, on both backends: session states, cancellation requests, child sessions,
uninterruptible scopes, cancellation policies, timers and the event log (API §3,
S6, S9)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import anyio
import pytest

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


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


async def _printed(
    name: str, capsys: pytest.CaptureFixture[str], function: str = "main"
) -> list[str]:
    """Run the example's `main()` (or another of its coroutine functions) in this event
    loop and return the lines it printed."""
    module = _load(name)
    capsys.readouterr()
    with anyio.fail_after(10):
        await getattr(module, function)()
    return capsys.readouterr().out.splitlines()


WATCH = [
    "RUNNING, cancel requested: False",
    "brewing sencha",
    "CANCELLING, cancel requested: True",
    "brewing sencha was cancelled",
    "emptied the pot of sencha",
    "cancelled: cancelled from outside: the guests left",
    "CANCELLED",
    "  teatime: SessionStarted",
    "  teatime: OperationStarted (brew)",
    "  teatime: CancellationRequested (cancelled from outside: the guests left)",
    "  teatime: CleanupStarted",
    "  teatime: TaskCancelled (brew)",
    "  teatime: CleanupFinished",
    "  teatime: Cancelled (cancelled from outside: the guests left)",
]

FAILED_CLEANUP = [
    "brewing lapsang",
    "brewing lapsang was cancelled",
    "cancelled: cancelled from outside: the guests left",
    "while cancelling: brew raised ConnectionError: the sink is blocked",
    "  teatime: CleanupFailed (brew raised ConnectionError: the sink is blocked)",
]

NESTED = [
    "brewing assam",
    "brewing assam was cancelled",
    "emptied the pot of assam",
    "  party: CancellationRequested (cancelled from outside: the party is over)",
    "  party: CleanupStarted",
    "  party: ChildCancellationRequested (party/teatime[0])",
    "  party/teatime[0]: CancellationRequested"
    " (interrupted because its parent session of 'party' is ending)",
    "  party/teatime[0]: CleanupStarted",
    "  party/teatime[0]: TaskCancelled (brew)",
    "  party/teatime[0]: CleanupFinished",
    "  party/teatime[0]: Cancelled (interrupted because its parent session of 'party' is ending)",
    "  party: CleanupFinished",
    "  party: Cancelled (cancelled from outside: the party is over)",
]

UNINTERRUPTIBLE = [
    "steeping sencha",
    "RUNNING, cancel requested: True",
    "steeped sencha",
    "a cup of sencha",
    "steeping sencha",
    "steeped sencha",
    "  guest: CancellationRequested (cancelled from outside: the guest left)",
    "  guest: ChildCancellationRequested (guest/cup[0])",
    "  guest/cup[0]: CancellationRequested"
    " (interrupted because its parent session of 'guest' is ending; the session runs on)",
    "  guest: ChildCancellationFailed (guest/cup[0]: it is uninterruptible)",
    "  guest/cup[0]: Terminated",
    "  guest: Cancelled (cancelled from outside: the guest left)",
    "steeping pu-erh",
    "  guest: CancellationRequested (cancelled from outside: the guest left)",
    "  guest: ChildCancellationRequested (guest/cup[0])",
    "  guest/cup[0]: CancellationRequested"
    " (interrupted because its parent session of 'guest' is ending; the session runs on)",
    "  guest: ChildCancellationFailed (guest/cup[0]: it is uninterruptible)",
    "  guest/cup[0]: Cancelled ('cup' timed out after 0.5 s)",
    "  guest: Cancelled (cancelled from outside: the guest left)",
]

POLICIES = [
    "WAIT: on the road",
    "WAIT: back at the depot",
    "WAIT: the session is CANCELLED",
    "WAIT: the block is left",
    "  courier: TaskCancelled (deliver)",
    "TRY_CANCEL: on the road",
    "TRY_CANCEL: the session is CANCELLED",
    "TRY_CANCEL: back at the depot",
    "TRY_CANCEL: the block is left",
    "  courier: TaskCancelled (deliver, not waited for)",
    "ABANDON: on the road",
    "ABANDON: the session is CANCELLED",
    "ABANDON: delivered, and nobody is waiting for it",
    "ABANDON: the block is left",
    "  courier: TaskAbandoned (deliver)",
]

TIMER = [
    "brewing oolong",
    "brewing oolong was cancelled",
    "emptied the pot of oolong",
    "  tea_in_time: TimerCancelled (delay#5)",
]


async def test_watching_a_cancelled_session(capsys: pytest.CaptureFixture[str]) -> None:
    """`session.cancel()` returns at once with `cancel_requested` True and the session
    CANCELLING; the running async service sees the backend's cancellation, cleans up
    shielded, re-raises; `result()` raises `WorkflowCancelled(UserCancelled)` once the
    session is CANCELLED; the log reads SessionStarted … Cancelled (API §3, S4.2, S6.1,
    S9.1, S9.2)."""
    assert await _printed("session_control", capsys, "watch_a_session") == WATCH


async def test_a_failure_during_cleanup_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    """A service that raises while it cleans up after the cancellation lands in
    `while_cancelling` and as a `CleanupFailed` event; `result()` works after the block
    (S4.3, S4.4, S9.2, API §3)."""
    assert await _printed("session_control", capsys, "fail_to_clean_up") == FAILED_CLEANUP


async def test_the_parent_waits_for_its_interrupted_child(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Cancelling the root asks its child session to cancel (`ChildCancellationRequested`,
    cause `Interrupted`) and ends only after the child's cleanup has ended (S6.1, S6.3,
    S9.2)."""
    assert await _printed("session_control", capsys, "interrupt_a_child") == NESTED


async def test_uninterruptible_sessions_run_on(capsys: pytest.CaptureFixture[str]) -> None:
    """An uninterruptible root stays RUNNING with `cancel_requested` True and answers; as
    a child it is `ChildCancellationFailed`, runs to its end and is waited for; its
    timeout still ends it when it would hang (S6.4, S6.5, S9.1, S9.2)."""
    assert await _printed("session_control", capsys, "run_on") == UNINTERRUPTIBLE


async def test_the_three_cancellation_policies(capsys: pytest.CaptureFixture[str]) -> None:
    """WAIT: the session ends after the task's cleanup; TRY_CANCEL: the task is cancelled
    and cleans up after the session ended; ABANDON: the task is not cancelled and runs to
    its end. In every case the `async with` block waits for it (S6.6, S9.2)."""
    assert await _printed("session_control", capsys, "compare_policies") == POLICIES


async def test_a_pending_timer_is_cancelled(capsys: pytest.CaptureFixture[str]) -> None:
    """Cleanup cancels a pending `delay` and records `TimerCancelled` (S6.1, S9.2)."""
    assert await _printed("session_control", capsys, "cancel_a_timer") == TIMER


async def test_main_prints_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    """`main()` runs the sections in order and prints exactly their lines (API §3, S6,
    S9)."""
    assert await _printed("session_control", capsys) == [
        *WATCH,
        *FAILED_CLEANUP,
        *NESTED,
        *UNINTERRUPTIBLE,
        *POLICIES,
        *TIMER,
    ]
