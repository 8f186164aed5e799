"""Forgetting the bookkeeping rows nothing needs any more, a batch at a time.

Three tables grow with every event and message and would grow for ever:

- ``inbox``: one row per delivery id handled, kept so that a redelivery is recognised. Platforms redeliver
  within minutes or hours, never after days.
- ``outbox`` rows already ``sent``: a sent row's ``dedupe_key`` stops a second send of the same message, and
  its ``message_ref`` finds the one-off card behind a clicked Slack button (without it the click reaches the
  workflow as a plain click).
- ``timer`` rows that are done (``fired``, ``cancelled``, ``missed``): a done row stops the materializer
  writing the same occurrence again, which it does only up to its backfill (a week) back.

Each delete takes at most ``batch`` rows in one statement of its own, so no sweep holds a lock for long or
grows one transaction without bound, and other processes' events go on between batches. Nothing here
decides *when* to sweep or how long to keep: ``bot.housekeeping`` does.

``inbox`` and ``outbox`` have no index on their time columns (every event would pay for one); their ids grow
with their times, so a sweep walks the primary key from the oldest row and stops at the first row younger
than the cutoff. ``timer`` rows are found through its ``due_at`` index (a timer's key may be written again, so
its id says nothing of its age).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

from tortoise.models import Model

from storage import sql
from storage.models import InboxEntry, OutboxMessage, Timer

BATCH = 1000
DONE_TIMERS = ("fired", "cancelled", "missed")


@dataclass(frozen=True, slots=True)
class Walk:
    """A table swept along its primary key: rows created before the cutoff that ``gone`` allows to go."""

    model: type[Model]
    created: str  # the column that grows with the id: the walk stops at the first row not older than the cutoff
    gone: str  # the condition a row older than the cutoff must meet as well ("" for every row); each ``?`` the cutoff

    @property
    def table(self) -> str:
        return str(self.model._meta.db_table)


INBOX = Walk(InboxEntry, "received_at", "")
SENT_OUTBOX = Walk(OutboxMessage, "created_at", '"status" = \'sent\' AND "sent_at" < ?')


def _cutoff(model: type[Model], column: str, cutoff: datetime) -> object:
    """``cutoff`` as the column stores it (SQLite keeps datetimes as text)."""
    return sql.encoded(sql.encoders(model, (column,)), [cutoff])[0]


async def delete_walking(walk: Walk, cutoff: datetime, *, batch: int = BATCH) -> int:
    """Delete ``walk``'s rows created before ``cutoff`` (and allowed by its condition); returns how many."""
    table, created = walk.table, walk.created
    before = _cutoff(walk.model, created, cutoff)
    window = f'SELECT "id", "{created}" < ? AS "old" FROM "{table}" WHERE "id" > ? ORDER BY "id" LIMIT ?'
    condition = f' AND {walk.gone}' if walk.gone else ""
    delete = f'DELETE FROM "{table}" WHERE "id" >= ? AND "id" <= ? AND "{created}" < ?{condition}'
    deleted, after = 0, 0
    while True:
        rows = await sql.fetch(window, [before, after, batch])
        old = [row["id"] for row in rows if row["old"]]
        if old:
            deleted += await sql.execute(delete, [old[0], old[-1], before, *[before] * walk.gone.count("?")])
        if not rows or len(old) < len(rows):  # the first row within the cutoff: the rest are younger
            return deleted
        after = rows[-1]["id"]
        await asyncio.sleep(0)  # the loop's other work between batches


async def delete_done_timers(cutoff: datetime, *, batch: int = BATCH) -> int:
    """Delete timers that are done and were due before ``cutoff``; returns how many."""
    before = _cutoff(Timer, "due_at", cutoff)
    marks = ", ".join("?" * len(DONE_TIMERS))
    delete = (
        f'DELETE FROM "timer" WHERE "id" IN (SELECT "id" FROM "timer" WHERE "due_at" < ? AND "status" IN ({marks}) '
        'ORDER BY "due_at" LIMIT ?)'
    )
    deleted = 0
    while True:
        changed = await sql.execute(delete, [before, *DONE_TIMERS, batch])
        deleted += changed
        if changed < batch:
            return deleted
        await asyncio.sleep(0)
