"""Database connection, migrations and the one-transaction-per-event helper.

SQLite (WAL, ``synchronous=NORMAL``, a busy timeout) is the embedded default;
any tortoise URL works, PostgreSQL (``postgres://…``) is how it scales out.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from tortoise import Tortoise
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.executor import EXECUTOR_CACHE
from tortoise.connection import get_connections
from tortoise.transactions import in_transaction

DEFAULT_URL = "sqlite://collabbot.db"
# journal_size_limit: tortoise's 16 KB trimmed the WAL file each time it started over (once every 500 commits:
# freeing 25 MB took 5–7 ms of CPU in that commit, and every commit after it grew the file again); up to 64 MB of
# it is kept and written again from its start
SQLITE_PRAGMAS = {"journal_mode": "WAL", "synchronous": "NORMAL", "busy_timeout": "10000", "journal_size_limit": str(64 << 20)}


def normalize_url(url: str) -> str:
    """Add the SQLite pragmas collabbot relies on unless the URL sets them itself."""
    if not url.startswith("sqlite://"):
        return url
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    for key, value in SQLITE_PRAGMAS.items():
        query.setdefault(key, value)
    if url.startswith("sqlite://:memory:"):
        query.pop("journal_mode", None)
        return "sqlite://:memory:" + ("?" + urlencode(query) if query else "")
    # tortoise reads sqlite://<path>: keep the path exactly as given
    head = url.split("?", 1)[0]
    return head + "?" + urlencode(query) if query else urlunsplit(parts)


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite://")


def model_modules() -> list[str]:
    """``storage/models.py`` plus one ``storage/models_<area>.py`` per workflow area that keeps tables."""
    folder = Path(__file__).parent
    return ["storage.models", *sorted(f"storage.{p.stem}" for p in folder.glob("models_*.py"))]


async def _keep_session(connection: Any) -> None:
    """What a pooled PostgreSQL connection needs on its way back to the pool beyond asyncpg's own rollback: nothing.

    asyncpg's default reset sends ``pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`` — one more round
    trip for every transaction and every statement outside one. collabbot keeps no session state on a pooled
    connection: advisory locks are transaction-scoped or held on a connection of its own (``upgrade``), nothing
    LISTENs on the pool, nothing SETs a session variable. Keep it that way, or give that work its own connection.
    """


PG_POOL_SIZE = 20
"""PostgreSQL connections a process opens at most, unless the URL says (``?maxsize=``): one per event in hand
(the DingTalk stream handles eight frames at once, Slack's HTTP requests come side by side), per message the
delivery worker is sending (sixteen queues at once), for the timers and the dashboard. tortoise's default of
five made events wait for a connection while the database had CPU to spare."""


def connection_config(url: str) -> str | dict[str, Any]:
    """SQLite through ``storage.sqlite_inline`` (statements on the loop's thread); PostgreSQL through tortoise's
    asyncpg client, without the session reset on each release (``_keep_session``), ``PG_POOL_SIZE`` connections
    at most."""
    from tortoise.backends.base.config_generator import expand_db_url

    url = normalize_url(url)
    expanded = expand_db_url(url)
    if is_sqlite(url):
        expanded["engine"] = "storage.sqlite_inline"
    elif expanded["engine"] == "tortoise.backends.asyncpg":
        expanded["credentials"]["reset"] = _keep_session
        expanded["credentials"].setdefault("maxsize", PG_POOL_SIZE)
    return expanded


def tortoise_config(url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(url)},
        "apps": {
            "models": {
                "models": model_modules(),
                "default_connection": "default",
                "migrations": "storage.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# `tortoise` CLI entry (makemigrations): `tortoise -c storage.db.TORTOISE_ORM makemigrations`
TORTOISE_ORM = tortoise_config(os.environ.get("COLLABBOT_DATABASE_URL", "sqlite://collabbot-dev.db"))


MIGRATION_LOCK = 0x636F6C6C  # the PostgreSQL advisory lock key that serializes migrations ("coll")


async def upgrade(url: str) -> None:
    """Apply every migration not yet applied (``collabbot db upgrade``, and every process at start), then
    (re)install the directory triggers (``storage/directory_triggers.py``) and, on PostgreSQL, the indexes the
    models cannot declare (``storage/pg_indexes.py``).

    On PostgreSQL under an advisory lock held on a connection of its own: processes that start together
    migrate one after the other, and the later ones find nothing left to do. SQLite has one writer anyway.
    """
    from tortoise.migrations.api import migrate

    from storage import directory_triggers, pg_indexes

    if is_sqlite(url):
        await migrate(config=tortoise_config(url))
        await directory_triggers.install(sqlite=True)
        return
    import asyncpg

    lock = await asyncpg.connect(url)
    try:
        await lock.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        await migrate(config=tortoise_config(url))
        await directory_triggers.install(sqlite=False)
        await pg_indexes.install(connection())
    finally:
        await lock.close()  # ends the session, and with it the lock


_opened_dialect: list[str] = []


async def connect(url: str, *, run_migrations: bool = True) -> None:
    """Open the database for this process, migrating it first unless told not to."""
    dialect = "sqlite" if is_sqlite(url) else "postgres"
    if _opened_dialect and _opened_dialect[0] != dialect:
        # tortoise keeps each model's insert and delete statements by connection name, not by dialect: a
        # process that opened the other kind of database before (a test run, a copy between databases)
        # would send one dialect's text to the other
        EXECUTOR_CACHE.clear()
    _opened_dialect[:] = [dialect]
    if run_migrations:
        await upgrade(url)
        await Tortoise.close_connections()
    # global fallback: tasks and threads started before or outside this one (SDK callbacks) see the connection too
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def close() -> None:
    await Tortoise.close_connections()


# the client of the transaction ``transaction()`` opened in this task: found without tortoise's lookup, which
# reads two context variables and checks the event loop (a system call on Python 3.11) — ten times an event
_transaction_client: ContextVar[BaseDBAsyncClient | None] = ContextVar("collabbot_transaction_client", default=None)


def connection() -> BaseDBAsyncClient:
    """The current connection: the transaction's inside ``in_transaction``, else the pool's client.

    Inside ``transaction()`` that transaction's client, also within a savepoint opened inside it (the
    savepoint runs on the same database connection, so a statement sent through either is inside it)."""
    bound = _transaction_client.get()
    return bound if bound is not None else get_connections().get("default")


@asynccontextmanager
async def transaction() -> AsyncIterator[BaseDBAsyncClient]:
    """One transaction. Callers start it with a write (write-first) so SQLite never has to upgrade a read lock."""
    async with in_transaction("default") as conn:
        token = _transaction_client.set(conn)
        try:
            yield conn
        finally:
            _transaction_client.reset(token)


async def id_list(query: Any, field: str = "id") -> list[int]:
    """``query.values_list(field, flat=True)`` as the list of ints it is (tortoise types it as tuples)."""
    return [int(value) for value in await query.values_list(field, flat=True)]
