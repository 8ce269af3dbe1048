"""Stream messages sent from worker threads (S10.3, S8.2).

A blocking service with streams that runs in a thread sends its messages through the
run's entry queue: they arrive in the order sent, and all of them before the
activation's output. Processes and Dask have no way to send them: such services are
refused when the workflow is built.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import crossflow as cf

pytestmark = pytest.mark.anyio

TIMEOUT = 10


def streaming_workflow(
    counts: list[int], executor: cf.Executor
) -> tuple[cf.Workflow[list[int], list[Any]], list[tuple[int, int]], list[tuple[int, int]]]:
    """spread -> a threaded service that streams `n` numbered messages and returns how
    many it sent; every message is recorded as it arrives, and so is the number of
    messages of that call that had arrived when its output did."""
    arrived: list[tuple[int, int]] = []  # (call, message number)
    at_output: list[tuple[int, int]] = []  # (call, messages of that call arrived by then)

    @cf.service(streams={"item": tuple})
    def produce(call: int, streams: cf.Streams) -> int:
        for i in range(counts[call]):
            streams.item.send((call, i))
        return call

    def receive(item: tuple[int, int]) -> None:
        arrived.append(item)

    def output(call: int) -> int:
        at_output.append((call, sum(1 for c, _ in arrived if c == call)))
        return call

    @cf.workflow(name="streams")
    def wf(scope: cf.Scope[list[int], list[Any]], builder: cf.Builder) -> None:
        node = builder.chain(scope.start).spread().then_node(produce, executor=executor)
        builder.chain(node.streams.item).then(receive).dispose()
        builder.chain(node.output).then(output).collect().connect(scope.terminate)

    return wf, arrived, at_output


async def test_many_messages_from_a_thread_arrive_in_order_before_the_output() -> None:
    """S10.3, S8.2: 2,000 messages sent from a worker thread arrive in the order sent, all
    of them before the call's output."""
    wf, arrived, at_output = streaming_workflow([2000], cf.ThreadExecutor())
    with anyio.fail_after(TIMEOUT):
        assert await wf.run([0]) == [0]
    assert arrived == [(0, i) for i in range(2000)]
    assert at_output == [(0, 2000)]


async def test_concurrent_threads_each_keep_their_order() -> None:
    """S10.3: several calls streaming from threads at once: each call's messages arrive in
    its order, and each call's output after all of its messages."""
    counts = [300, 1, 0, 500, 120]
    wf, arrived, at_output = streaming_workflow(counts, cf.ThreadExecutor(limit=3))
    with anyio.fail_after(TIMEOUT):
        result = await wf.run(list(range(len(counts))))
    assert sorted(result) == list(range(len(counts)))
    for call, n in enumerate(counts):
        assert [i for c, i in arrived if c == call] == list(range(n))
    assert sorted(at_output) == list(enumerate(counts))


@settings(max_examples=20)
@given(counts=st.lists(st.integers(0, 200), min_size=1, max_size=6))
def test_stream_order_holds_for_any_mix_of_calls(counts: list[int]) -> None:
    """S10.3, S8.2 (property): for any number of threaded calls, each sending any number of
    messages, every message arrives once, in its call's order, before its call's output;
    on asyncio and on trio."""
    for backend in ("asyncio", "trio"):
        wf, arrived, at_output = streaming_workflow(counts, cf.ThreadExecutor())

        async def main(wf: cf.Workflow[list[int], list[Any]] = wf) -> list[Any]:
            with anyio.fail_after(TIMEOUT):
                return await wf.run(list(range(len(counts))))

        assert sorted(anyio.run(main, backend=backend)) == list(range(len(counts)))
        assert len(arrived) == sum(counts)
        for call, n in enumerate(counts):
            assert [i for c, i in arrived if c == call] == list(range(n))
        assert sorted(at_output) == list(enumerate(counts))


def test_a_process_executor_refuses_a_service_with_streams() -> None:
    """S10.3: a service with streams cannot run in a process: a BuildError says so, where
    the service is made and where the node is."""

    def produce(x: int, streams: cf.Streams) -> int:
        return x

    with pytest.raises(cf.BuildError, match=r"declares streams \(item\).*cannot run"):
        cf.service(streams={"item": int}, executor=cf.ProcessExecutor())(produce)
    svc = cf.service(streams={"item": int})(produce)

    def build(scope: cf.Scope[int, int], builder: cf.Builder) -> None:
        builder.chain(scope.start).then(svc, executor=cf.ProcessExecutor()).connect(scope.terminate)

    with pytest.raises(cf.BuildError, match="ThreadExecutor"):
        cf.workflow(build)
