"""A process on PostgreSQL holds as many events at once as its transports hand it, each in its own transaction.

The DingTalk stream handles eight frames at once and the delivery worker sends to sixteen conversations at once;
tortoise's pool of five connections made the rest wait. ``storage.db.PG_POOL_SIZE`` is the default; the URL
can set another (``?maxsize=``).
"""

from __future__ import annotations

import asyncio

import pytest

from storage import db, sql
from tests.conftest import PG_URL


def test_the_pool_size_is_ours_unless_the_url_sets_one():
    ours = db.connection_config("postgres://bot@db.internal:5432/collabbot")
    theirs = db.connection_config("postgres://bot@db.internal:5432/collabbot?maxsize=3")
    assert isinstance(ours, dict) and isinstance(theirs, dict)
    assert ours["credentials"]["maxsize"] == db.PG_POOL_SIZE == 20
    assert int(theirs["credentials"]["maxsize"]) == 3


@pytest.mark.skipif(not PG_URL, reason="a pool of connections is PostgreSQL's; the PostgreSQL pass runs it")
async def test_twelve_events_hold_twelve_transactions_at_once(database):
    everyone_in = asyncio.Event()
    inside: list[int] = []

    async def event() -> None:
        async with db.transaction():
            [row] = await sql.fetch("SELECT pg_backend_pid() AS pid")
            inside.append(row["pid"])
            if len(inside) == 12:
                everyone_in.set()
            await everyone_in.wait()  # with five connections the sixth event would wait here for ever

    await asyncio.wait_for(asyncio.gather(*(event() for _ in range(12))), timeout=120)
    assert len(set(inside)) == 12
