"""The timer runner's rules: grace windows per kind, a process killed without a clean stop, a process that
died between claiming a row and firing it, and a recurring series that fell due several times at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.app import App
from bot.clock import ManualClock
from bot.router import Context, Router
from bot.scheduler import CLOCK_LEASE, LEASE, TimerRunner, grace_for, insert_timers
from bot.types import Outcome, Text, TimerSpec, ToPerson
from storage import db
from storage.models import Person, Timer
from tests.clocks.harness import bot_messages, make_config, person, reset_database, text_of

T0 = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)


def test_grace_windows():
    assert grace_for("standup.prompt") == timedelta(hours=2)
    assert grace_for("standup.prompt", {"_grace_s": 600}) == timedelta(minutes=10)
    assert grace_for("sla.request.remind") == timedelta(hours=4)
    assert grace_for("sla.risk.escalate") == timedelta(days=3)
    assert grace_for("something.else") == timedelta(hours=24)


def echo_router() -> Router:
    router = Router()

    @router.timer("t.echo")
    async def echo(ctx: Context) -> Outcome:
        late = ctx.event.payload.get("_late_s")
        return Outcome().send(ToPerson(ctx.event.payload["to"]), Text(f"echo {ctx.event.timer_key} late={late}"))

    return router


async def echoes(handle: str = "ann") -> list[str]:
    return [text_of(m) for m in await bot_messages(f"dm:{handle}") if text_of(m).startswith("echo")]


async def started(config, clock) -> App:
    app = App(config, clock=clock)
    app.engine.router.include(echo_router())
    await app.start(serve_http=False, background=False)
    return app


async def test_killed_process_lease_expires_and_a_new_one_takes_the_clock(database_url):
    await reset_database(database_url)
    clock = ManualClock(T0)
    config = make_config(database_url, people=[person("ann", "Ann")], groups=[])
    first = await started(config, clock)
    ann = await Person.get(handle="ann")
    await insert_timers([TimerSpec("t:1", "t.echo", T0 + timedelta(minutes=1), {"to": ann.id})], T0)
    await first.settle()
    # killed: no clean stop, its clock lease (SQLite) stays until it expires
    await db.close()
    second = await started(config, clock)
    try:
        clock.advance(minutes=1)
        await second.settle()
        if db.is_sqlite(database_url):
            assert await echoes() == []  # the dead process still holds the clock
            clock.advance(CLOCK_LEASE)
            await second.settle()
        assert await echoes() == ["echo t:1 late=None"]
        await second.settle()
        assert len(await echoes()) == 1
    finally:
        await second.stop()


async def test_a_row_claimed_by_a_dead_process_is_fired_once_after_its_lease(database_url):
    await reset_database(database_url)
    clock = ManualClock(T0)
    config = make_config(database_url, people=[person("ann", "Ann")], groups=[])
    app = await started(config, clock)
    try:
        ann = await Person.get(handle="ann")
        await insert_timers([TimerSpec("t:2", "t.echo", T0, {"to": ann.id})], T0)
        ghost = TimerRunner(app.dispatch, clock, owner="ghost", single_owner=False)
        assert [t.key for t in await ghost.claim(T0)] == ["t:2"]  # ... and then the ghost dies
        await app.settle()
        assert await echoes() == []
        clock.advance(LEASE + timedelta(seconds=1))
        await app.settle()
        assert await echoes() == ["echo t:2 late=None"]
        assert (await Timer.get(key="t:2")).status == "fired"
        # the ghost wakes up and fires what it claimed: the inbox drops the second firing
        row = await Timer.get(key="t:2")
        await ghost.fire(row, dict(row.payload), clock.now())
        await app.delivery.flush()
        assert len(await echoes()) == 1
    finally:
        await app.stop()


async def test_a_series_due_several_times_fires_only_the_newest(database_url):
    await reset_database(database_url)
    clock = ManualClock(T0)
    config = make_config(database_url, people=[person("ann", "Ann"), person("boss", "Boss", admin=True)], groups=[])
    app = await started(config, clock)
    try:
        ann = await Person.get(handle="ann")
        await insert_timers(
            [TimerSpec(f"t:s:{n}", "t.echo", T0 + timedelta(hours=n), {"to": ann.id, "_series": "s", "_grace_s": 86400}) for n in range(3)],
            T0,
        )
        clock.set(T0 + timedelta(hours=2, minutes=30))  # all three are due, all within their grace
        await app.settle()
        assert await echoes() == ["echo t:s:2 late=1800"]
        statuses = dict(await Timer.filter(key__startswith="t:s:").values_list("key", "status"))
        assert statuses == {"t:s:0": "missed", "t:s:1": "missed", "t:s:2": "fired"}
        reports = [text_of(m) for m in await bot_messages("dm:boss")]
        assert len(reports) == 1  # reported once, to the admins
        assert "reminder, due 2026-11-23 10:00" in reports[0] and "reminder, due 2026-11-23 11:00" in reports[0]  # a kind in words, never its code
        await app.settle()
        assert len([text_of(m) for m in await bot_messages("dm:boss")]) == 1
    finally:
        await app.stop()
