"""Indexes PostgreSQL needs that tortoise's models cannot declare (a collation, a ``WHERE``).

Installed by ``storage.db.upgrade`` after the migrations, under the same lock. An index is created only where it
is missing, so a process starting beside running ones takes no lock on their tables. SQLite needs none of
these: its text order is already byte order, and its queries use the models' own indexes.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

INDEXES = {
    # ``storage.event_rows.cancel_timers``: a key prefix is a range in byte order ("C") among the pending
    # timers; the database's own collation orders text by language, where a prefix is no range
    "timer_pending_key_bytes": 'CREATE INDEX IF NOT EXISTS "timer_pending_key_bytes" ON "timer" ("key" COLLATE "C") '
    "WHERE \"status\" = 'pending'",
}


async def install(connection: BaseDBAsyncClient) -> None:
    """Create the indexes that are missing (idempotent: every process runs it at start)."""
    rows = await connection.execute_query_dict("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    existing = {str(row["indexname"]) for row in rows}
    for name, statement in INDEXES.items():
        if name not in existing:
            await connection.execute_script(statement)
