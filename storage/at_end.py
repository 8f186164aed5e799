"""Writes an event hands over to its end, to go with its last statement.

A write whose result the rest of the event does not need — a state machine's compare-and-set on a row the
handler has in hand, a confirmation asked of someone — costs PostgreSQL a round trip of its own when it is
sent at once. Queued here instead, it becomes a ``WITH`` clause of the statement that writes the event's
outbox rows (``storage.event_end``); SQLite runs it as a statement of its own at the same point, so both
databases see the same order of writes.

The rule for a caller: nothing read later in the same event may depend on the queued write (the row in hand
is updated by the caller; a query would still see the old row). A queued write that must change a row names
``on_stale``: when it changes none (another event changed the row first), ``on_stale`` is awaited inside the
event's transaction and raises the user's error, which rolls the whole event back like any other.

Outside an event (``scope`` not open: scripts, the scheduler's own maintenance) nothing is queued: callers
run their statement at once (``storage.sql.run_at_end``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

Stale = Callable[[], Awaitable[None]]


@dataclass(slots=True, frozen=True)
class AtEnd:
    """One queued write: ``text`` with ``?`` placeholders (``storage.sql``) and its ``params``. ``row`` names
    the row it changes (table, id) when there is one; ``on_stale``, when given, is awaited if it changes no row."""

    text: str
    params: list[Any]
    row: tuple[str, Any] | None = None
    on_stale: Stale | None = None


_queue: ContextVar[list[AtEnd] | None] = ContextVar("collabbot_at_end", default=None)


@contextmanager
def scope() -> Iterator[None]:
    """Queue the writes of one event (the engine opens it inside the event's transaction)."""
    token = _queue.set([])
    try:
        yield
    finally:
        _queue.reset(token)


def pending() -> list[AtEnd] | None:
    """The open event's queue, or None outside an event."""
    return _queue.get()


def take() -> list[AtEnd]:
    """The queued writes, in the order queued, and an empty queue."""
    queued = _queue.get()
    if not queued:
        return []
    taken = list(queued)
    queued.clear()
    return taken
