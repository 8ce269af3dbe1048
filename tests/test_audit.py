"""The bookkeeping audit (a debug switch of the engine): with it on, a count the engine
keeps wrong is a `BookkeepingError` at the step that made it, naming the session and
the operation, instead of a hang or a premature cancellation much later.

These tests break the engine on purpose, so they reach into `crossflow._runtime`."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import anyio
import pytest

import crossflow as cf
from crossflow._runtime import _audit
from crossflow._runtime._driver import new_engine
from crossflow._runtime._engine import Engine

pytestmark = pytest.mark.anyio


async def double(x: int) -> int:
    await anyio.lowlevel.checkpoint()
    return 2 * x


def pipeline() -> cf.Workflow[int, int]:
    def build(s: cf.Scope[int, int], b: cf.Builder) -> None:
        chain = b.chain(s.start).map(lambda x: x + 1, name="inc")
        chain.then(double, name="double").then(double, name="again").connect(s.terminate)

    return cf.Workflow.build(build, name="pipeline")


@pytest.fixture
def faulty_counts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Make the engine forget to take back the first unit of activity of 'double': a
    defect of the kind the audit is for. Returns the operations it broke."""
    broken: list[str] = []
    original = Engine.dec

    def dec(engine: Engine, session: Any, op: int) -> None:
        if session.plan.names[op] == "double" and not broken:
            broken.append("double")
            return
        original(engine, session, op)

    monkeypatch.setattr(Engine, "dec", dec)
    return broken


def test_off_by_default() -> None:
    """Runs are not audited unless asked: a plain engine, no check after each step."""
    with _audit.auditing(False):
        engine = new_engine()
        assert type(engine) is Engine and engine.audit is None
    with _audit.auditing():
        engine = new_engine()
        assert isinstance(engine, _audit.AuditedEngine) and engine.audit is not None


def test_the_environment_switches_it_on() -> None:
    """`CROSSFLOW_AUDIT=1` audits every run of the process."""
    code = "from crossflow._runtime import _audit; print(_audit.enabled())"
    for value, expected in (("1", "True"), ("0", "False"), ("", "False")):
        env = {**os.environ, "CROSSFLOW_AUDIT": value}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == expected, (value, out)


async def test_correct_runs_pass_the_audit() -> None:
    """A run whose counts are right is unaffected by the audit."""
    with _audit.auditing():
        assert await pipeline().run(1) == 8
        async with pipeline().start(2) as session:
            assert await session.result() == 12


async def test_a_missed_decrement_is_caught_where_it_happens(faulty_counts: list[str]) -> None:
    """The step that forgot a `dec` fails with BookkeepingError, naming the operation, the
    session, the count kept and the count found."""
    with _audit.auditing(), anyio.fail_after(10), pytest.raises(_audit.BookkeepingError) as caught:
        await pipeline().run(1)
    assert faulty_counts == ["double"]
    message = str(caught.value)
    assert "activity of 'double'" in message and "'pipeline'" in message, message
    assert "the engine counts 1, the recount finds 0" in message, message
    assert isinstance(caught.value, cf.CrossflowError)


async def test_without_the_audit_the_same_defect_goes_unnoticed(faulty_counts: list[str]) -> None:
    """What the audit is for: the leaked unit keeps 'double' looking busy, and the run that
    has already terminated cannot tell (the defect would surface as a hang or a lost
    cancellation in a workflow that needs reachability)."""
    with _audit.auditing(False), anyio.fail_after(10):
        assert await pipeline().run(1) == 8
    assert faulty_counts == ["double"]


async def test_an_activation_that_ends_twice_is_caught() -> None:
    """The ledger of running activations: an activation reported ended when none of
    its operation is running is a BookkeepingError naming the operation."""
    seen: list[_audit.BookkeepingError] = []
    original = _audit.AuditedEngine.activation_ended

    def twice(self: _audit.AuditedEngine, s: Any, op: int, ok: bool, result: Any) -> None:
        original(self, s, op, ok, result)
        try:
            self.drop_activation(s, op, result)  # the same activation, ended again
        except _audit.BookkeepingError as error:
            seen.append(error)

    with _audit.auditing(), pytest.MonkeyPatch.context() as mp:
        mp.setattr(_audit.AuditedEngine, "activation_ended", twice)
        assert await pipeline().run(1) == 8
    assert len(seen) == 2, seen  # once per service of the pipeline
    assert "an activation of 'double'" in str(seen[0]), seen
    assert "an activation of 'again'" in str(seen[1]), seen
    assert all("was dropped, but none was running" in str(e) for e in seen), seen
