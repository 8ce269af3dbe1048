"""Cancel a running session and watch it clean up: its state, its children, its tasks."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

import anyio

import crossflow as cf
from crossflow import events as ev


# --8<-- [start:show]
def show(events: Iterable[cf.Event], *kinds: type[cf.Event]) -> None:
    """Print the events of these kinds (every event when none is given): the session
    each happened in, its kind, and what it is about."""
    for event in events:
        if kinds and not isinstance(event, kinds):
            continue
        match event:
            case ev.ChildCancellationRequested(child=child, waited=False):
                detail = f"{'/'.join(child)}, not waited for"
            case ev.ChildCancellationRequested(child=child) | ev.ChildAbandoned(child=child):
                detail = "/".join(child)
            case ev.ChildCancellationFailed(child=child, reason=reason):
                detail = f"{'/'.join(child)}: {reason}"
            case ev.TaskCancelled(operation=operation, waited=False):
                detail = f"{operation}, not waited for"
            case (
                ev.OperationStarted(operation=operation)
                | ev.OperationFinished(operation=operation)
                | ev.TaskCancelled(operation=operation)
                | ev.TaskAbandoned(operation=operation)
                | ev.TimerCancelled(operation=operation)
            ):
                detail = operation
            case ev.CancellationRequested(cause=cause, honoured=honoured):
                detail = f"{cause}" if honoured else f"{cause}; the session runs on"
            case ev.CleanupStarted(cancellation=None):
                detail = "after terminate"
            case (
                ev.Cancelled(cancellation=cancellation)
                | ev.CleanupFailed(cancellation=cancellation)
            ):
                detail = str(cancellation.cause)
            case _:
                detail = ""
        where = "/".join(event.path)
        print(f"  {where}: {type(event).__name__}" + (f" ({detail})" if detail else ""))


async def first_step(session: cf.Session[str]) -> None:
    """Wait until the session reports its first step on its `progress` stream."""
    async for step in session.streams.progress:
        print(step)
        return


# --8<-- [end:show]
# --8<-- [start:brew]
async def empty_the_pot(tea: str) -> None:
    await anyio.sleep(0.01)  # slow, but it ends
    if tea == "lapsang":
        raise ConnectionError("the sink is blocked")
    print(f"emptied the pot of {tea}")


@cf.service(streams={"progress": str})
async def brew(tea: str, *, streams: cf.Streams) -> str:
    streams.progress.send(f"brewing {tea}")
    try:
        await anyio.sleep(60)  # a cancellation arrives at an await like this one
    except anyio.get_cancelled_exc_class():
        print(f"brewing {tea} was cancelled")
        # shielded: nothing can cut the cleanup short; bounded: it gives up after 1 s
        with anyio.move_on_after(1, shield=True):
            await empty_the_pot(tea)
        raise  # let the cancellation go on: never swallow it
    return f"a pot of {tea}"


@cf.workflow(streams={"progress": str})
def teatime(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
    pot = builder.create_node(brew)
    builder.connect(scope.start, pot.input)
    builder.connect(pot.streams.progress, scope.streams.progress)
    builder.connect(pot.output, scope.terminate)


# --8<-- [end:brew]
# --8<-- [start:watch]
async def watch_a_session() -> None:
    async with teatime.start("sencha") as session:
        print(f"{session.state.name}, cancel requested: {session.cancel_requested}")
        await first_step(session)
        session.cancel("the guests left")  # returns at once
        print(f"{session.state.name}, cancel requested: {session.cancel_requested}")
        try:
            await session.result()  # waits until the cleanup has ended
        except cf.WorkflowCancelled as err:
            print(f"cancelled: {err.cancellation.cause}")
        print(session.state.name)
    show(session.events)


# --8<-- [end:watch]
# --8<-- [start:failed_cleanup]
async def fail_to_clean_up() -> None:
    async with teatime.start("lapsang") as session:
        await first_step(session)
        session.cancel("the guests left")
    try:
        await session.result()  # after the block, too
    except cf.WorkflowCancelled as err:
        print(f"cancelled: {err.cancellation.cause}")
        for failure in err.cancellation.while_cancelling:
            print(f"while cancelling: {failure.cause}")
    show(session.events, ev.CleanupFailed)


# --8<-- [end:failed_cleanup]
# --8<-- [start:nested]
@cf.workflow(streams={"progress": str})
def party(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
    kettle = builder.create_node(teatime)  # a workflow used as a node: a nested scope
    builder.connect(scope.start, kettle.input)
    builder.connect(kettle.streams.progress, scope.streams.progress)
    builder.connect(kettle.output, scope.terminate)


async def interrupt_a_child() -> None:
    async with party.start("assam") as session:
        await first_step(session)
        session.cancel("the party is over")
    show(
        session.events,
        ev.CancellationRequested,
        ev.CleanupStarted,
        ev.ChildCancellationRequested,
        ev.TaskCancelled,
        ev.CleanupFinished,
        ev.Cancelled,
    )


# --8<-- [end:nested]
# --8<-- [start:uninterruptible]
@cf.service(streams={"progress": str})
async def steep(tea: str, *, streams: cf.Streams) -> str:
    streams.progress.send(f"steeping {tea}")
    if tea == "pu-erh":
        await anyio.sleep_forever()  # it would never be ready
    await anyio.sleep(0.01)
    print(f"steeped {tea}")
    return f"a cup of {tea}"


@cf.workflow(
    streams={"progress": str},
    # it cannot be cut short from outside, and it cannot hang for ever either
    settings=cf.ScopeSettings(uninterruptible=True, timeout=0.5),
)
def cup(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
    tea = builder.create_node(steep)
    builder.connect(scope.start, tea.input)
    builder.connect(tea.streams.progress, scope.streams.progress)
    builder.connect(tea.output, scope.terminate)


@cf.workflow(streams={"progress": str})
def guest(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
    served = builder.create_node(cup)
    builder.connect(scope.start, served.input)
    builder.connect(served.streams.progress, scope.streams.progress)
    builder.connect(served.output, scope.terminate)


async def run_on() -> None:
    async with cup.start("sencha") as session:
        await first_step(session)
        session.cancel("no time for tea")  # recorded, and otherwise ignored
        print(f"{session.state.name}, cancel requested: {session.cancel_requested}")
        print(await session.result())

    for tea in ["sencha", "pu-erh"]:
        async with guest.start(tea) as session:
            await first_step(session)
            session.cancel("the guest left")
        show(
            session.events,
            ev.ChildCancellationRequested,
            ev.CancellationRequested,
            ev.ChildCancellationFailed,
            ev.Terminated,
            ev.Cancelled,
        )


# --8<-- [end:uninterruptible]
# --8<-- [start:policies]
@cf.service(streams={"progress": str})
async def deliver(parcel: str, *, streams: cf.Streams) -> str:
    streams.progress.send(f"{parcel}: on the road")
    try:
        await anyio.sleep(0.1)
    except anyio.get_cancelled_exc_class():
        with anyio.move_on_after(1, shield=True):
            await anyio.sleep(0.01)  # drive back to the depot
            print(f"{parcel}: back at the depot")
        raise
    print(f"{parcel}: delivered, and nobody is waiting for it")
    return parcel


def courier(policy: cf.CancellationPolicy) -> cf.Workflow[str, str]:
    """A workflow that delivers one parcel, with `policy` for the delivery node."""

    def build(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
        van = builder.create_node(deliver, cancellation=policy)
        builder.connect(scope.start, van.input)
        builder.connect(van.streams.progress, scope.streams.progress)
        builder.connect(van.output, scope.terminate)

    return cf.Workflow.build(build, name="courier", streams={"progress": str})


async def compare_policies() -> None:
    for policy in cf.CancellationPolicy:
        async with courier(policy).start(policy.name) as session:
            await first_step(session)
            session.cancel()
            with contextlib.suppress(cf.WorkflowCancelled):
                await session.result()
            print(f"{policy.name}: the session is {session.state.name}")
        print(f"{policy.name}: the block is left")
        show(session.events, ev.TaskCancelled, ev.TaskAbandoned)


# --8<-- [end:policies]
# --8<-- [start:timer]
@cf.workflow(streams={"progress": str})
def tea_in_time(scope: cf.Scope[str, str], builder: cf.Builder) -> None:
    """A pot of tea, or an apology after three minutes: whichever comes first."""
    pot = builder.create_node(brew)
    builder.connect(pot.streams.progress, scope.streams.progress)
    builder.connect(pot.output, scope.terminate)
    builder.chain(scope.start).fork_clone(
        lambda tea: tea.connect(pot.input),
        lambda tea: tea.delay(180).map(lambda t: f"sorry, no {t}").connect(scope.terminate),
    )


async def cancel_a_timer() -> None:
    async with tea_in_time.start("oolong") as session:
        await first_step(session)
        session.cancel()
    show(session.events, ev.TimerCancelled)


# --8<-- [end:timer]
async def main() -> None:
    await watch_a_session()
    await fail_to_clean_up()
    await interrupt_a_child()
    await run_on()
    await compare_policies()
    await cancel_a_timer()


if __name__ == "__main__":
    anyio.run(main)
