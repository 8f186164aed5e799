"""The running process's clock is APScheduler's AsyncIOScheduler: it materializes recurring rows at start,
fires due timer rows without anyone calling settle(), and a wake-up runs a round at once. The timer table
stays the source of truth: a row fires once however many rounds look at it."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.app import App
from bot.config import from_dict
from bot.process_clock import HOUSEKEEPING, MATERIALIZER, TIMERS
from storage.models import Timer
from storage.models_clocks import ClockWatermark
from tests.conftest import PG_URL, _truncate_pg


async def wait_for(condition, within: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_the_scheduler_fires_due_rows_once_and_wakes_on_demand(database_url, clock):
    config = from_dict(
        {"database": {"url": database_url}, "server": {"port": 0}, "simulator": {"enabled": True, "manual_clock": True}},
        environ={},
    )
    app = App(config, clock=clock)
    await app.open_database(run_migrations=False)
    if PG_URL:
        await _truncate_pg()
    now = clock.now()
    await Timer.create(key="ops:first", kind="ops.noop", due_at=now - timedelta(minutes=1), created_at=now)
    from storage import db

    await db.close()
    await app.start(serve_http=False, background=True)
    try:
        scheduler = app.process_clock.scheduler
        assert scheduler.running and {job.id for job in scheduler.get_jobs()} == {TIMERS, MATERIALIZER, HOUSEKEEPING}
        assert app.timers.materialize_in_round is False

        async def first_fired() -> bool:
            return await Timer.filter(key="ops:first", status="fired").exists()

        await wait_for(first_fired)
        assert await ClockWatermark.all().count() >= 1  # the materializer job ran at start

        # a row written later is fired by a wake-up, not after the idle interval
        await Timer.create(key="ops:second", kind="ops.noop", due_at=clock.now(), created_at=clock.now())
        app.process_clock.wake()

        async def second_fired() -> bool:
            return await Timer.filter(key="ops:second", status="fired").exists()

        await wait_for(second_fired)
        rounds = app.process_clock.rounds
        app.process_clock.wake()

        async def another_round() -> bool:
            return app.process_clock.rounds > rounds

        await wait_for(another_round)
        rows = await Timer.filter(key__startswith="ops:").values_list("key", "status", "fired_at")
        assert sorted((key, status) for key, status, _at in rows) == [("ops:first", "fired"), ("ops:second", "fired")]
        # each fired once: one inbox entry per row
        from storage.models import InboxEntry

        assert await InboxEntry.filter(platform="timer", delivery_id__startswith="timer:ops:").count() == 2
    finally:
        await app.stop()
    assert not app.process_clock.scheduler.running
