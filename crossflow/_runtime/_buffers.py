"""The buffers family: buffers, joins, listeners, keys and gates (S7).

A buffer stores messages per session (`arrival`); a change wakes its readers, joins and
listeners, with a notification that is activity until handled (`_notify`, S2.1). Keys
(`make_keys`) let services change a buffer through a view; the changes are applied
when the view closes (`view_closed`). A join fires while every buffer holds an item
(`join_wake`, S7.2); gates stop a buffer from waking anyone (`gate`, S7.4).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._buffers import push_item
from .._causes import ClosedGate, Disposal
from .._keys import BufferKey
from .._state import SessionState
from ._forks import clone_or_error

if TYPE_CHECKING:
    from .._keys import BufferView
    from ._engine import Engine
    from ._plan import Handler, JoinPlan, KeysPlan, Plan
    from ._scope_session import ScopeSession

RUNNING = SessionState.RUNNING


def buffer_arrival(engine: Engine, session: ScopeSession, b: int, msg: Any) -> None:
    """A message reached buffer `b` through its input slot (S7.1)."""
    state = session.buffer(b)
    stored, _ = push_item(state.items, session.plan.buffer_settings[b], msg)
    if stored and state.is_open:
        engine._notify(session, b, -1)


def _notify(engine: Engine, session: ScopeSession, b: int, exclude: int) -> None:
    """Wake the joins and listeners of buffer `b`: a pending notification is
    activity (S2.1); `exclude` is a listener whose own key made the change (S7.3)."""
    for reader in session.plan.readers.get(b, ()):
        if reader != exclude:
            engine.send(session, reader, None)


def make_keys(engine: Engine, session: ScopeSession, what: KeysPlan, issuer: int) -> Any:
    """Keys to the buffers of `what`, in the shape they were given (one, tuple, dict);
    `issuer` is the listener or access operation that hands them out (-1: cleanup)."""
    plan = session.plan
    session.engine = engine
    keys: list[BufferKey[Any]] = []
    for b in what.buffers:
        session.buffer(b)  # issuing keys creates the session's storage
        keys.append(BufferKey(session, b, plan.names[b], issuer))
    shape = what.shape
    if shape == "one":
        return keys[0]
    if shape == "tuple":
        return tuple(keys)
    return dict(zip(what.keys, keys, strict=True))


def view_closed(
    engine: Engine, session: ScopeSession, key: BufferKey[Any], view: BufferView[Any]
) -> None:
    """A `with key.access()` block ended: one notification per change (S7.3)."""
    if session.state is not RUNNING:
        return  # a session that is cleaning up wakes nothing
    b = key._op
    if view._closed:
        name = session.plan.names[b]
        disposal = Disposal(name, ClosedGate(name))
        if engine.flushing:
            # inside a blocking operation, whose events are recorded when it returns:
            # the disposal it caused follows them, so the log stays in order (S9.2)
            engine.queue_next(lambda: engine.record_disposal(session, disposal))
        else:
            engine.record_disposal(session, disposal)
    state = session.buffer(b)
    if view._opened or (view._modified and state.is_open):
        engine._notify(session, b, -1 if key._loops else key._issuer)
    engine.flush()


def join_wake(engine: Engine, session: ScopeSession, op: int, msg: Any) -> None:
    """A buffer of join `op` changed: fire while every buffer holds an item (S7.2)."""
    plan = session.plan
    join = plan.joins[op]
    bufs = join.buffers
    clones = join.clones
    states = [session.buffer(b) for b in bufs]
    target = plan.targets[op][0]
    all_cloned = all(clones)
    pulled = False
    while all(state.items for state in states):
        values = []
        for b, state, clone in zip(bufs, states, clones, strict=True):
            if clone:
                copied, error = clone_or_error(
                    state.items[0],
                    session.plan.names[op],
                    f"buffer {session.plan.names[b]!r}, joined by cloning",
                    "join that buffer without cloning (its oldest item is then taken)",
                )
                if error is not None:
                    engine.fail(session, op, error)
                    return
                values.append(copied)
            else:
                values.append(state.items.popleft())
                pulled = True
        try:
            joined = _shape_joined(join, values)
        except BaseException as error:
            engine.fail(session, op, error)
            return
        if target >= 0:
            engine.send(session, target, joined)
        if all_cloned:
            break  # a join of clones only would never run dry: once per wake
    if pulled:
        # a join's pull is a change the buffer's other readers see (S7.3)
        for b, clone in zip(bufs, clones, strict=True):
            if not clone:
                engine._notify(session, b, op)


def gate(engine: Engine, session: ScopeSession, op: int, bufs: tuple[int, ...], open: bool) -> None:
    """Open or close the gates of `bufs` (S7.3, S7.4)."""
    closed = False
    for b in bufs:
        state = session.buffer(b)
        if open and not state.is_open:
            state.is_open = True
            engine._notify(session, b, -1)  # opening wakes, even without new data
        elif not open and state.is_open:
            state.is_open = False
            closed = True
    if closed:
        engine.dispose(session, op, ClosedGate(session.plan.names[op]))


# ------------------------------------------------------------------ trims


def _shape_joined(join: JoinPlan, values: list[Any]) -> Any:
    shape = join.shape
    if shape == "one":
        return values[0]
    if shape == "tuple":
        return tuple(values)
    joined = dict(zip(join.keys, values, strict=True))
    into = join.into
    return joined if into is None else into(**joined)


# --------------------------------------------------------------------------- handlers


def handler(plan: Plan, index: int) -> Handler:
    """The handler of a buffer, push, join, listen, access or gate operation."""
    kind = plan.kinds[index]
    targets = plan.targets[index]
    target = targets[0] if targets else -1

    if kind == "buffer":

        def buffer(engine: Engine, s: ScopeSession, msg: Any) -> None:
            engine.buffer_arrival(s, index, msg)

        return buffer

    if kind == "push":
        pushed_into = plan.push[index]

        def push(engine: Engine, s: ScopeSession, msg: Any) -> None:
            engine.buffer_arrival(s, pushed_into, msg)
            if target >= 0:
                engine.send(s, target, None)

        return push

    if kind == "join":

        def join(engine: Engine, s: ScopeSession, msg: Any) -> None:
            engine.join_wake(s, index, msg)

        return join

    if kind in ("listen", "access"):
        what = plan.access[index]
        with_msg = what.with_message

        def access(engine: Engine, s: ScopeSession, msg: Any) -> None:
            keys = engine.make_keys(s, what, index)
            if target >= 0:
                engine.send(s, target, (msg, keys) if with_msg else keys)

        return access

    assert kind == "gate", kind
    gate_bufs, opens = plan.gates[index]

    def gate(engine: Engine, s: ScopeSession, msg: Any) -> None:
        engine.gate(s, index, gate_bufs, opens)
        if target >= 0:
            engine.send(s, target, msg)

    return gate
