"""Concurrent 新建协作 never lose a request: one atomic sequence upsert, no retry inside an aborted transaction.

On PostgreSQL three real OS processes share the database (the issue's measurement: three of four
concurrent creations failed with InFailedSQLTransactionError). On SQLite, which one process owns,
the same fifty creations run as concurrent tasks of one process.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tortoise import Tortoise

from bot.clock import ManualClock
from bot.config import from_dict
from bot.engine import Engine
from storage import db
from storage.models import Collaboration, Person, Sequence
from storage.unique import next_sequence_value
from tests.conftest import PG_URL
from tests.core.creation_worker import NOW, create_at_once, creation
from tests.core.harness import demo_config
from workflows.directory.sync import sync_directory
from workflows.registry import build_router

ROOT = Path(__file__).resolve().parents[2]
TOTAL = 50
WORKERS = 3


async def _prepare(url: str) -> None:
    await db.connect(url, run_migrations=False)
    await sync_directory(from_dict(demo_config(url), environ={}), NOW)
    await db.close()


async def _readline(process: asyncio.subprocess.Process, seconds: float = 120) -> str:
    assert process.stdout is not None
    return (await asyncio.wait_for(process.stdout.readline(), seconds)).decode().strip()


async def _three_processes(url: str) -> list[dict[str, object]]:
    shares = [TOTAL // WORKERS + (1 if n < TOTAL % WORKERS else 0) for n in range(WORKERS)]
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.core.creation_worker", url, f"p{n}", str(share),
            cwd=ROOT, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )
        for n, share in enumerate(shares)
    ]
    try:
        for process in processes:
            assert await _readline(process) == "ready"
        for process in processes:  # all at once
            assert process.stdin is not None
            process.stdin.write(b"go\n")
            await process.stdin.drain()
        reports = [json.loads(await _readline(process)) for process in processes]
        for process in processes:
            assert await asyncio.wait_for(process.wait(), 60) == 0
        return reports
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
                await process.wait()


async def test_fifty_concurrent_creations_give_fifty_distinct_ids(database_url):
    await Tortoise.close_connections()
    await _prepare(database_url)
    if PG_URL:
        reports = await _three_processes(database_url)
    else:
        await db.connect(database_url, run_migrations=False)
        engine = Engine(build_router(), from_dict(demo_config(database_url), environ={}), ManualClock(NOW))
        try:
            reports = [await create_at_once(engine, "t", TOTAL)]
        finally:
            await db.close()
    assert [r["failed"] for r in reports] == [[]] * len(reports)
    assert [r["refused"] for r in reports] == [[]] * len(reports)
    assert sum(int(str(r["created"])) for r in reports) == TOTAL

    await db.connect(database_url, run_migrations=False)
    try:
        codes = await Collaboration.all().values_list("code", flat=True)
        assert len(codes) == TOTAL and len(set(codes)) == TOTAL
        assert sorted(codes) == [f"XZB20261123{n:02d}" for n in range(1, TOTAL + 1)]
        assert (await Sequence.get(name="collab:XZB20261123")).value == TOTAL
    finally:
        await db.close()


async def test_a_sequence_starts_at_one_and_counts_up(database):
    assert [await next_sequence_value("test:a") for _ in range(3)] == [1, 2, 3]
    assert await next_sequence_value("test:b") == 1


async def test_two_first_events_of_one_new_person_both_succeed(database, clock):
    """Registration on first contact races on the person's unique handle: both events are handled."""
    config = from_dict(demo_config(database), environ={})
    await sync_directory(config, clock.now())
    engine = Engine(build_router(), config, clock)
    events = []
    for n in range(4):
        event = creation("newcomer", n)
        events.append(type(event)(**{**{f: getattr(event, f) for f in event.__slots__}, "actor_id": "stranger-1", "text": "帮助"}))
    results = await asyncio.gather(*(engine.dispatch(e) for e in events))
    assert [r.incident for r in results] == [None] * 4
    assert await Person.filter(handle="simulator:stranger-1").count() == 1


async def test_a_raced_unique_row_leaves_both_transactions_usable(database, clock):
    """Two transactions create the same unique row at once: one creates it, the other gets it and goes on
    writing in the same transaction (on PostgreSQL the failed insert rolls back only its savepoint)."""
    from tortoise.transactions import in_transaction

    from storage.unique import create_or_get

    async def register(n: int) -> bool:
        async with in_transaction("default"):
            _person, created = await create_or_get(Person, {"handle": "simulator:twin"}, {"name": "Twin", "created_at": clock.now()})
            await Person.create(handle=f"after-{n}", name="after", created_at=clock.now())  # still usable
            return created

    created = await asyncio.gather(*(register(n) for n in range(4)))
    assert sorted(created) == [False, False, False, True]
    assert await Person.filter(handle="simulator:twin").count() == 1
    assert await Person.filter(handle__startswith="after-").count() == 4
