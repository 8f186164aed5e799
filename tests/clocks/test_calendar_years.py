"""Next year's calendar: the installed chinese-calendar has no 2027, and the fallback has no 调休. An admin
loads the official days off and working weekends (a command, stored, audited; or ``[[calendar_years]]``),
and from December 1 the admins are warned once — across restarts — while next year is missing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import pytest

from bot.calendar import OFFICIAL_YEARS, WorkCalendar, _chinese_calendar_year, has_official_schedule
from bot.clock import ManualClock
from bot.config import from_dict
from storage.models import AuditEntry, Timer
from storage.models_calendar import CalendarYear
from tests.clocks.harness import bot_messages, local, reset_database, running, text_of
from tests.clocks.test_alerts_reports import demo

SH = "Asia/Shanghai"
# The 2027 schedule as an admin would type it from the State Council's notice (Spring Festival, National Day).
LOAD_2027 = "管理 日历 2027 休：1月1日、2月6日至2月12日、10月1日至10月7日 班：2月14日、2月20日、9月26日、10月9日"


@pytest.fixture(autouse=True)
def no_loaded_years() -> Iterator[None]:
    OFFICIAL_YEARS.clear()
    yield
    OFFICIAL_YEARS.clear()


def test_the_package_lacks_2027_and_the_fallback_has_no_adjusted_weekends():
    assert _chinese_calendar_year(2027) is None
    assert not has_official_schedule("CN", 2027)
    assert not WorkCalendar("CN").is_working_day(date(2027, 2, 14))  # a Sunday the State Council makes a working day


def test_a_config_section_loads_a_year():
    config = from_dict(
        {"calendar_years": [{"year": 2027, "days_off": ["2027-02-08", "2027-02-09"], "working_days": ["2027-02-14"]}]}, environ={}
    )
    calendar = WorkCalendar.from_config(config)
    assert has_official_schedule("CN", 2027)
    assert calendar.is_working_day(date(2027, 2, 14))
    assert not calendar.is_working_day(date(2027, 2, 8))
    assert calendar.add_working_days(date(2027, 2, 5), 1) == date(2027, 2, 10)
    with pytest.raises(Exception, match="not in 2027"):
        from_dict({"calendar_years": [{"year": 2027, "days_off": ["2026-12-31"]}]}, environ={})


async def test_an_admin_loads_2027_and_deadlines_use_it(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 23), "10:00", SH))
    async with running(demo(database_url), clock) as (app, sim):
        refused = await sim.say("lilei", LOAD_2027, "global")
        assert refused["error"] and "admin" in refused["error"].lower(), refused
        assert not await CalendarYear.exists()

        bad = await sim.say("zhaomin", "管理 日历 2027 休：2月30日", "global")
        assert bad["error"], bad
        bad = await sim.say("zhaomin", "管理 日历 2027 休：1月1日 班：2月15日", "global")  # a Monday
        assert bad["error"] and "2027-02-15" in bad["error"], bad

        done = await sim.say("zhaomin", LOAD_2027, "global")
        assert done["ok"] and not done["error"], done
        reply = text_of((await bot_messages("global"))[-1])
        assert "2027" in reply and "15 days off" in reply and "4 working" in reply, reply  # 15 days off, 4 working weekend days

        row = await CalendarYear.get(country="CN", year=2027)
        assert "2027-02-10" in row.days_off and row.working_days == ["2027-02-14", "2027-02-20", "2027-09-26", "2027-10-09"]
        entry = await AuditEntry.get(action="calendar.year_loaded")
        assert entry.subject == "CN:2027" and len(entry.detail["days_off"]) == 15

        calendar: WorkCalendar = app.engine.services["calendar"]
        assert calendar.is_working_day(date(2027, 2, 14)) and calendar.is_working_day(date(2027, 10, 9))
        assert not calendar.is_working_day(date(2027, 2, 8)) and not calendar.is_working_day(date(2027, 10, 4))
        assert calendar.add_working_days(date(2027, 2, 5), 1) == date(2027, 2, 14)  # Sunday 14 Feb is worked

        # another process (or a restart) reads the stored year back
        OFFICIAL_YEARS.clear()
        assert not calendar.is_working_day(date(2027, 2, 14))
        from bot.calendar_years import load_calendar_years

        assert await load_calendar_years() == 1
        assert calendar.is_working_day(date(2027, 2, 14))


async def test_the_admins_are_warned_once_from_december_while_next_year_is_missing(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 30), "10:00", SH))
    config = demo(database_url)
    async with running(config, clock) as (app, sim):
        await app.settle()
        assert not await Timer.filter(kind="calendar.missing").exists()  # November: not yet
        await sim.advance(days=1)  # 1 December
        warnings = [m for m in await bot_messages("dm:zhaomin") if "2027" in str(m.content.get("title"))]
        assert len(warnings) == 1, [text_of(m) for m in await bot_messages("dm:zhaomin")]
        assert re.search(r"admin calendar 2027|管理 日历 2027", text_of(warnings[0]))
        assert not [m for m in await bot_messages("dm:lilei") if "2027" in str(m.content.get("title"))]
        await sim.advance(days=1)
    # a restart does not warn again
    async with running(config, clock) as (app, sim):
        await sim.advance(hours=2)
        warnings = [m for m in await bot_messages("dm:zhaomin") if "2027" in str(m.content.get("title"))]
        assert len(warnings) == 1
        assert await AuditEntry.filter(action="calendar.missing").count() == 1
        # once loaded, next December's check finds it
        assert (await sim.say("zhaomin", LOAD_2027.replace("管理 日历", "admin calendar"), "global"))["ok"]
        assert has_official_schedule("CN", 2027)
