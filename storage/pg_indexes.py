"""What PostgreSQL needs that tortoise's models cannot declare: an index with a collation or a ``WHERE``, and
columns of codes compared in byte order.

Installed by ``storage.db.upgrade`` after the migrations, under the same lock. Each is made only where it is
missing, so a process starting beside running ones takes no lock on their tables. SQLite needs none of these:
its text order is already byte order, and its queries use the models' own indexes.
"""

from __future__ import annotations

from tortoise.backends.base.client import BaseDBAsyncClient

INDEXES = {
    # ``storage.event_rows.cancel_timers``: a key prefix is a range in byte order ("C") among the pending
    # timers; the database's own collation orders text by language, where a prefix is no range
    "timer_pending_key_bytes": 'CREATE INDEX IF NOT EXISTS "timer_pending_key_bytes" ON "timer" ("key" COLLATE "C") '
    "WHERE \"status\" = 'pending'",
}

# Columns of codes whose rows are found by a code's prefix (``storage.subjects.about``): compared as "C", the
# codes of one collaboration are one range of the column's own indexes. In the database's language order a
# hyphen weighs nothing, and ``XZB2026112301-01`` would sort among ``XZB202611230101…``.
BYTE_ORDER_COLUMNS = (("audit_entry", "subject"), ("confirmation", "subject"))


async def install(connection: BaseDBAsyncClient) -> None:
    """Create the indexes that are missing and put the code columns in byte order (idempotent: every process
    runs it at start)."""
    rows = await connection.execute_query_dict("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    existing = {str(row["indexname"]) for row in rows}
    for name, statement in INDEXES.items():
        if name not in existing:
            await connection.execute_script(statement)
    columns = await connection.execute_query_dict(
        "SELECT table_name, column_name, character_maximum_length, collation_name FROM information_schema.columns "
        "WHERE table_schema = current_schema()"
    )
    for column in columns:
        if (column["table_name"], column["column_name"]) in BYTE_ORDER_COLUMNS and column["collation_name"] != "C":
            # rebuilds the column's indexes in that order; the rows themselves are not rewritten
            await connection.execute_script(
                f'ALTER TABLE "{column["table_name"]}" ALTER COLUMN "{column["column_name"]}" '
                f'TYPE VARCHAR({int(column["character_maximum_length"])}) COLLATE "C"'
            )
