"""Deadline colours and the alert ladder, the working-day-before question, and the weekly report, through
the real request/subtask commands and the simulator."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, date

from bot.calendar import WorkCalendar
from bot.cli import DEMO_CONFIG
from bot.clock import ManualClock
from bot.config import from_dict
from storage.models import Subtask
from storage.models_workflows import DelayNotice, RiskReport
from tests.clocks.harness import bot_messages, local, reset_database, run_until, running, text_of
from workflows.alerts.deadlines import deadline_colour
from workflows.reports.handlers import report_day

SH = "Asia/Shanghai"
CN = WorkCalendar("CN")


def demo(url: str):
    with DEMO_CONFIG.open("rb") as handle:
        data = tomllib.load(handle)
    data["bot"]["locale"] = "en"
    data["database"] = {"url": url}
    data["server"] = {"host": "127.0.0.1", "port": 0}
    data["simulator"] = {"enabled": True, "manual_clock": True}
    return from_dict(data, environ={})


async def ok(response: dict) -> dict:
    assert response["ok"] and not response["error"], response
    return response


async def collaboration(sim) -> str:
    """An active collaboration shown in "global" with two subtasks: -01 (Han Mei, due Thu 26 Nov) and
    -02 (Anna, due Fri 4 Dec)."""
    await ok(await sim.say("lilei", "new\ntitle: Poster\ngoal: a poster\ndepartments: design\ndeadline: 2026-12-31\ndeliverables: poster", "global"))
    code = re.search(r"XZB\d+", text_of((await bot_messages("global"))[0])).group()
    await ok(await sim.say("liuyang", f"accept {code}"))
    await ok(await sim.say("lilei", f"task {code}\ntitle: Poster draft\nowner: hanmei\nstandard: approved draft\ndeadline: 2026-11-26", "global"))
    await ok(await sim.say("lilei", f"task {code}\ntitle: Copy\nowner: anna\nstandard: final copy\ndeadline: 2026-12-04", "global"))
    return code


def titled(messages, prefix: str) -> list:
    return [m for m in messages if str(m.content.get("title") or "").startswith(prefix)]


def test_colours_count_working_days():
    task = Subtask(stage="in_progress", deadline=date(2026, 10, 9), progress=10)
    assert deadline_colour(task, date(2026, 9, 30), CN, 2) == "yellow"  # the holiday week does not count
    assert deadline_colour(task, date(2026, 9, 29), CN, 1) == "green"
    assert deadline_colour(task, date(2026, 10, 10), CN, 2) == "red"
    task.stage = "done"
    assert deadline_colour(task, date(2026, 10, 10), CN, 2) == "grey"


def test_report_day_moves_before_a_holiday():
    assert report_day(date(2026, 11, 23), 5, CN) == date(2026, 11, 27)
    assert report_day(date(2026, 9, 28), 5, CN) == date(2026, 9, 30)  # Fri 2 Oct is National Day
    assert report_day(date(2026, 2, 16), 5, CN) is None  # the whole Spring Festival week is off


async def test_deadline_ladder_rate_limit_and_delay_question(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 23), "09:30", SH))
    async with running(demo(database_url), clock) as (app, sim):
        code = await collaboration(sim)
        sub1 = f"{code}-01"
        await run_until(app, clock, local(date(2026, 12, 2), "10:00", SH))

        han = await bot_messages("dm:hanmei")
        assert [m.created_at.astimezone(UTC).date() for m in titled(han, f"Due soon: {sub1}")] == [date(2026, 11, 24), date(2026, 11, 26)]
        assert [m.created_at.astimezone(UTC).date() for m in titled(han, f"Overdue: {sub1}")] == [date(2026, 11, 27), date(2026, 12, 1)]
        ask = titled(han, f"{sub1} is due tomorrow")
        assert len(ask) == 1 and ask[0].created_at.astimezone(UTC).date() == date(2026, 11, 25)
        group = titled(await bot_messages("global"), f"Overdue: {sub1}")
        assert [m.created_at.astimezone(UTC).date() for m in group] == [date(2026, 11, 30), date(2026, 12, 2)]
        for boss in ("lilei", "liuyang"):  # the initiator and the owner's head
            assert [m.created_at.astimezone(UTC).date() for m in titled(await bot_messages(f"dm:{boss}"), "Overdue")] == [date(2026, 12, 1)]
        assert len(titled(await bot_messages("dm:anna"), f"Due soon: {code}-02")) == 1
        assert not titled(await bot_messages("dm:zhaomin"), "Overdue")

        # "will be late": a delay notice with the reason and the new date, for the initiator to confirm
        await ok(await sim.submit("hanmei", ask[0].id, {"reason": "printer broke", "new_date": "2026-12-08"}, action="deadline.will_be_late"))
        notice = await DelayNotice.get(subtask__code=sub1)
        assert (notice.reason, notice.new_deadline, notice.state) == ("printer broke", date(2026, 12, 8), "pending")
        assert any("printer broke" in text_of(m) for m in await bot_messages("dm:lilei"))
        assert any("printer broke" in text_of(m) for m in await bot_messages("global"))
        assert "2026-12-08" in text_of(next(m for m in await bot_messages("dm:hanmei") if m.id == ask[0].id))


async def test_weekly_report(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 23), "09:30", SH))
    async with running(demo(database_url), clock) as (app, sim):
        code = await collaboration(sim)
        await run_until(app, clock, local(date(2026, 11, 27), "17:05", SH))
        asks = {who: titled(await bot_messages(f"dm:{who}"), f"Weekly report {code}") for who in ("hanmei", "anna", "lilei")}
        assert len(asks["hanmei"]) == 1 and len(asks["anna"]) == 1 and not asks["lilei"]
        await ok(await sim.submit("hanmei", asks["hanmei"][0].id, {"completion": "60", "risks": "printer slow", "support": "more budget"}))
        await run_until(app, clock, local(date(2026, 11, 27), "18:01", SH))
        reports = titled(await bot_messages("global"), "Weekly progress report")
        assert len(reports) == 1
        text = text_of(reports[0])
        assert "60% · risks: printer slow · support: more budget" in text
        assert "Anna Schmidt: no answer" in text
        assert f"{code}-01 Poster draft" in text.split("**Overdue**")[1].split("**Due next week**")[0]
        assert f"{code}-02 Copy" in text.split("**Due next week**")[1]
        # a late answer updates the posted report, no second report
        await ok(await sim.say("anna", f"weekly {code} completion: 30% risks: none support: none"))
        await run_until(app, clock, local(date(2026, 11, 30), "18:00", SH))
        reports = titled(await bot_messages("global"), "Weekly progress report")
        assert len(reports) == 1 and "Anna Schmidt: 30%" in text_of(reports[0])


async def test_a_standup_blocker_is_raised_as_a_risk_in_one_click(database_url):
    await reset_database(database_url)
    clock = ManualClock(local(date(2026, 11, 23), "08:00", SH))
    async with running(demo(database_url), clock) as (app, sim):
        code = await collaboration(sim)
        await ok(await sim.say("lilei", "standup set time: 09:30 cutoff: 11:00", "global"))  # participants: the owners
        await run_until(app, clock, local(date(2026, 11, 23), "09:31", SH))
        assert len(await bot_messages("dm:hanmei", "standup:")) == 1 and len(await bot_messages("dm:anna", "standup:")) == 1
        await ok(await sim.say("hanmei", "today: poster\nblockers: 需协调法务10点前反馈"))
        await run_until(app, clock, local(date(2026, 11, 23), "11:01", SH))
        digest = (await bot_messages("global", "standup-digest:"))[0]
        await ok(await sim.click("lilei", digest.id, "standup.raise_risk"))
        risk = await RiskReport.get(collaboration__code=code)
        assert risk.description == "需协调法务10点前反馈" and risk.source.startswith("standup:")
        assert (await risk.subtask).code == f"{code}-01"
