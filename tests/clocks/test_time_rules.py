"""One rule for time (README, "Language and time"): ids, "today", ``下周五`` / ``next Friday`` and archive dates
follow the organisation's timezone; hour clocks count working hours; derived day deadlines land on working
days. Working-hours arithmetic is checked by properties (Hypothesis) and by the examples of the issue."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.calendar import WorkCalendar, utc_at
from bot.config import from_dict
from bot.dates import parse_date
from storage.models import Collaboration, Timer
from storage.models_workflows import PlannedSubtask
from tests.core.harness import running
from tests.simclient import body_text
from tests.workflows.helpers import active_collaboration, add_subtask, bot_messages, ok
from workflows.retro.archive import finished_on
from workflows.retro.planned import _deadline

SH = "Asia/Shanghai"
CN = WorkCalendar("CN")
PLAIN = WorkCalendar("CN", hour_clocks="calendar")


def sh(day: date, hhmm: str) -> datetime:
    hour, minute = map(int, hhmm.split(":"))
    return utc_at(day, time(hour, minute), SH)


# ---------------------------------------------------------------- working hours: examples


def test_a_four_hour_clock_raised_at_half_past_five_runs_into_the_next_working_day():
    assert CN.add_working_hours(sh(date(2026, 12, 1), "17:30"), 4, SH) == sh(date(2026, 12, 2), "12:30")  # Tue → Wed
    assert CN.add_working_hours(sh(date(2026, 11, 27), "17:30"), 4, SH) == sh(date(2026, 11, 30), "12:30")  # Fri → Mon
    assert CN.add_working_hours(sh(date(2026, 9, 30), "17:30"), 4, SH) == sh(date(2026, 10, 8), "12:30")  # National Day week
    assert CN.add_working_hours(sh(date(2026, 12, 5), "10:00"), 4, SH) == sh(date(2026, 12, 7), "13:00")  # raised on a Saturday
    assert CN.add_working_hours(sh(date(2026, 12, 1), "08:00"), 9, SH) == sh(date(2026, 12, 1), "18:00")  # ends at the close
    assert PLAIN.hours_later(sh(date(2026, 12, 1), "17:30"), 4, SH) == sh(date(2026, 12, 1), "21:30")  # hour_clocks = "calendar"
    assert CN.hours_later(sh(date(2026, 12, 1), "17:30"), 4, SH) == sh(date(2026, 12, 2), "12:30")


def test_whole_day_clocks_run_working_days_from_when_work_resumes():
    assert CN.hours_later(sh(date(2026, 11, 27), "14:00"), 24, SH) == sh(date(2026, 11, 30), "14:00")  # Fri → Mon
    assert CN.hours_later(sh(date(2026, 11, 27), "20:00"), 24, SH) == sh(date(2026, 12, 1), "09:00")  # after hours: from Mon 09:00
    assert CN.hours_later(sh(date(2026, 12, 1), "10:00"), 48, SH) == sh(date(2026, 12, 3), "10:00")


def test_working_hours_and_hour_clocks_are_configurable():
    config = from_dict({"clocks": {"working_hours": "10:00-19:00", "hour_clocks": "calendar"}}, environ={})
    calendar = WorkCalendar.from_config(config)
    assert calendar.working_hours == (time(10), time(19)) and calendar.hour_clocks == "calendar"
    assert calendar.add_working_hours(sh(date(2026, 12, 1), "18:30"), 1, SH) == sh(date(2026, 12, 2), "10:30")
    for bad in ("18:00-09:00", "9-18", "09:00"):
        try:
            from_dict({"clocks": {"working_hours": bad}}, environ={})
        except Exception:
            continue
        raise AssertionError(f"{bad} accepted")


def test_a_derived_reminder_moves_off_the_weekend():
    assert CN.on_working_day(sh(date(2026, 12, 6), "10:00"), SH) == sh(date(2026, 12, 4), "10:00")  # Sun → Fri
    assert CN.on_working_day(sh(date(2026, 12, 6), "10:00"), SH, forward=True) == sh(date(2026, 12, 7), "10:00")
    assert CN.on_working_day(sh(date(2026, 12, 3), "10:00"), SH) == sh(date(2026, 12, 3), "10:00")


# ---------------------------------------------------------------- working hours: properties

instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 20)).map(lambda d: d.replace(tzinfo=UTC))
quarter_hours = st.integers(min_value=1, max_value=200).map(lambda n: n / 4)
zones = st.sampled_from([SH, "Europe/Berlin", "America/Los_Angeles"])


@settings(max_examples=150, deadline=None)
@given(start=instants, hours=quarter_hours, tz=zones)
def test_adding_working_hours_counts_exactly_those_hours_and_ends_inside_them(start, hours, tz):
    end = CN.add_working_hours(start, hours, tz)
    assert end > start
    assert abs(CN.working_hours_between(start, end, tz) - hours) < 1e-6
    closing = utc_at(end.astimezone(ZoneInfo(tz)).date(), time(18), tz)
    assert CN.is_working_time(end, tz) or end == closing


@settings(max_examples=150, deadline=None)
@given(start=instants, a=quarter_hours, b=quarter_hours, tz=zones)
def test_working_hours_add_up_and_never_go_back(start, a, b, tz):
    assert CN.add_working_hours(CN.add_working_hours(start, a, tz), b, tz) == CN.add_working_hours(start, a + b, tz)
    assert CN.add_working_hours(start, min(a, b), tz) <= CN.add_working_hours(start, max(a, b), tz)


@settings(max_examples=150, deadline=None)
@given(start=instants, hours=quarter_hours, tz=zones)
def test_going_back_the_same_working_hours_returns_to_when_work_resumed(start, hours, tz):
    forward = CN.add_working_hours(start, hours, tz)
    assert CN.add_working_hours(forward, -hours, tz) == CN.next_working_time(start, tz)


# ---------------------------------------------------------------- dates in both languages


@given(today=st.dates(min_value=date(2026, 1, 1), max_value=date(2027, 12, 31)), weekday=st.integers(0, 6))
def test_next_friday_and_xia_zhou_wu_are_the_same_day(today, weekday):
    cn = "一二三四五六日"[weekday]
    en = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")[weekday]
    assert parse_date(f"下周{cn}", today) == parse_date(f"next {en}", today)
    assert parse_date(f"本周{cn}", today) == parse_date(f"this {en}", today)
    assert parse_date(f"周{cn}", today) == parse_date(en, today)
    next_week = parse_date(f"下周{cn}", today)
    assert next_week.weekday() == weekday and next_week.isocalendar().week != today.isocalendar().week


def test_a_range_reads_a_year_less_day_as_the_nearest_one_a_deadline_as_the_next():
    today = date(2026, 10, 9)
    assert parse_date("9月30日", today) == date(2027, 9, 30)  # a deadline lies ahead
    assert parse_date("9月30日", today, nearest=True) == date(2026, 9, 30)
    assert parse_date("9/30", today, nearest=True) == parse_date("Sep 30", today, nearest=True) == date(2026, 9, 30)
    assert parse_date("12月31日", today, nearest=True) == date(2026, 12, 31)  # ahead, and nearer than last year's
    assert parse_date("10月1日", date(2027, 1, 5), nearest=True) == date(2026, 10, 1)  # last quarter, in January
    assert parse_date("2027年9月30日", today, nearest=True) == date(2027, 9, 30)  # a year written is kept
    assert parse_date("下周五", today, nearest=True) == parse_date("下周五", today)
    assert parse_date("3月15日", date(2027, 9, 1), nearest=True) == date(2027, 3, 15)  # 170 days back, 196 ahead


# ---------------------------------------------------------------- derived deadlines land on working days


def test_an_sop_step_lands_on_a_working_day():
    collab = Collaboration(deadline=date(2026, 12, 20))  # a Sunday
    step = PlannedSubtask(deadline=None, days_before_deadline=3)
    assert _deadline(step, collab, date(2026, 12, 1), CN) == date(2026, 12, 15)  # 3 working days before Fri 18 Dec
    assert CN.is_working_day(_deadline(PlannedSubtask(deadline=None, days_before_deadline=0), collab, date(2026, 12, 1), CN))
    assert _deadline(PlannedSubtask(deadline=date(2026, 12, 13), days_before_deadline=None), collab, date(2026, 12, 1), CN) == date(2026, 12, 13)


def test_archive_dates_are_the_organisations_dates():
    done = Collaboration(completed_at=datetime(2026, 11, 30, 17, 0, tzinfo=UTC), deadline=date(2026, 12, 20))  # 01:00 in Shanghai
    assert finished_on(done, SH) == date(2026, 12, 1)


# ---------------------------------------------------------------- through the simulator


async def test_ids_follow_the_organisations_date_wherever_the_writer_is(database_url, clock):
    clock.set(datetime(2026, 11, 30, 17, 30, tzinfo=UTC))  # Tue 1 Dec 01:30 in Shanghai, Mon 30 Nov 18:30 in Berlin
    async with running(database_url, clock) as (_app, sim):
        await ok(await sim.say("lilei", "新建协作\n标题：海报\n目标：海报\n协作部门：设计部\n截止：2026-12-20\n交付物：海报", "launch"))
        clock.advance(minutes=30)
        await ok(await sim.say("anna", "new\ntitle: Site\ngoal: a site\ndepartments: design\ndeadline: 2026-12-20\ndeliverables: site"))
        codes = [c.code for c in await Collaboration.all().order_by("created_at")]
        assert codes == ["XZB2026120101", "XZB2026120102"] and codes == sorted(codes)
        site = await Collaboration.get(title="Site")
        assert site.raised_on == date(2026, 12, 1)


async def test_a_risk_raised_at_half_past_five_escalates_the_next_working_day(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        task = await add_subtask(sim, code, "海报", "hanmei", "300DPI", "2026-12-10")
        clock.set(sh(date(2026, 11, 24), "17:30"))
        await ok(await sim.say("hanmei", f"风险 {task} 描述：素材晚到 等级：中 影响：海报 建议：催素材", "launch"))
        escalate = await Timer.get(key__startswith="risk:", key__endswith=":escalate")
        remind = await Timer.get(key__startswith="risk:", key__endswith=":remind")
        assert escalate.due_at == sh(date(2026, 11, 25), "12:30")
        assert remind.due_at == sh(date(2026, 11, 25), "11:30")


async def test_the_day_before_reminder_of_a_monday_meeting_goes_on_friday(database_url, clock):
    async with running(database_url, clock) as (_app, sim):
        code = await active_collaboration(sim)
        clock.set(sh(date(2026, 12, 1), "10:00"))
        await ok(await sim.say("liuyang", f"会议 {code} 主题：启动会 时间：2026-12-07 10:00 形式：线上 参会人员：刘洋，李雷", "launch"))
        remind = await Timer.get(key__endswith=":remind-day")
        assert remind.due_at == sh(date(2026, 12, 4), "10:00")
        assert CN.is_working_day(remind.due_at.astimezone(ZoneInfo(SH)).date())
        notice = [m for m in await bot_messages(sim, conversation="launch") if re.search(r"启动会", body_text(m))]
        assert notice
