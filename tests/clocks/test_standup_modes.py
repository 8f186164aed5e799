"""Stand-up in group mode: prompts in the group with mentions, a free-text answer in the group, the skip
button, reminders only to whoever has not answered, a participant in another timezone; and schedule
changes (new time, pause, resume) that never duplicate or lose a prompt."""

from __future__ import annotations

from datetime import date

from bot.clock import ManualClock
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


async def ok(response):
    assert response["ok"] and not response["error"], response
    return response


async def test_group_mode_skip_reminders_and_schedule_changes(database_url):
    await reset_database(database_url)
    config = make_config(
        database_url,
        people=[person("li", "Li Lei"), person("han", "Han Mei"), person("anna", "Anna", timezone="Europe/Berlin"), person("lead", "Lead")],
        groups=[{"platform": "simulator", "id": "g", "name": "Team", "timezone": SH}],
    )
    clock = ManualClock(local(MON, "08:00", SH))
    async with running(config, clock) as (app, sim):
        await ok(await sim.say("lead", "standup set time: 09:30 cutoff: 11:00 participants: li, han, anna mode: group", "g"))
        await run_until(app, clock, local(MON, "09:31", SH))
        prompts = await bot_messages("g", "standup:")
        assert len(prompts) == 3 and sorted(m.content["mentions"][0] for m in prompts) == ["Anna", "Han Mei", "Li Lei"]
        anna_prompt = next(m for m in prompts if m.content["mentions"] == ["Anna"])
        assert "11:00 / 04:00 (+01:00)" in text_of(anna_prompt)  # her own wall time too, no English zone abbreviations
        assert not await bot_messages("dm:li")

        await ok(await sim.say("li", "昨天: 文案\n今天: 排版\n障碍: 等待法务审核", "g"))
        han_prompt = next(m for m in prompts if m.content["mentions"] == ["Han Mei"])
        await ok(await sim.click("han", han_prompt.id, "standup.skip"))
        await run_until(app, clock, local(MON, "11:01", SH))
        reminders = await bot_messages("g", "standup-remind:")
        assert [m.content["mentions"] for m in reminders] == [["Anna"]]
        digest = text_of((await bot_messages("g", "standup-digest:"))[0])
        assert "等待法务审核" in digest and "Han Mei (skipped)" in digest and "Missing: Anna" in digest

        # a new time from tomorrow: one prompt, at the new time
        await ok(await sim.say("lead", "standup set time: 10:00 cutoff: 12:00", "g"))
        await run_until(app, clock, local(TUE, "09:59", SH))
        assert len(await bot_messages("g", "standup:")) == 3
        await run_until(app, clock, local(TUE, "12:01", SH))
        tuesday = (await bot_messages("g", "standup:"))[3:]
        assert len(tuesday) == 3 and {m.created_at for m in tuesday} == {local(TUE, "10:00", SH)}

        # paused on Wednesday, resumed for Thursday
        await ok(await sim.say("lead", "standup off", "g"))
        await run_until(app, clock, local(WED, "18:00", SH))
        await ok(await sim.say("lead", "站会 开启", "g"))
        await run_until(app, clock, local(THU, "12:01", SH))
        days = sorted(r.day for r in await StandupRun.all())
        assert days == [MON, TUE, THU]
        assert len(await bot_messages("g", "standup:")) == 9
        assert len(await bot_messages("g", "standup-digest:")) == 3

        # participation in the group
        await ok(await sim.say("lead", "standup stats", "g"))
        stats = text_of((await bot_messages("g"))[-1])
        assert "Li Lei**: 33%" in stats and "1 away" in stats, stats
