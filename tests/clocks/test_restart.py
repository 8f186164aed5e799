"""Kill and restart (simulated: stop the App, build a new one on the same database): nothing missed, nothing
sent twice; a prompt due while the bot was down goes out late and labelled; a long outage is reported once."""

from __future__ import annotations

from datetime import UTC, date, datetime

from bot.clock import ManualClock
from storage.models import Timer
from storage.models_clocks import StandupRun
from tests.clocks.harness import (
    bot_messages,
    local,
    make_config,
    person,
    reset_database,
    run_until,
    running,
    text_of,
)

SH = "Asia/Shanghai"
MON, TUE, WED, THU = date(2026, 11, 23), date(2026, 11, 24), date(2026, 11, 25), date(2026, 11, 26)


def config(url):
    return make_config(
        url,
        people=[person("li", "Li Lei"), person("han", "Han Mei"), person("lead", "Lead", admin=True)],
        groups=[{"platform": "simulator", "id": "sh", "name": "Shanghai", "timezone": SH}],
    )


async def setup(database_url, clock):
    await reset_database(database_url)
    async with running(config(database_url), clock) as (_app, sim):
        r = await sim.say("lead", "standup set time: 09:30 cutoff: 11:00 participants: li, han", "sh")
        assert r["ok"] and not r["error"], r


async def count(conversation: str, prefix: str) -> int:
    return len(await bot_messages(conversation, prefix))


async def test_restart_in_the_middle_of_a_day(database_url):
    clock = ManualClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    await setup(database_url, clock)
    async with running(config(database_url), clock) as (app, sim):
        await run_until(app, clock, local(MON, "09:40", SH))
        r = await sim.say("li", "today: copy\nblockers: none", None)
        assert r["ok"], r
        await run_until(app, clock, local(MON, "10:00", SH))
    # "killed" at 10:00; back at 10:05 — a new process on the same database
    clock.set(local(MON, "10:05", SH))
    async with running(config(database_url), clock) as (app, sim):
        await run_until(app, clock, local(MON, "11:01", SH))
        assert await count("dm:li", "standup:") == 1 and await count("dm:han", "standup:") == 1
        assert await count("dm:li", "standup-remind:") == 0 and await count("dm:han", "standup-remind:") == 1
        digests = await bot_messages("sh", "standup-digest:")
        assert len(digests) == 1 and "copy" in text_of(digests[0]) and "Missing: Han Mei" in text_of(digests[0])
    # and once more, across the next prompt, within its grace window: sent once, late and labelled
    clock.set(local(TUE, "09:00", SH))
    async with running(config(database_url), clock) as (app, sim):
        await run_until(app, clock, local(TUE, "09:10", SH))
    clock.set(local(TUE, "10:00", SH))
    async with running(config(database_url), clock) as (app, sim):
        await run_until(app, clock, local(TUE, "11:01", SH))
        prompts = await bot_messages("dm:li", "standup:")
        assert len(prompts) == 2
        assert "Sent late (30 min)" in text_of(prompts[-1])
        assert await count("sh", "standup-digest:") == 2
        assert await Timer.filter(status="missed").count() == 0
        assert not [m for m in await bot_messages("sh") if "Missed while" in text_of(m)]


async def test_long_outage_marks_old_occurrences_missed_and_reports_once(database_url):
    clock = ManualClock(datetime(2026, 11, 22, 12, 0, tzinfo=UTC))
    await setup(database_url, clock)
    async with running(config(database_url), clock) as (app, _sim):
        await run_until(app, clock, local(MON, "11:01", SH))
        await run_until(app, clock, local(TUE, "08:00", SH))
    # down from Tuesday 08:00 to Thursday 10:00
    clock.set(local(THU, "10:00", SH))
    async with running(config(database_url), clock) as (app, _sim):
        await run_until(app, clock, local(THU, "11:01", SH))
        await run_until(app, clock, local(THU, "18:00", SH))
    clock.set(local(THU, "18:30", SH))
    async with running(config(database_url), clock) as (app, _sim):  # a further restart reports nothing again
        await run_until(app, clock, local(THU, "19:00", SH))

        reports = [m for m in await bot_messages("sh") if "Missed while" in text_of(m)]
        assert len(reports) == 1
        report = text_of(reports[0])
        assert "stand-up prompts, due 2026-11-24 09:30" in report and "stand-up digest, due 2026-11-25 11:00" in report
        missed = await Timer.filter(status="missed", key__startswith="standup:").values_list("key", flat=True)
        assert sorted(missed) == sorted(
            f"standup:{gid}:{d}{suffix}"
            for gid in {int(k.split(":")[1]) for k in missed}
            for d in ("2026-11-24", "2026-11-25")
            for suffix in ("", ":remind", ":digest")
        )
        # Tuesday and Wednesday were never prompted; Thursday's prompt went out late, once; Monday's stayed single
        days = sorted(r.day for r in await StandupRun.all())
        assert days == [MON, THU]
        prompts = await bot_messages("dm:li", "standup:")
        assert len(prompts) == 2 and "Sent late (30 min)" in text_of(prompts[-1])
        assert await count("sh", "standup-digest:") == 2
