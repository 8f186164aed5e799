"""Recurring local times from APScheduler's CronTrigger, filtered by the working-day calendar: the days
it picks are the working days (调休 weekends included), and each instant is the wall-clock time in the
group's timezone, across DST changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.calendar import WorkCalendar, utc_at
from bot.config import from_dict
from bot.recurrence import cron_weekday, local_days, recurring

CALENDAR = WorkCalendar.from_config(from_dict({}, environ={}))


def by_hand(at: time, tz: str, since: datetime, until: datetime, calendar: WorkCalendar | None) -> list[tuple[date, datetime]]:
    zone = ZoneInfo(tz)
    day, last = since.astimezone(zone).date() - timedelta(days=1), until.astimezone(zone).date() + timedelta(days=1)
    found = []
    while day <= last:
        instant = utc_at(day, at, tz)
        if (calendar is None or calendar.is_working_day(day)) and since <= instant < until:
            found.append((day, instant))
        day += timedelta(days=1)
    return found


def test_golden_week_and_its_working_saturday():
    days = [d.isoformat() for d, _ in recurring(time(9, 0), "Asia/Shanghai", datetime(2026, 9, 28, tzinfo=UTC), datetime(2026, 10, 12, tzinfo=UTC), calendar=CALENDAR)]
    assert days == ["2026-09-28", "2026-09-29", "2026-09-30", "2026-10-08", "2026-10-09", "2026-10-10"]


def test_dst_days_keep_the_wall_clock_time():
    spring = recurring(time(2, 30), "America/New_York", datetime(2026, 3, 7, tzinfo=UTC), datetime(2026, 3, 10, tzinfo=UTC))
    assert [i.astimezone(UTC).hour for _, i in spring] == [7, 7, 6]  # 02:30 EST, 02:30 skipped → 03:30 EDT, 02:30 EDT
    autumn = recurring(time(1, 30), "America/New_York", datetime(2026, 10, 31, tzinfo=UTC), datetime(2026, 11, 3, tzinfo=UTC))
    assert len(autumn) == 3 and len({d for d, _ in autumn}) == 3  # the repeated 01:30 fires once


def test_weekday_field():
    fridays = list(local_days("Asia/Shanghai", date(2026, 11, 1), date(2026, 11, 30), day_of_week=cron_weekday(5)))
    assert fridays == [date(2026, 11, 6), date(2026, 11, 13), date(2026, 11, 20), date(2026, 11, 27)]


@settings(max_examples=60, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 1)),
    span_hours=st.integers(min_value=1, max_value=24 * 20),
    hour=st.integers(min_value=0, max_value=23),
    minute=st.sampled_from([0, 15, 30, 59]),
    tz=st.sampled_from(["Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Sydney", "UTC"]),
    working=st.booleans(),
)
def test_same_as_walking_the_days_by_hand(start, span_hours, hour, minute, tz, working):
    since = start.replace(tzinfo=UTC)
    until = since + timedelta(hours=span_hours)
    calendar = CALENDAR if working else None
    assert recurring(time(hour, minute), tz, since, until, calendar=calendar) == by_hand(time(hour, minute), tz, since, until, calendar)
