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

The clauses of one statement run in no set order, so inserts queued one after the other into the same table
(the departments a request asks, the heads asked to confirm) are one multi-row insert: their rows get ascending
ids in the order queued, as the separate statements on SQLite give them.

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
    """One queued write: ``text`` with ``?`` placeholders (``storage.sql``) and its ``params``. ``rows`` names
    the rows it writes (table, key) where they are known; ``on_stale``, when given, is awaited if it changes no
    row."""

    text: str
    params: list[Any]
    rows: tuple[tuple[str, Any], ...] = ()
    on_stale: Stale | None = None

    def joined(self, later: AtEnd) -> AtEnd | None:
        """This insert and ``later``'s rows as one multi-row insert, when ``later`` inserts into the same columns
        the same way (``INSERT … VALUES (…)`` and the same text after it); else None."""
        head, values, tail = _values_of(self.text)
        if self.on_stale or later.on_stale or not values:
            return None
        later_head, later_values, later_tail = _values_of(later.text)
        if (later_head, later_tail) != (head, tail):  # another table, other columns, or another conflict clause
            return None
        return AtEnd(f"{head}{values}, {later_values}{tail}", [*self.params, *later.params], self.rows + later.rows)


def _values_of(text: str) -> tuple[str, str, str]:
    """An ``INSERT``'s text before its ``VALUES`` rows, the rows, and the text after them; ``(text, "", "")`` for
    another statement. The rows hold placeholders only (``(?, ?), (?, ?)``), as ``storage.sql`` writes them."""
    start = text.find(" VALUES (")
    if not text.startswith("INSERT INTO ") or start < 0:
        return text, "", ""
    start += len(" VALUES ")
    end = start
    while text.startswith("(", end):
        end = text.index(")", end) + 1
        if text.startswith(", (", end):
            end += 2
    return text[:start], text[start:end], text[end:]


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
