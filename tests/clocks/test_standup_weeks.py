"""Issue 7 "Show": stand-ups for a Shanghai and a Los Angeles group over two simulated weeks.

23 Feb – 10 Mar 2026 holds the end of China's Spring Festival break (Mon 23 Feb is a day off, Sat 28 Feb
an adjusted working day, per the installed chinese-calendar) and the US switch to daylight saving time
(Sun 8 Mar 2026). The LA team follows the US holiday calendar.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.calendar import WorkCalendar
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

SH, LA = "Asia/Shanghai", "America/Los_Angeles"
FIRST, LAST = date(2026, 2, 23), date(2026, 3, 10)


def days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


async def prompts_by_day(handle: str) -> Counter[date]:
    runs = {r.id: r.day for r in await StandupRun.all()}
    counted: Counter[date] = Counter()
    for message in await bot_messages(f"dm:{handle}", "standup:"):
        run_id = int(message.content["key"].split(":")[1])
        counted[runs[run_id]] += 1
    return counted


async def reminders_by_day(handle: str) -> Counter[date]:
    runs = {r.id: r.day for r in await StandupRun.all()}
    return Counter(runs[int(m.content["key"].split(":")[1])] for m in await bot_messages(f"dm:{handle}", "standup-remind:"))


async def test_two_groups_two_weeks_holiday_adjusted_saturday_and_dst(database_url):
    # the calendar facts this test relies on
    cn, us = WorkCalendar("CN"), WorkCalendar("US")
    assert not cn.is_working_day(date(2026, 2, 23)) and cn.is_working_day(date(2026, 2, 28))
    assert ZoneInfo(LA).utcoffset(datetime(2026, 3, 7)) != ZoneInfo(LA).utcoffset(datetime(2026, 3, 9))

    await reset_database(database_url)
    clock = ManualClock(datetime(2026, 2, 22, 12, 0, tzinfo=UTC))
    config = make_config(
        database_url,
        people=[
            person("li", "Li Lei"),
            person("han", "Han Mei"),
            person("amy", "Amy"),
            person("bob", "Bob"),
            person("lead", "Lead", admin=True),
        ],
        groups=[
            {"platform": "simulator", "id": "sh", "name": "Shanghai", "timezone": SH},
            {"platform": "simulator", "id": "la", "name": "Los Angeles", "timezone": LA},
        ],
    )
    sh_days = [d for d in days(FIRST, LAST) if cn.is_working_day(d)]
    us_days = [d for d in days(FIRST, LAST) if us.is_working_day(d)]
    bob_leave = {date(2026, 3, 4), date(2026, 3, 5)}
    han_answers: set[date] = set()
    blocker_days: set[date] = set()

    async with running(config, clock) as (app, sim):
        r = await sim.say("lead", "站会 设置\n时间: 9:30\n截止: 11:00\n参与人: li, han", "sh")
        assert r["ok"] and not r["error"], r
        r = await sim.say("lead", "standup set time: 09:00 cutoff: 10:30 participants: amy, bob calendar: US", "la")
        assert r["ok"] and not r["error"], r
        r = await sim.say("bob", "standup leave 2026-03-04 to 2026-03-05 family trip", None)
        assert r["ok"] and not r["error"], r

        for index, day in enumerate(days(FIRST, LAST)):
            if day in sh_days:
                await run_until(app, clock, local(day, "09:40", SH))
                prompt = (await bot_messages("dm:li", "standup:"))[-1]
                if index % 2:
                    blocker_days.add(day)
                    r = await sim.submit("li", prompt.id, {"yesterday": "copy draft", "today": "layout", "blockers": f"need assets {day}"})
                else:
                    r = await sim.say("li", f"昨天: 文案初稿\n今天: 排版 {day}\n障碍: 无", None)
                assert r["ok"] and not r["error"], r
                if index % 3 == 0:
                    han_answers.add(day)
                    r = await sim.say("han", "today: review\nblockers: none", None)
                    assert r["ok"] and not r["error"], r
                    # editable until the cut-off
                    r = await sim.say("han", "today: review v2\nblockers: none", None)
                    assert r["ok"] and not r["error"], r
                await run_until(app, clock, local(day, "11:01", SH))
            if day in us_days:
                await run_until(app, clock, local(day, "09:05", LA))
                r = await sim.say("amy", "yesterday: QA\ntoday: release notes\nblockers: none", "la")
                assert r["ok"] and not r["error"], r
                await run_until(app, clock, local(day, "10:31", LA))

        # exactly one prompt per participant per working day; none on holidays; one on the adjusted Saturday
        for handle in ("li", "han"):
            assert await prompts_by_day(handle) == Counter(sh_days), handle
        assert await prompts_by_day("amy") == Counter(us_days)
        assert await prompts_by_day("bob") == Counter(d for d in us_days if d not in bob_leave)
        assert date(2026, 2, 28) in sh_days and date(2026, 2, 23) not in sh_days and date(2026, 2, 28) not in us_days

        # the LA prompts are at 09:00 local on both sides of the DST change
        runs = {r.id: r for r in await StandupRun.all().prefetch_related("standup")}
        for message in await bot_messages("dm:amy", "standup:"):
            sent = message.created_at.astimezone(ZoneInfo(LA))
            assert (sent.hour, sent.minute) == (9, 0), sent
        utc_hours = {m.created_at.astimezone(UTC).hour for m in await bot_messages("dm:amy", "standup:")}
        assert utc_hours == {17, 16}

        # reminders only to those who had not answered
        assert await reminders_by_day("li") == Counter()
        assert await reminders_by_day("amy") == Counter()
        assert await reminders_by_day("han") == Counter(d for d in sh_days if d not in han_answers)
        assert await reminders_by_day("bob") == Counter(d for d in us_days if d not in bob_leave)

        # one digest per group per working day, blockers highlighted with a raise-as-risk button
        for group, expected in (("sh", sh_days), ("la", us_days)):
            digests = await bot_messages(group, "standup-digest:")
            by_day = Counter(runs[int(m.content["key"].split(":")[1])].day for m in digests)
            assert by_day == Counter(expected), group
        for message in await bot_messages("sh", "standup-digest:"):
            day = runs[int(message.content["key"].split(":")[1])].day
            text = text_of(message)
            actions = [b["action"] for b in message.content.get("buttons") or []]
            if day in blocker_days:
                assert f"need assets {day}" in text and "standup.raise_risk" in actions, text
            else:
                assert "Blocker" not in text and not actions, text
            assert ("Missing: Han Mei" in text) == (day not in han_answers), text
            if day in han_answers:
                assert "review v2" in text and "Today: review\n" not in text
        for message in await bot_messages("la", "standup-digest:"):
            day = runs[int(message.content["key"].split(":")[1])].day
            text = text_of(message)
            assert "release notes" in text
            assert ("Bob (on leave)" in text) == (day in bob_leave), text

        # yesterday's "today" prefills the next prompt
        assert date(2026, 2, 26) in han_answers and date(2026, 2, 27) not in han_answers
        friday = next(m for m in await bot_messages("dm:han", "standup:") if "2026-02-27" in text_of(m))
        form = {f["name"]: f.get("initial") for f in friday.content["form"]["fields"]}
        assert form["yesterday"] == "review v2"

        # participation figures
        r = await sim.say("lead", "standup stats 4", "sh")
        stats = text_of((await bot_messages("sh"))[-1])
        assert "Li Lei**: 100%" in stats and f"{len(han_answers)} on time" in stats, stats
